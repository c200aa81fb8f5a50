"""Delivering the outbox: claim due rows, send each once, record the outcome.

Whoever delivers — a job of the task queue, the periodic sweep, the work after a response on
the embedded default, `flask --app wsgi outbox deliver` — goes through the claim below, so a
message is sent once however many of them race, and a job of the queue is only a trigger:
running the same job twice, or a job and the sweep together, sends nothing twice.

The claim (PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED``; SQLite: a conditional ``UPDATE``
that only one writer can win) counts the attempt and moves ``next_attempt_at`` a lease ahead,
commits, then the message is sent and its outcome recorded. Only a deliverer that dies between
sending and recording lets a message go out again. One that dies before sending leaves the
row leased: to the sweep after the lease, or at once to the same job of the queue when the
queue retries it as stalled (the lease names its owner, ``job:<id>``; a retried job keeps its
id, and the queue retries a job only once its worker has stopped beating).

Failures are retried with backoff (30 s, 60 s, … at most 1 h) until OUTBOX_MAX_ATTEMPTS, then
given up (event ``message.failed``); an expired message (an OTP) is given up, not sent late.
Contents and recipient are erased once the message is delivered or given up; events and
``last_error`` never carry content.

Public surface::

    deliver_pending(limit=100) -> {"delivered", "failed", "pending"}   one batch, then a count
    deliver_due(limit=100, *, lease_owner=None) -> {"claimed", "delivered", "failed"}
    deliver_keys(keys, *, lease_owner=None) -> the same, for those messages only
    retry_delay(attempts) -> seconds
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidTag
from flask import current_app
from sqlalchemy import func, or_, select, update

from gateway.clock import as_utc, utcnow
from gateway.extensions import db
from gateway.models import OutboxMessage
from gateway.services.events import emit
from gateway.services.outbox.sealing import open_message
from gateway.services.outbox.senders import channels, sender_for
from providers.sms import DeliveryError

log = logging.getLogger("gateway.outbox")

LEASE = timedelta(minutes=5)  # a claimed message is its deliverer's for this long
FIRST_RETRY = 30  # seconds after the first failed attempt; doubled each time
MAX_RETRY = 3600  # never wait more than an hour between attempts
_REASON_CHARS = re.compile(r"[^a-z0-9_.:-]")


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt: 30 s, 60 s, … at most 1 h."""
    return min(MAX_RETRY, FIRST_RETRY * 2 ** max(0, min(attempts - 1, 20)))


def reason_code(value: str) -> str:
    """A provider's reason as a short code: lower case, no digits runs that could be a code."""
    text = _REASON_CHARS.sub("_", str(value).lower())
    return re.sub(r"[0-9]{4,}", "#", text)[:64] or "error"


def _recipient_hint(message: OutboxMessage) -> dict:
    return {"to": message.recipient_hint} if message.channel in ("sms", "email") else {}


def _settle(message: OutboxMessage, now: datetime) -> None:
    """Delivered or given up: erase what was sealed, and release the lease for good."""
    message.payload_encrypted = b""
    message.recipient_sealed = b""
    message.erased_at = now
    message.next_attempt_at = None
    message.lease_owner = None


def _give_up(message: OutboxMessage, reason: str) -> str:
    now = utcnow()
    message.failed_at = now
    message.last_error = reason
    _settle(message, now)
    emit("message.failed", message_id=message.id, channel=message.channel,
         template=message.template, attempts=message.attempts, reason=reason,
         **_recipient_hint(message))
    db.session.commit()
    return "failed"


def _retry(message: OutboxMessage, reason: str) -> str:
    if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        return _give_up(message, reason)
    message.last_error = reason
    message.next_attempt_at = utcnow() + timedelta(seconds=retry_delay(message.attempts))
    message.lease_owner = None
    db.session.commit()
    log.warning("message delivery will be retried",
                extra={"message_id": message.id, "attempts": message.attempts, "reason": reason})
    return "retry"


