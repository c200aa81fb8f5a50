"""The periodic sweeps: each deletes exactly what has outlived its setting, nothing alive or
merely recent, in batches no larger than asked; the task and the CLI run them all."""

from __future__ import annotations

import json
import secrets
from datetime import date, timedelta

import pytest
from sqlalchemy import event, func, select

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.jobs import tasks
from gateway.models import Account, Event, LoginSession, RefreshToken, SessionClient
from gateway.models.outbox import OutboxMessage
from gateway.models.store_entry import StoreEntry
from gateway.services import sweeps


@pytest.fixture
def app(make_app, clock):
    app = make_app(clock=clock, SWEEP_EXPIRED_AFTER_DAYS=7, OUTBOX_RETENTION_DAYS=30,
                   EVENTS_RETENTION_DAYS=730)
    with app.app_context():
        yield app
        db.session.remove()


def _account() -> Account:
    account = Account(bhxh=f"{secrets.randbelow(10**10):010d}", full_name="Nguyễn Văn A",
                      dob=date(1990, 1, 1), phone="+84912345678", password_hash="!",
                      password_changed_at=utcnow(), created_at=utcnow())
    db.session.add(account)
    db.session.flush()
    return account


def _session(account, *, expires_days: float) -> str:
    now, sid = utcnow(), secrets.token_hex(8)
    db.session.add(LoginSession(sid=sid, handle_hash=secrets.token_hex(32), account_id=account.id,
                                auth_time=now, amr=["pwd"], acr="1", created_at=now,
                                expires_at=now + timedelta(days=expires_days)))
    db.session.add(SessionClient(sid=sid, client_id="portal"))
    return sid


def _refresh(account, *, expires_days: float, used: bool = False) -> str:
    now, value = utcnow(), secrets.token_hex(16)
    db.session.add(RefreshToken(
        token_hash=value, family_id="fam-" + value[:8], client_id="portal",
        account_id=account.id, sid=None, scope="openid", resource="https://x",
        auth_time=now, acr="1", amr="pwd", issued_at=now,
        expires_at=now + timedelta(days=expires_days), used_at=now if used else None))
    return value


def _outbox(*, delivered_days_ago=None, failed_days_ago=None, created_days_ago=400) -> int:
    now = utcnow()
    row = OutboxMessage(
        message_key=secrets.token_bytes(16), channel="sms", recipient_hint="+84 9** *** *78",
        recipient_sealed=b"x", template="otp", payload_encrypted=b"x", locale="vi",
        created_at=now - timedelta(days=created_days_ago), attempts=1,
        next_attempt_at=None if (delivered_days_ago or failed_days_ago) else now,
        delivered_at=now - timedelta(days=delivered_days_ago) if delivered_days_ago else None,
        failed_at=now - timedelta(days=failed_days_ago) if failed_days_ago else None)
    db.session.add(row)
    db.session.flush()
    return row.id


def _event(days_ago: float) -> None:
    db.session.add(Event(name="login.succeeded", at=utcnow() - timedelta(days=days_ago), data={}))


def _store_entry(key: str, *, expires_in_s: int) -> None:
    db.session.add(StoreEntry(key=key, value="v", counter=0,
                              expires_at=int((utcnow().timestamp() + expires_in_s) * 1000)))


def _left(column) -> set:
    return set(db.session.execute(select(column)).scalars())


def test_each_sweep_deletes_what_has_expired_and_nothing_else(app):
    account = _account()
    old_sid = _session(account, expires_days=-7.5)
    recent_sid = _session(account, expires_days=-6)  # expired, but within the 7 days kept
    live_sid = _session(account, expires_days=30)
    old_rt = _refresh(account, expires_days=-8, used=True)
    recent_rt = _refresh(account, expires_days=-1)
    live_used_rt = _refresh(account, expires_days=20, used=True)  # reuse must still be seen
    delivered_old = _outbox(delivered_days_ago=31)
    failed_old = _outbox(failed_days_ago=40)
    delivered_recent = _outbox(delivered_days_ago=29)
    pending = _outbox()  # created long ago, not delivered: never swept
    for days in (731, 800):
        _event(days)
    _event(729)
    _store_entry("gone", expires_in_s=-1)
    _store_entry("kept", expires_in_s=60)
    db.session.commit()

    counts = tasks.sweep_expired()

    assert counts == {"sessions": 1, "refresh_tokens": 1, "store_entries": 1, "outbox": 2,
                      "events": 2}
    assert _left(LoginSession.sid) == {recent_sid, live_sid}
    assert _left(SessionClient.sid) == {recent_sid, live_sid}  # the links went with it
    assert old_sid not in _left(SessionClient.sid)
    assert _left(RefreshToken.token_hash) == {recent_rt, live_used_rt}
    assert old_rt not in _left(RefreshToken.token_hash)
    assert _left(OutboxMessage.id) == {delivered_recent, pending}
    assert delivered_old not in _left(OutboxMessage.id) and failed_old not in _left(
        OutboxMessage.id)
    assert db.session.scalar(select(func.count()).select_from(Event)) == 1
    assert "kept" in {key.rsplit(":", 1)[-1] for key in _left(StoreEntry.key)}
    assert tasks.sweep_expired() == dict.fromkeys(counts, 0)  # a second run finds nothing


def test_a_sweep_deletes_in_bounded_batches_each_committed(app):
    for _ in range(25):
        _event(1000)
    db.session.commit()
    deleted_per_statement = []

    def after(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith("DELETE FROM EVENTS"):
            deleted_per_statement.append(cursor.rowcount)

    event.listen(db.engine, "after_cursor_execute", after)
    try:
        assert sweeps.sweep_events(batch=10, max_batches=2) == 20  # stops after 2 batches
        assert deleted_per_statement == [10, 10]
        assert db.session.scalar(select(func.count()).select_from(Event)) == 5
        assert sweeps.sweep_events(batch=10) == 5  # the next run goes on; a short batch ends it
        assert deleted_per_statement == [10, 10, 5]
    finally:
        event.remove(db.engine, "after_cursor_execute", after)


def test_events_are_kept_forever_when_the_retention_is_zero(make_app, clock):
    app = make_app(clock=clock, EVENTS_RETENTION_DAYS=0)
    with app.app_context():
        _event(10_000)
        db.session.commit()
        assert sweeps.sweep_events(batch=10) == 0
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1
        db.session.remove()


def test_the_command_runs_every_sweep_and_prints_the_counts(app):
    _event(1000)
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["sweep", "--batch-size", "10"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"sessions": 0, "refresh_tokens": 0,
                                         "store_entries": 0, "outbox": 0, "events": 1}
