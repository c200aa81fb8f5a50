"""The SSF transmitter's rules without HTTP: which gateway events become which CAEP events for
which streams, queued in the transaction of the change; a stream's status at sending time;
one stream per client under a race. (End to end with a receiver: tests/flows/test_ssf.py.)"""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from gateway import create_app
from gateway.clock import utcnow
from gateway.errors import ConflictError, ValidationError
from gateway.extensions import db
from gateway.models import LoginSession, OutboxMessage, SessionClient, SsfStream
from gateway.oidc import ssf
from gateway.services import counter, ssf_streams, ssf_subjects
from gateway.services.clients import create_client
from gateway.services.events import emit
from gateway.services.outbox import deliver_due
from gateway.services.outbox.sealing import open_message
from gateway.services.revocation import revoke_session
from tests.conftest import ClosingClient, _clean, release
from tests.helpers import basic, new_account, new_client, race
from tests.helpers.staff import OPERATOR

ENDPOINT = "http://127.0.0.1:9/events"  # never reached: these tests stop before sending


@pytest.fixture(scope="module")
def built(backend_settings):
    """One app for the module (building one per test cost more than the tests)."""
    app = create_app(backend_settings)
    app.config["TESTING"] = True
    app.test_client_class = ClosingClient
    yield app
    _clean(app)
    release(app)


@pytest.fixture
def app(built):
    _clean(built)
    built.extensions.pop("gateway.keys", None)  # the keys were cleaned too
    with built.app_context():
        yield built
        db.session.remove()


def _stream(client_id: str, events=ssf_streams.EVENTS_SUPPORTED) -> SsfStream:
    return ssf_streams.create_stream(client_id, {
        "delivery": {"method": ssf_streams.PUSH, "endpoint_url": ENDPOINT},
        "events_requested": list(events)})


def _session(account, client_id: str | None) -> str:
    now = utcnow()
    sid = secrets.token_urlsafe(16)
    db.session.add(LoginSession(sid=sid, handle_hash=secrets.token_hex(32), account_id=account.id,
                                kind="browser", auth_time=now, amr=["pwd"], acr="1",
                                created_at=now, expires_at=now + timedelta(hours=1)))
    if client_id:
        db.session.add(SessionClient(sid=sid, client_id=client_id))
    db.session.commit()
    return sid


def _queued() -> list[tuple[str, str, dict]]:
    """(stream id, event type, fields) of every SET in the outbox, in order."""
    db.session.expire_all()
    out = []
    for message in OutboxMessage.query.filter_by(channel=ssf.CHANNEL).order_by(OutboxMessage.id):
        _, payload = open_message(message)
        out.append((payload["stream_id"], payload["event"], payload["fields"]))
    return out


@pytest.fixture
def portal(app):
    """A person who signed in at a portal with a stream: (account, portal stream, sid)."""
    account = new_account()
    client_id, _ = new_client(scopes=["openid", "ssf.manage"])
    stream = _stream(client_id)
    return account, stream, _session(account, client_id)


def _txns() -> list[str]:
    db.session.expire_all()
    return [open_message(m)[1]["txn"] for m in
            OutboxMessage.query.filter_by(channel=ssf.CHANNEL).order_by(OutboxMessage.id)]


def test_passkey_events_are_credential_changes(portal):
    account, stream, _ = portal
    emit("passkey.registered", account_id=account.id, attachment="cross-platform")
    emit("passkey.removed", account_id=account.id)
    db.session.commit()
    emit("passkey.removed", account_id=account.id, commit=True)
    first, second, third = _txns()  # RFC 8417 txn: one per database transaction
    assert first == second != third
    [(sid1, event1, added), (_, event2, removed), _] = _queued()
    assert sid1 == stream.stream_id and event1 == event2 == ssf_streams.CREDENTIAL_CHANGE
    assert (added["credential_type"], added["change_type"]) == ("fido2-roaming", "create")
    assert (removed["credential_type"], removed["change_type"]) == ("fido2-platform", "delete")


def test_a_commit_by_the_emitter_carries_the_sets(portal):
    account, _, _ = portal
    emit("password.reset", account_id=account.id, reason="staff_reset", commit=True)
    db.session.rollback()  # nothing left uncommitted: the SET went with the event
    [(_, event, fields)] = _queued()
    assert (event, fields["initiating_entity"]) == (ssf_streams.CREDENTIAL_CHANGE, "admin")


def test_a_staff_sign_out_is_a_session_revoked_by_an_admin(portal):
    account, stream, _ = portal
    counter.sign_out(account, actor=OPERATOR, reason="lost phone")
    [(stream_id, event, fields)] = _queued()
    assert (stream_id, event) == (stream.stream_id, ssf_streams.SESSION_REVOKED)
    assert fields["initiating_entity"] == "admin"
    assert fields["reason_admin"] == {"en": "signed_out_by_staff"}