def _deliver_one(message_id: int) -> str | None:
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.next_attempt_at is None:
        return None
    if message.expires_at is not None and as_utc(message.expires_at) <= utcnow():
        return _give_up(message, "expired")
    try:
        recipient, payload = open_message(message)
    except (InvalidTag, ValueError):
        return _give_up(message, "undecryptable")
    try:
        sender_for(message.channel)(message, recipient, payload)
    except DeliveryError as exc:
        reason = reason_code(exc.reason)
        return _give_up(message, reason) if exc.permanent else _retry(message, reason)
    except Exception as exc:  # noqa: BLE001 — a provider's bug must not stop the batch
        # Only the type: an exception's text may quote the message it failed to send.
        log.error("message sender raised", extra={"message_id": message.id,
                                                  "error": type(exc).__name__})
        return _retry(message, reason_code(type(exc).__name__))
    now = utcnow()
    message.delivered_at = now
    message.last_error = None
    _settle(message, now)
    emit("message.delivered", message_id=message.id, channel=message.channel,
         template=message.template, attempts=message.attempts, **_recipient_hint(message))
    db.session.commit()
    return "delivered"


def _claim(limit: int, keys: list[bytes] | None, owner: str | None) -> list[int]:
    """Ids of due messages this deliverer now holds (attempt counted, lease taken), committed.

    Due: ``next_attempt_at`` has come — or the row is leased to ``owner`` itself, a job that
    the queue runs again because its first run died before it could record the outcome.
    """
    now = utcnow()
    due = [
        OutboxMessage.next_attempt_at.is_not(None),
        OutboxMessage.channel.in_(channels()),
        or_(OutboxMessage.next_attempt_at <= now, OutboxMessage.lease_owner == owner)
        if owner else OutboxMessage.next_attempt_at <= now,
    ]
    if keys is not None:
        due.append(OutboxMessage.message_key.in_(keys))
    candidates = (
        select(OutboxMessage.id).where(*due)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    )
    lease = {"attempts": OutboxMessage.attempts + 1, "next_attempt_at": now + LEASE,
             "lease_owner": owner}
    claimed: list[int] = []
    try:
        if db.session.get_bind().dialect.name == "postgresql":
            # Rows another worker holds are skipped, not waited for; the lease is written
            # before the locks are released, so no one sees them due again.
            claimed = list(db.session.scalars(candidates.with_for_update(skip_locked=True)))
            if claimed:
                db.session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(claimed)).values(**lease)
                    .execution_options(synchronize_session=False)
                )
        else:
            # SQLite has one writer at a time: re-checking "still due" inside the UPDATE
            # makes each row go to exactly one of the racing workers.
            for message_id in db.session.scalars(candidates).all():
                result = db.session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == message_id, *due)
                    .values(**lease).execution_options(synchronize_session=False)
                )
                if result.rowcount == 1:
                    claimed.append(message_id)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return claimed


def _deliver(limit: int, keys: list[bytes] | None, owner: str | None) -> dict:
    claimed = _claim(limit, keys, owner)
    delivered = failed = 0
    for message_id in claimed:
        outcome = _deliver_one(message_id)
        delivered += outcome == "delivered"
        failed += outcome in ("retry", "failed")
    return {"claimed": len(claimed), "delivered": delivered, "failed": failed}


def deliver_due(limit: int = 100, *, lease_owner: str | None = None) -> dict:
    """Claim up to ``limit`` due messages and send them. Returns ``{"claimed", "delivered",
    "failed"}``; failed counts attempts that failed (retry scheduled or given up)."""
    return _deliver(limit, None, lease_owner)


def deliver_keys(keys: list[bytes], *, lease_owner: str | None = None) -> dict:
    """Deliver these messages (by ``message_key``) if they are due; the others are left."""
    return _deliver(len(keys), list(keys), lease_owner) if keys else \
        {"claimed": 0, "delivered": 0, "failed": 0}


def _pending() -> int:
    count = db.session.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.next_attempt_at.is_not(None))
    )
    db.session.rollback()  # end the read; nothing else is pending in this session
    return int(count or 0)


def deliver_pending(limit: int = 100) -> dict:
    """Send up to ``limit`` due messages; safe to run in many workers at once.

    Runs in its own app context, hence its own database session: it commits as it goes and
    never touches the caller's transaction. Call it after committing what you enqueued.
    Returns ``{"delivered": n, "failed": m, "pending": k}``: messages sent, attempts that
    failed in this run (retry scheduled or given up), and messages still awaiting delivery.
    """
    with current_app.app_context():
        result = deliver_due(limit)
        return {"delivered": result["delivered"], "failed": result["failed"],
                "pending": _pending()}
