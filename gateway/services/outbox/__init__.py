"""The outbox: every message to a person (SMS, e-mail) or to a relying service (back-channel
logout) is a row written in the caller's transaction, then delivered once by whoever claims it
first.

Why an outbox rather than sending in place: a message must go out exactly when the change it
reports is committed — nothing is sent for a rolled-back change, and nothing is lost when the
provider is down or the process dies after the commit. Why after the response: the answer must
take the same time whether or not a message was sent (a forgot-password answer would otherwise
tell a registered number and phone apart), and must not wait for the SMS provider.

The parts, each in its module:

* ``enqueue``  — writing a row, and handing the committed keys over after the response (to the
  task queue on PostgreSQL: gateway/jobs/queue.py; delivered in place on the embedded default);
* ``sealing``  — contents and recipient encrypted at rest, bound to their row;
* ``senders``  — who carries each channel (SMS and e-mail here; back-channel logout
  registered by the protocol layer);
* ``delivery`` — the claim, sending, retries with backoff, giving up, erasing.

Public surface (import it from here)::

    enqueue_sms(phone, template, params, locale="vi", *, expires_in=None) -> OutboxMessage
    enqueue_email(to, template, params, locale="vi", *, expires_in=None) -> OutboxMessage
    enqueue_message(channel=, recipient=, template=, payload=, locale=, expires_in=)
    deliver_pending(limit=100) -> {"delivered": n, "failed": m, "pending": k}
    deliver_due(limit=100, *, lease_owner=None), deliver_keys(keys, *, lease_owner=None)
    register_sender(channel, sender)     how a channel (e-mail, back-channel logout) is sent
    set_dispatch(app, dispatch)          who takes the keys a request committed
    recipient_of(message) -> str | None  the sealed recipient (None once erased)
    recipient_hint(channel, recipient)   what the row keeps in clear
    retry_delay(attempts) -> seconds
"""

from gateway.services.outbox.delivery import (
    deliver_due,
    deliver_keys,
    deliver_pending,
    retry_delay,
)
from gateway.services.outbox.enqueue import (
    enqueue_email,
    enqueue_message,
    enqueue_sms,
    set_dispatch,
)
from gateway.services.outbox.sealing import recipient_hint, recipient_of
from gateway.services.outbox.senders import register_sender

__all__ = [
    "deliver_due",
    "deliver_keys",
    "deliver_pending",
    "enqueue_email",
    "enqueue_message",
    "enqueue_sms",
    "recipient_hint",
    "recipient_of",
    "register_sender",
    "retry_delay",
    "set_dispatch",
]
