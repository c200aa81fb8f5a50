"""Deleting what has expired, in bounded batches: tables that grow without bound slow every
query that touches them (and made other identity servers fall over at tens of millions of
rows), so each periodic sweep removes what nothing will read again.

What goes, and when (settings in config/defaults.py, docs/operations.md "Sweeps"):

* `login_sessions` expired `SWEEP_EXPIRED_AFTER_DAYS` ago, with their `session_clients`;
* `refresh_tokens` whose family expired `SWEEP_EXPIRED_AFTER_DAYS` ago (every token of a
  family has the family's expiry: a rotated token is kept, and recognised as reused, as long
  as its family could still be refreshed);
* `store_entries` (the embedded store: flows, codes, counters) past their expiry;
* `outbox_messages` delivered or given up `OUTBOX_RETENTION_DAYS` ago (their content was
  erased at once; the row was the delivery's record);
* `events` (stored events; never the chained `audit_records`) older than
  `EVENTS_RETENTION_DAYS` (0: kept forever).

Each batch is one statement, `DELETE … WHERE id IN (SELECT id … LIMIT n)`, committed on its
own, so a batch holds its locks for milliseconds and a sweep stopped half-way loses nothing;
a sweep stops after `MAX_BATCHES` batches of a table (the next run goes on). The conditions
are on indexed columns (migration 0019), so finding a batch costs the same however large the
table is. A sweep running twice at once deletes nothing twice (a row is deleted once).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, or_, select

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.models import Event, LoginSession, RefreshToken, SessionClient
from gateway.models.outbox import OutboxMessage
from gateway.models.store_entry import StoreEntry

MAX_BATCHES = 100  # per table and run: at the default batch size, 100,000 rows
log = logging.getLogger("gateway.sweeps")


def _in_batches(table, key, condition, *, batch: int, max_batches: int, then=None) -> int:
    """Delete the rows matching ``condition`` ``batch`` at a time, one commit per batch.
    ``then(deleted_keys)``, if given, runs in each batch's transaction."""
    total = 0
    for _ in range(max_batches):
        # No ORM synchronisation: nothing in this session holds the rows deleted.
        statement = (delete(table).where(key.in_(select(key).where(condition).limit(batch)))
                     .execution_options(synchronize_session=False))
        if then is None:
            deleted = db.session.execute(statement).rowcount
        else:
            keys = db.session.execute(statement.returning(key)).scalars().all()
            deleted = len(keys)
            if keys:
                then(keys)
        db.session.commit()
        total += deleted
        if deleted < batch:
            break
    return total


def sweep_sessions(*, batch: int, max_batches: int = MAX_BATCHES) -> int:
    cutoff = utcnow() - timedelta(days=current_app.config["SWEEP_EXPIRED_AFTER_DAYS"])

    def unlink(sids):  # their clients' links, in the same transaction
        db.session.execute(delete(SessionClient).where(SessionClient.sid.in_(sids)))

    return _in_batches(LoginSession, LoginSession.sid, LoginSession.expires_at < cutoff,
                       batch=batch, max_batches=max_batches, then=unlink)


def sweep_refresh_tokens(*, batch: int, max_batches: int = MAX_BATCHES) -> int:
    cutoff = utcnow() - timedelta(days=current_app.config["SWEEP_EXPIRED_AFTER_DAYS"])
    return _in_batches(RefreshToken, RefreshToken.id, RefreshToken.expires_at < cutoff,
                       batch=batch, max_batches=max_batches)


def sweep_store_entries(*, batch: int, max_batches: int = MAX_BATCHES) -> int:
    now_ms = int(utcnow().timestamp() * 1000)
    return _in_batches(StoreEntry, StoreEntry.key, StoreEntry.expires_at <= now_ms,
                       batch=batch, max_batches=max_batches)


def sweep_outbox(*, batch: int, max_batches: int = MAX_BATCHES) -> int:
    cutoff = utcnow() - timedelta(days=current_app.config["OUTBOX_RETENTION_DAYS"])
    return _in_batches(
        OutboxMessage, OutboxMessage.id,
        or_(OutboxMessage.delivered_at < cutoff, OutboxMessage.failed_at < cutoff),
        batch=batch, max_batches=max_batches)


def sweep_events(*, batch: int, max_batches: int = MAX_BATCHES) -> int:
    days = current_app.config["EVENTS_RETENTION_DAYS"]
    if days == 0:
        return 0
    cutoff = utcnow() - timedelta(days=days)
    return _in_batches(Event, Event.id, Event.at < cutoff, batch=batch, max_batches=max_batches)


SWEEPS = {
    "sessions": sweep_sessions,
    "refresh_tokens": sweep_refresh_tokens,
    "store_entries": sweep_store_entries,
    "outbox": sweep_outbox,
    "events": sweep_events,
}


def sweep_all(*, batch: int | None = None, max_batches: int = MAX_BATCHES) -> dict[str, int]:
    """Every sweep once; the rows each deleted."""
    batch = batch or current_app.config["SWEEP_BATCH_SIZE"]
    counts = {name: sweep(batch=batch, max_batches=max_batches) for name, sweep in SWEEPS.items()}
    log.info("sweeps", extra={"deleted": counts})
    return counts
