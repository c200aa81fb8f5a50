"""The audit trail: append a record chained by hash to the one before; walk and check the chain.

Why a chain: the register of who issued which account, who moved whose phone number, must
show tampering even by someone with write access to the database. Each record's hash covers
its content and the previous record's hash, so an edit, a deletion or a reordering breaks the
chain at a point `verify` names. (Removing the newest records is not visible from the chain
alone: every appended hash is also written to the structured log, which lives elsewhere.)

Appends are serialised — on PostgreSQL by a transaction-scoped advisory lock, on SQLite by
its single writer's lock, taken before the newest record is read — and ``seq`` is the primary
key, so two concurrent appends can never fork
the chain: the second waits, or fails and rolls back with its whole transaction.

An audit record is written in the SAME transaction as the change it describes: the caller
commits both, or neither.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.models import AuditRecord

log = logging.getLogger("gateway.audit")

GENESIS = "0" * 64
_LOCK_ID = 0x56535344_41554454 & 0x7FFFFFFFFFFFFFFF  # "VSSDAUDT", one advisory lock


@dataclass(frozen=True)
class Actor:
    """Who acts: a staff member (username, role, office) or an operator's command."""

    name: str
    role: str | None = None
    office: str | None = None

    @classmethod
    def staff(cls, staff) -> Actor:
        return cls(staff.username, staff.role, staff.office_code)


def _canonical(seq: int, at: datetime, actor: str, actor_role, actor_office, action: str,
               subject: str, changes: dict, reason, prev_hash: str) -> bytes:
    # Times in UTC microseconds, so SQLite (naive) and PostgreSQL (aware) read back equal.
    stamp = at.replace(tzinfo=None).isoformat(timespec="microseconds")
    body = [seq, stamp, actor, actor_role, actor_office, action, subject, changes, reason,
            prev_hash]
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def record_hash(record: AuditRecord) -> str:
    return hashlib.sha256(_canonical(
        record.seq, record.at, record.actor, record.actor_role, record.actor_office,
        record.action, record.subject, record.changes or {}, record.reason,
        record.prev_hash)).hexdigest()


def _lock_chain() -> None:
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    else:
        # SQLite: a write that matches nothing still takes the database's write lock (and
        # begins the transaction: the driver runs plain SELECTs outside one), so the newest
        # record is read while no one else can append — concurrent appends queue on the lock
        # instead of reading the same last seq and failing on the primary key.
        db.session.execute(text("UPDATE audit_records SET seq = seq WHERE seq < 0"))


def append(actor: Actor, action: str, subject: str, *, changes: dict | None = None,
           reason: str | None = None) -> AuditRecord:
    """Add one record after the newest; the caller's commit stores it with its change.

    `changes` must hold no secret and no full personal number (mask them: policies/
    identifiers.mask_*). `reason` is the staff member's own words and is kept as given.
    """
    _lock_chain()
    last = db.session.execute(
        select(AuditRecord.seq, AuditRecord.hash).order_by(AuditRecord.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (last.seq + 1, last.hash) if last else (1, GENESIS)
    record = AuditRecord(
        seq=seq, at=utcnow(), actor=actor.name, actor_role=actor.role,
        actor_office=actor.office, action=action, subject=subject, changes=changes or {},
        reason=reason, prev_hash=prev_hash,
    )
    record.hash = record_hash(record)
    db.session.add(record)
    db.session.flush()
    log.info("audit.appended", extra={"audit_seq": seq, "audit_hash": record.hash,
                                      "audit_action": action})
    return record


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold: ``seq`` of the record where it breaks, and a
    stable ``problem``: ``gap`` (a record is missing before it), ``link`` (its prev_hash is not
    the hash of the record before it: deleted or reordered), ``content`` (its content no
    longer matches its hash: edited)."""

    seq: int
    problem: str


def page(*, actor: str | None = None, action: str | None = None, subject: str | None = None,
         before: int | None = None, limit: int = 50) -> tuple[list[AuditRecord], int | None]:
    """Records newest first, filtered by exact actor, action and subject, ``limit`` at a time;
    with the ``seq`` to pass as ``before`` for the next page (None on the last). Keyset paging
    on the primary key: page 1000 costs what page 1 does."""
    query = select(AuditRecord).order_by(AuditRecord.seq.desc())
    for column, value in ((AuditRecord.actor, actor), (AuditRecord.action, action),
                          (AuditRecord.subject, subject)):
        if value:
            query = query.where(column == value)
    if before is not None:
        query = query.where(AuditRecord.seq < before)
    rows = db.session.execute(query.limit(limit + 1)).scalars().all()
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].seq if more else None)


def verify(batch: int = 5000) -> tuple[int, ChainBreak | None]:
    """Walk the whole chain in order, in batches; (records checked, first break or None)."""
    checked, expected_seq, prev_hash = 0, 1, GENESIS
    after = 0
    while True:
        rows = db.session.execute(
            select(AuditRecord).where(AuditRecord.seq > after)
            .order_by(AuditRecord.seq).limit(batch)
        ).scalars().all()
        if not rows:
            return checked, None
        for record in rows:
            if record.seq != expected_seq:
                return checked, ChainBreak(expected_seq, "gap")
            if record.prev_hash != prev_hash:
                return checked, ChainBreak(record.seq, "link")
            if record_hash(record) != record.hash:
                return checked, ChainBreak(record.seq, "content")
            checked += 1
            expected_seq, prev_hash, after = record.seq + 1, record.hash, record.seq
        db.session.expunge_all()
