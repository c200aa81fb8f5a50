"""Writing to the outbox: a message is a row added to the caller's transaction.

Why in the caller's transaction: a message must go out exactly when the change it reports is
committed — nothing is sent for a rolled-back change, and nothing is lost when the process
dies after the commit.

What happens after the commit: a request's session remembers the keys of the messages it
wrote; once the transaction commits, the keys (never content) are handed to the work that runs
after the response (gateway/deferred.py), where the app's *dispatch* takes them. On PostgreSQL
the task queue registers a dispatch that defers a delivery job (gateway/jobs/queue.py); without
one (the embedded default) they are delivered right there. Either way the request's answer
takes the same time whether or not it wrote a message, and never waits for a provider.
Messages written outside a request (CLI, jobs) are left to the periodic sweep, or to
`flask --app wsgi outbox deliver`.

Public surface::

    enqueue_sms(phone, template, params, locale="vi", *, expires_in=None) -> OutboxMessage
    enqueue_email(to, template, params, locale="vi", *, expires_in=None) -> OutboxMessage
    enqueue_message(channel=, recipient=, template=, payload=, locale=, expires_in=)
    set_dispatch(app, dispatch)   dispatch(keys: list[str]) takes committed keys (hex)
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import event

from gateway import deferred
from gateway.clock import utcnow
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.messages import email as email_texts
from gateway.messages import sms as sms_texts
from gateway.models import OutboxMessage
from gateway.services.outbox import sealing
from gateway.services.outbox.delivery import deliver_keys
from gateway.services.outbox.senders import has_sender
from policies.identifiers import IdentifierError, parse_email, parse_phone

PENDING = "gateway.outbox.pending"  # session.info: message keys written in this transaction
DISPATCH = "gateway.outbox.dispatch"  # app.extensions: who takes committed keys

Dispatch = Callable[[list[str]], None]


def _jsonable(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a message parameter")


def enqueue_message(*, channel: str, recipient: str, template: str, payload: dict,
                    locale: str = "vi", expires_in: int | None = None) -> OutboxMessage:
    """Add a message to the current transaction (db.session); it is sent once that commits.

    ``expires_in`` (seconds): after that the message is no longer worth sending (an OTP).
    """
    if not has_sender(channel):
        raise ValueError(f"no sender for channel {channel!r}")
    now = utcnow()
    key = os.urandom(16)
    plain = json.dumps(payload, ensure_ascii=False).encode()
    message = OutboxMessage(
        message_key=key,
        channel=channel,
        recipient_hint=sealing.recipient_hint(channel, recipient),
        recipient_sealed=sealing.seal(recipient.encode(), sealing.recipient_aad(key, channel)),
        template=template,
        payload_encrypted=sealing.seal(plain, sealing.payload_aad(key, channel, recipient)),
        locale=locale,
        created_at=now,
        attempts=0,
        next_attempt_at=now,
        expires_at=now + timedelta(seconds=expires_in) if expires_in else None,
    )
    db.session.add(message)
    if deferred.collecting():
        db.session().info.setdefault(PENDING, []).append(key)
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


def enqueue_email(to: str, template: str, params: dict, locale: str = "vi", *,
                  expires_in: int | None = None) -> OutboxMessage:
    """Queue an e-mail from a template of gateway/messages/email.py, rendered now in
    ``locale``; its recipient is sealed like an SMS recipient.

    Nothing is sent if the caller's transaction rolls back. Raises ValidationError for an
    address parse_email refuses, ValueError for a template misuse.
    """
    try:
        to = parse_email(to)
    except IdentifierError as exc:
        raise ValidationError(exc.code, field="email", detail=str(exc)) from None
    locale = locale if locale in email_texts.LOCALES else "vi"
    params = json.loads(json.dumps(params, default=_jsonable))
    subject, text = email_texts.render(template, params, locale)
    return enqueue_message(channel="email", recipient=to, template=template,
                           payload={"params": params, "subject": subject, "text": text},
                           locale=locale, expires_in=expires_in)


# --- after the commit ---------------------------------------------------------------------


def set_dispatch(app, dispatch: Dispatch) -> None:
    """What ``app`` does with the keys a request committed, once its response is sent."""
    app.extensions[DISPATCH] = dispatch


def hand_over(keys: list[str]) -> None:
    """Deferred task: give what a request committed to the app's dispatch (by default: try
    to deliver it at once; the sweep retries the rest)."""
    dispatch = current_app.extensions.get(DISPATCH)
    if dispatch is None:
        deliver_keys([bytes.fromhex(k) for k in keys])
    else:
        dispatch(keys)


@event.listens_for(db.session, "after_commit")
def _hand_over_after_commit(session) -> None:
    """Hands what this transaction committed to the work that runs after the response.

    Only message keys cross over (never content), and what is done with them runs in its own
    app context (a session of its own, on another connection) once the request has returned
    its own: delivering from here, while the request still held its connection, made a request
    hold two connections of one pool, and twenty racing requests took every connection while
    each waited for one more (tests/flows/test_connection_pools.py). A failure there is
    logged, and the sweep delivers the message.
    """
    if session.in_nested_transaction():
        return
    keys = session.info.pop(PENDING, None)
    if keys and deferred.collecting():
        deferred.defer(hand_over, keys=[key.hex() for key in keys])


@event.listens_for(db.session, "after_soft_rollback")
def _forget_after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)
