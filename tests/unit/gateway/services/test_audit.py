"""The audit chain (gateway/services/audit.py): every append links to the one before, and
`verify` names the first record that was edited, deleted or moved."""

from __future__ import annotations

import threading

from sqlalchemy import text

from gateway.extensions import db
from gateway.models import AuditRecord
from gateway.services import audit

CLERK = audit.Actor("clerk1", "office_staff", "BHXH-001")


def _append(n: int) -> None:
    for i in range(n):
        audit.append(CLERK, "application.approved", f"application:REF{i}",
                     changes={"status": ["submitted", "approved"]}, reason=f"lý do {i}")
    db.session.commit()


def test_an_untouched_chain_verifies(app):
    _append(5)
    assert audit.verify() == (5, None)
    first, second = AuditRecord.query.order_by(AuditRecord.seq).limit(2).all()
    assert first.prev_hash == audit.GENESIS and second.prev_hash == first.hash


def test_an_empty_chain_verifies(app):
    assert audit.verify() == (0, None)


def test_an_edited_record_is_named(app):
    _append(5)
    db.session.execute(text("UPDATE audit_records SET reason = 'sửa' WHERE seq = 3"))
    db.session.commit()
    assert audit.verify() == (2, audit.ChainBreak(3, "content"))


def test_an_edited_json_change_is_named(app):
    _append(3)
    record = db.session.get(AuditRecord, 2)
    record.changes = {"status": ["submitted", "rejected"]}
    db.session.commit()
    assert audit.verify()[1] == audit.ChainBreak(2, "content")


def test_a_deleted_record_is_named(app):
    _append(5)
    db.session.execute(text("DELETE FROM audit_records WHERE seq = 2"))
    db.session.commit()
    assert audit.verify() == (1, audit.ChainBreak(2, "gap"))


def test_a_deleted_record_renumbered_to_hide_the_gap_is_named(app):
    _append(5)
    db.session.execute(text("DELETE FROM audit_records WHERE seq = 2"))
    for seq in (3, 4, 5):
        db.session.execute(text("UPDATE audit_records SET seq = :n WHERE seq = :o"),
                           {"n": seq - 1, "o": seq})
    db.session.commit()
    assert audit.verify()[1] == audit.ChainBreak(2, "link")


def test_a_reordered_pair_is_named(app):
    _append(5)
    # Swap records 2 and 3 by their sequence numbers.
    db.session.execute(text("UPDATE audit_records SET seq = 1000 WHERE seq = 2"))
    db.session.execute(text("UPDATE audit_records SET seq = 2 WHERE seq = 3"))
    db.session.execute(text("UPDATE audit_records SET seq = 3 WHERE seq = 1000"))
    db.session.commit()
    assert audit.verify()[1] == audit.ChainBreak(2, "link")


def test_a_rolled_back_change_leaves_no_record(app):
    audit.append(CLERK, "account.signed_out", "account:1", reason="test")
    db.session.rollback()
    assert AuditRecord.query.count() == 0


def test_concurrent_appends_never_fork_the_chain(app):
    errors: list[BaseException] = []

    def worker():
        with app.app_context():
            try:
                for _ in range(5):
                    try:
                        audit.append(CLERK, "staff.signed_in", "staff:clerk1")
                        db.session.commit()
                    except Exception:  # noqa: BLE001 - a lost race must roll back, not fork
                        db.session.rollback()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    checked, broken = audit.verify()
    assert broken is None and checked == AuditRecord.query.count() >= 5


def test_concurrent_appends_all_land_on_either_backend(make_app):
    """Each append waits for the chain's lock (PostgreSQL: advisory; SQLite: the write lock,
    taken before the newest record is read), so none fails on a taken seq."""
    from tests.helpers import race

    app = make_app()

    def worker(i):
        with app.app_context():
            try:
                for n in range(5):
                    audit.append(CLERK, "staff.signed_in", f"staff:clerk{i}", reason=str(n))
                    db.session.commit()
            finally:
                db.session.remove()

    race(4, worker)
    with app.app_context():
        assert audit.verify() == (20, None)
