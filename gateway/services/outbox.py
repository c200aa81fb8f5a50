"""The outbox: every message to a person is a row written in the caller's transaction, then
delivered by whoever gets to it first — right after the response of the request that committed
it (gateway/deferred.py: never while the person waits for the answer) or by the delivery job
(`flask --app wsgi outbox deliver`, the safety net).

Why an outbox rather than sending in place: a message must go out exactly when the change it
reports is committed — nothing is sent for a rolled-back change, and nothing is lost when the
provider is down or the process dies after the commit (the job retries with backoff). Why after
the response: the answer must take the same time whether or not a message was sent (a
forgot-password answer would otherwise tell a registered number and phone apart), and must not
wait for the SMS provider.

Delivery is at least once, never twice on purpose: a worker *claims* due rows (PostgreSQL:
``SELECT … FOR UPDATE SKIP LOCKED``; SQLite: a conditional ``UPDATE`` that only one writer can
win), which moves ``next_attempt_at`` a lease ahead and counts the attempt, commits, sends, and
records the outcome. Only a worker that dies between sending and recording lets a message go out
again, after the lease. Contents (OTPs, one-time passwords) and the recipient (a phone number)
are sealed at rest and erased once the message is delivered or given up; the row keeps only a
masked hint of the recipient. Events and ``last_error`` never carry content.

Public surface::

    enqueue_sms(phone, template, params, locale="vi", *, expires_in=None) -> OutboxMessage
    enqueue_message(channel=, recipient=, template=, payload=, locale=, expires_in=)
    deliver_pending(limit=100) -> {"delivered": n, "failed": m, "pending": k}
    register_sender(channel, sender)     how a channel (e-mail, back-channel logout) is sent
    recipient_of(message) -> str | None  the sealed recipient (None once erased)
    recipient_hint(channel, recipient)   what the row keeps in clear
    retry_delay(attempts) -> seconds
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import event, func, select, update

from gateway import deferred
from gateway.clock import as_utc, utcnow
from gateway.crypto.secrets import derive_key
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.messages import sms as sms_texts
from gateway.models import OutboxMessage
from gateway.services.events import emit
from policies.identifiers import IdentifierError, mask_phone, parse_phone
from providers.sms import DeliveryError

log = logging.getLogger("gateway.outbox")

LEASE = timedelta(minutes=5)  # a claimed message is its worker's for this long
FIRST_RETRY = 30  # seconds after the first failed attempt; doubled each time
MAX_RETRY = 3600  # never wait more than an hour between attempts
_PENDING = "gateway.outbox.pending"  # session.info: message keys written in this transaction
_NONCE = 12
_REASON_CHARS = re.compile(r"[^a-z0-9_.:-]")

Sender = Callable[[OutboxMessage, str, dict], None]  # (message, recipient, payload)


# --- sealing ------------------------------------------------------------------------------


def _aead() -> AESGCM:
    return AESGCM(derive_key(b"vssid-gateway outbox v1", encryption=True))


def _aad(message_key: bytes, channel: str, recipient: str) -> bytes:
    # The key has a fixed length, so the parts cannot run into each other.
    return message_key + channel.encode() + b"\x00" + recipient.encode()


def _recipient_aad(message_key: bytes, channel: str) -> bytes:
    # "to:" cannot begin a channel name, so this never equals a payload's associated data.
    return message_key + b"to:" + channel.encode()


def _seal(plain: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + _aead().encrypt(nonce, plain, aad)


def _unseal(blob: bytes, aad: bytes) -> bytes:
    blob = bytes(blob)
    return _aead().decrypt(blob[:_NONCE], blob[_NONCE:], aad)


def recipient_of(message: OutboxMessage) -> str | None:
    """The full recipient, opened from its seal; None once erased (InvalidTag if altered)."""
    if not message.recipient_sealed:
        return None
    key = bytes(message.message_key)
    return _unseal(message.recipient_sealed, _recipient_aad(key, message.channel)).decode()


def recipient_hint(channel: str, recipient: str) -> str:
    """What a row keeps in clear about its recipient: a masked phone for SMS; a back-channel
    logout URL is a client's public configuration, not personal data."""
    if channel == "sms":
        return mask_phone(recipient)
    if channel == "backchannel_logout":
        return recipient[:2000]
    return ""


def _open(message: OutboxMessage) -> tuple[str, dict]:
    recipient = recipient_of(message)
    if recipient is None:
        raise ValueError("the recipient was erased")
    aad = _aad(bytes(message.message_key), message.channel, recipient)
    return recipient, json.loads(_unseal(message.payload_encrypted, aad))


# --- writing ------------------------------------------------------------------------------


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a message parameter")


def enqueue_message(*, channel: str, recipient: str, template: str, payload: dict,
                    locale: str = "vi", expires_in: int | None = None) -> OutboxMessage:
    """Add a message to the current transaction (db.session); it is sent once that commits.

    ``expires_in`` (seconds): after that the message is no longer worth sending (an OTP).
    """
    if channel not in _SENDERS:
        raise ValueError(f"no sender for channel {channel!r}")
    now = utcnow()
    key = os.urandom(16)
    plain = json.dumps(payload, ensure_ascii=False).encode()
    message = OutboxMessage(
        message_key=key,
        channel=channel,
        recipient_hint=recipient_hint(channel, recipient),
        recipient_sealed=_seal(recipient.encode(), _recipient_aad(key, channel)),
        template=template,
        payload_encrypted=_seal(plain, _aad(key, channel, recipient)),
        locale=locale,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
        expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
    )
    db.session.add(message)
    if deferred.collecting():
        db.session().info.setdefault(_PENDING, []).append(key)
    return message


