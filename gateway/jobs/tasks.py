"""The gateway's background work, as plain functions: what a job of the task queue runs.

On PostgreSQL a worker (`flask --app wsgi worker`, gateway/jobs/worker.py) runs them as jobs;
on the embedded default, and from the CLI, the same functions are called in place. Each runs
inside an app context, takes JSON-able keyword arguments only (never a secret: a message is
named by its random key, its contents stay sealed in its row) and is safe to run twice — the
queue delivers a job at least once, so the work must be idempotent:

* ``deliver_messages`` — the messages a request committed; the row's claim makes a second run
  (or a race with the sweep) send nothing twice;
* ``sweep_outbox``     — every due message (retries, and messages whose job was never deferred
  because the process died between its commit and its response); every minute;
* ``sweep_expired``    — expired sessions, refresh tokens, store rows, old outbox rows and
  events, in bounded batches (gateway/services/sweeps.py); every five minutes;
* ``remind_passwords`` — expiry reminders, once per account and reminder window (the window is
  recorded on the account, so a second run reminds no one twice); daily.

* ``stage_import_chunk`` / ``merge_import_part`` — one step of a migration job
  (gateway/jobs/migration/bookkeeping.py): its row lock and state make a second run a no-op.

``lease_owner`` ("job:<id>") is given by the worker: a job run again after its worker died
takes back at once the messages its first run had claimed (gateway/services/outbox/delivery.py).
"""

from __future__ import annotations

from gateway.jobs.migration import bookkeeping
from gateway.jobs.password_reminders import send_reminders
from gateway.services import sweeps
from gateway.services.outbox import deliver_due, deliver_keys

SWEEP_BATCH = 100  # messages claimed at a time
SWEEP_MAX_BATCHES = 100  # a sweep stops after this many full batches; the next one goes on


def deliver_messages(keys: list[str], *, lease_owner: str | None = None) -> dict:
    """Deliver these messages (hex ``message_key``s) if they are still due."""
    return deliver_keys([bytes.fromhex(k) for k in keys], lease_owner=lease_owner)


def sweep_outbox(*, lease_owner: str | None = None) -> dict:
    """Deliver what is due, batch after batch, until a batch comes back short."""
    totals = {"claimed": 0, "delivered": 0, "failed": 0}
    for _ in range(SWEEP_MAX_BATCHES):
        result = deliver_due(SWEEP_BATCH, lease_owner=lease_owner)
        for name in totals:
            totals[name] += result[name]
        if result["claimed"] < SWEEP_BATCH:
            break
    return totals


def sweep_expired() -> dict:
    """Delete what has expired, in bounded batches; the rows deleted per table."""
    return sweeps.sweep_all()


def remind_passwords() -> dict:
    """SMS reminders to every account whose password expires soon (once per window)."""
    return send_reminders()


def stage_import_chunk(job_id: int, number: int) -> bool:
    """Stage one chunk of a migration job (False: it was staged already)."""
    return bookkeeping.stage_chunk(job_id, number)


def merge_import_part(job_id: int, number: int) -> bool:
    """Merge one part of a migration job into the accounts (False: merged already)."""
    return bookkeeping.merge_part(job_id, number)