@pytest.mark.parametrize(("reason", "entity"), [
    ("session_replaced", "user"),  # services/devices.replace: a device takeover
    ("logout", "user"),  # RP-initiated logout (services/sessions.end_session)
    ("device_cleared", "admin"),  # the counter cleared the device
    ("password_reset", "admin"),
    ("idle", "policy"),
])
def test_each_way_a_session_ends_says_who_ended_it(portal, reason, entity):
    _, stream, sid = portal
    revoke_session(sid, reason)
    [(stream_id, event, fields)] = _queued()
    assert (stream_id, event) == (stream.stream_id, ssf_streams.SESSION_REVOKED)
    assert (fields["initiating_entity"], fields["reason_admin"]) == (entity, {"en": reason})


def test_a_session_the_portal_never_saw_is_not_announced_to_it(portal):
    account, _, _ = portal
    revoke_session(_session(account, None), "session_replaced")  # the app's session
    assert _queued() == []


def test_subject_choices_and_requested_events_decide_the_streams(portal):
    account, stream, _ = portal
    service_id, _ = new_client(type="service", scopes=["ssf.manage"])
    service = _stream(service_id, events=[ssf_streams.SESSION_REVOKED])
    assert ssf_subjects.streams_for(account.id, ssf_streams.CREDENTIAL_CHANGE) == [stream]
    subject = {"format": "iss_sub", "iss": "http://127.0.0.1:8000", "sub": account.sub}
    ssf_subjects.add_subject(service, subject)
    assert ssf_subjects.streams_for(account.id, ssf_streams.SESSION_REVOKED) == [stream, service]
    ssf_subjects.remove_subject(stream, subject)  # used the portal, but removed by it
    assert ssf_subjects.streams_for(account.id, ssf_streams.SESSION_REVOKED) == [service]
    ssf_streams.set_status(service, "disabled", None)  # a disabled stream gets nothing queued
    assert ssf_subjects.streams_for(account.id, ssf_streams.SESSION_REVOKED) == []


@pytest.mark.parametrize(("change", "reason"), [("paused", "stream_paused"),
                                                ("deleted", "stream_gone"),
                                                ("disabled", "stream_disabled")])
def test_the_streams_state_at_sending_time_decides(portal, change, reason):
    account, stream, _ = portal
    emit("password.changed", account_id=account.id, reason="self_service", commit=True)
    if change == "deleted":
        ssf_streams.delete_stream(stream)
    else:
        ssf_streams.set_status(stream, change, None)
    assert deliver_due()["failed"] == 1
    db.session.expire_all()
    [message] = OutboxMessage.query.filter_by(channel=ssf.CHANNEL).all()
    assert message.last_error == reason
    # Paused: held for a retry; deleted or disabled: given up at once.
    assert (message.next_attempt_at is not None) == (change == "paused")


def test_one_stream_per_client_under_a_race(app):
    client_id, _ = new_client(scopes=["openid", "ssf.manage"])
    db.session.remove()

    def create(_):
        with app.app_context():
            try:
                return _stream(client_id).stream_id
            except ConflictError as exc:
                return exc.code
            finally:
                db.session.remove()

    outcomes = race(2, create)
    assert sorted(o == "stream_exists" for o in outcomes) == [False, True]
    assert SsfStream.query.filter_by(client_id=client_id).count() == 1


def test_the_app_may_not_hold_the_scope_and_a_portal_token_is_for_it_alone(app, client):
    with pytest.raises(ValidationError) as refused:
        create_client(name="app", type="app", redirect_uris=["http://127.0.0.1:9/cb"],
                      scopes=["openid", "ssf.manage"])
    assert refused.value.code == "invalid_scope"
    db.session.rollback()
    portal_id, secret = new_client(scopes=["openid", "ssf.manage"])
    for scope, status in (("ssf.manage", 200), ("openid", 400), ("", 400)):
        answer = client.post("/token", data={"grant_type": "client_credentials",
                                             "scope": scope}, headers=basic(portal_id, secret))
        assert answer.status_code == status, (scope, answer.json)
    plain_id, plain_secret = new_client()  # a portal without the scope: no such grant at all
    answer = client.post("/token", data={"grant_type": "client_credentials",
                                         "scope": "ssf.manage"},
                         headers=basic(plain_id, plain_secret))
    assert answer.json["error"] == "unauthorized_client"


def test_in_production_a_receiver_pushes_over_https_only(app, monkeypatch):
    client_id, _ = new_client(scopes=["openid", "ssf.manage"])
    monkeypatch.setitem(app.config, "ENV", "production")
    with pytest.raises(ValidationError) as refused:
        _stream(client_id)  # http on loopback: the gateway's own host
    assert (refused.value.code, refused.value.detail) == ("invalid_endpoint_url",
                                                          "https required")
    db.session.rollback()
    stream = ssf_streams.create_stream(client_id, {"delivery": {
        "method": ssf_streams.PUSH, "endpoint_url": "https://dvc.example.vn/ssf/events"}})
    assert ssf_streams.delivery_of(stream) == ("https://dvc.example.vn/ssf/events", None)