def enqueue_sms(phone: str, template: str, params: dict, locale: str = "vi", *,
                expires_in: int | None = None) -> OutboxMessage:
    """Queue an SMS from a template of gateway/messages/sms.py, rendered now in ``locale``.

    Nothing is sent if the caller's transaction rolls back. Raises ValidationError for a
    phone number that is not a Vietnamese mobile, ValueError for a template misuse.
    """
    try:
        phone = parse_phone(phone)
    except IdentifierError as exc:
        raise ValidationError(exc.code, field="phone", detail=str(exc)) from None
    locale = locale if locale in sms_texts.LOCALES else "vi"
    params = json.loads(json.dumps(params, default=_jsonable))
    text = sms_texts.render(template, params, locale)
    return enqueue_message(channel="sms", recipient=phone, template=template,
                           payload={"params": params, "text": text}, locale=locale,
                           expires_in=expires_in)


# --- sending ------------------------------------------------------------------------------


def _send_sms(message: OutboxMessage, recipient: str, payload: dict) -> None:
    provider = current_app.extensions["gateway.sms"]
    provider.send(recipient, payload["text"], template=message.template)


_SENDERS: dict[str, Sender] = {"sms": _send_sms}


def register_sender(channel: str, sender: Sender) -> None:
    """How messages of ``channel`` go out: ``sender(message, recipient, payload)`` or
    DeliveryError."""
    _SENDERS[channel] = sender


def retry_delay(attempts: int) -> int:
    """Seconds to wait after the ``attempts``-th failed attempt: 30 s, 60 s, … at most 1 h."""
    return min(MAX_RETRY, FIRST_RETRY * 2 ** max(0, min(attempts - 1, 20)))


def _reason(value: str) -> str:
    """A provider's reason as a short code: lower case, no digits runs that could be a code."""
    text = _REASON_CHARS.sub("_", str(value).lower())
    return re.sub(r"[0-9]{4,}", "#", text)[:64] or "error"


def _recipient_hint(message: OutboxMessage) -> dict:
    return {"to": message.recipient_hint} if message.channel == "sms" else {}


def _erase(message: OutboxMessage, now: datetime) -> None:
    message.payload_encrypted = b""
    message.recipient_sealed = b""
    message.erased_at = now
    message.next_attempt_at = None


def _give_up(message: OutboxMessage, reason: str) -> str:
    now = utcnow()
    message.failed_at = now
    message.last_error = reason
    _erase(message, now)
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
        recipient, payload = _open(message)
    except (InvalidTag, ValueError):
        return _give_up(message, "undecryptable")
    try:
        _SENDERS[message.channel](message, recipient, payload)
    except DeliveryError as exc:
        reason = _reason(exc.reason)
        return _give_up(message, reason) if exc.permanent else _retry(message, reason)
    except Exception as exc:  # noqa: BLE001 — a provider's bug must not stop the batch
        # Only the type: an exception's text may quote the message it failed to send.
        log.error("message sender raised", extra={"message_id": message.id,
                                                  "error": type(exc).__name__})
        return _retry(message, _reason(type(exc).__name__))
    now = utcnow()
    message.delivered_at = now
    message.last_error = None
    _erase(message, now)
    emit("message.delivered", message_id=message.id, channel=message.channel,
         template=message.template, attempts=message.attempts, **_recipient_hint(message))
    db.session.commit()
    return "delivered"


def _claim(limit: int, keys: list[bytes] | None) -> list[int]:
    """Ids of due messages this worker now holds (attempt counted, lease taken), committed."""
    now = utcnow()
    due = [
        OutboxMessage.next_attempt_at.is_not(None),
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.channel.in_(sorted(_SENDERS)),
    ]
    if keys is not None:
        due.append(OutboxMessage.message_key.in_(keys))
    candidates = (
        select(OutboxMessage.id).where(*due)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit)
    )
    lease = {"attempts": OutboxMessage.attempts + 1, "next_attempt_at": now + LEASE}
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


def _deliver(limit: int, keys: list[bytes] | None = None) -> dict:
    delivered = failed = 0
    for message_id in _claim(limit, keys):
        outcome = _deliver_one(message_id)
        delivered += outcome == "delivered"
        failed += outcome in ("retry", "failed")
    return {"delivered": delivered, "failed": failed}


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
        return {**_deliver(limit), "pending": _pending()}


# --- right after the response ----------------------------------------------------------------


def _deliver_committed(keys: list[bytes]) -> None:
    """Deferred task: try at once what a request just committed; the job retries the rest."""
    _deliver(limit=len(keys), keys=keys)


@event.listens_for(db.session, "after_commit")
def _deliver_after_commit(session) -> None:
    """Hands what this transaction committed to the work that runs after the response.

    Only message keys cross over (never content), and delivery runs in its own app context
    (a session of its own, on another connection) once the request has returned its own:
    delivering from here, while the request still held its connection, made a request hold two
    connections of one pool, and twenty racing requests took every connection while each
    waited for one more (tests/flows/test_connection_pools.py). A failure there is logged,
    and the job retries it.
    """
    if session.in_nested_transaction():
        return
    keys = session.info.pop(_PENDING, None)
    if keys and deferred.collecting():
        deferred.defer(_deliver_committed, keys=keys)


@event.listens_for(db.session, "after_soft_rollback")
def _forget_after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
