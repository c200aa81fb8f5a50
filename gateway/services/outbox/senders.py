"""Who carries each channel of the outbox: a registry of senders.

Why a registry: the outbox (a service) must not know the protocol layer, yet back-channel
logout tokens are minted and posted by gateway/oidc/backchannel.py. That module registers
its sender here at import; SMS and e-mail are registered below and go through the app's
providers (providers/sms.py, providers/email.py). A channel without a sender cannot be
enqueued, and its rows are never claimed.

A sender is ``sender(message, recipient, payload)``: it hands the message over once, returns
normally when it was accepted, and raises providers.sms.DeliveryError when it was not
(``permanent`` when a retry cannot help). Anything else it raises counts as a retryable
failure whose text is never stored.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from gateway.models import OutboxMessage

Sender = Callable[[OutboxMessage, str, dict], None]  # (message, recipient, payload)


def _send_sms(message: OutboxMessage, recipient: str, payload: dict) -> None:
    provider = current_app.extensions["gateway.sms"]
    provider.send(recipient, payload["text"], template=message.template)


def _send_email(message: OutboxMessage, recipient: str, payload: dict) -> None:
    provider = current_app.extensions["gateway.email"]
    provider.send(recipient, payload["subject"], payload["text"])


_SENDERS: dict[str, Sender] = {"sms": _send_sms, "email": _send_email}


def register_sender(channel: str, sender: Sender) -> None:
    """How messages of ``channel`` go out: ``sender(message, recipient, payload)`` or
    DeliveryError."""
    _SENDERS[channel] = sender


def sender_for(channel: str) -> Sender:
    return _SENDERS[channel]


def has_sender(channel: str) -> bool:
    return channel in _SENDERS


def channels() -> list[str]:
    """The channels that can be delivered (in a stable order, for the claim's query)."""
    return sorted(_SENDERS)
