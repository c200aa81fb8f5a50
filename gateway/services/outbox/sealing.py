"""What an outbox row keeps sealed: its contents and its recipient, under AES-256-GCM.

Why: a pending message can hold a one-time password or an OTP, and its recipient is a phone
number; both sit in the database until the message is delivered, then are erased. The key is
derived from KEY_ENCRYPTION_KEY (or SECRET_KEY) for this purpose alone. Each seal is bound to
its row by the associated data (the row's random ``message_key`` and channel, and for the
contents the recipient too), so a seal copied to another row, or a recipient swapped for
another, does not open (InvalidTag) and the message is given up instead of sent elsewhere.

Public surface::

    seal(plain, aad) -> bytes          nonce + ciphertext
    unseal(blob, aad) -> bytes         InvalidTag if altered or moved
    payload_aad(key, channel, recipient), recipient_aad(key, channel)
    recipient_of(message) -> str | None    None once erased
    recipient_hint(channel, recipient)     what the row keeps in clear
    open_message(message) -> (recipient, payload)
"""

from __future__ import annotations

import json
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.crypto.secrets import derive_key
from gateway.models import OutboxMessage
from policies.identifiers import mask_email, mask_phone

_NONCE = 12


def _aead() -> AESGCM:
    return AESGCM(derive_key(b"vssid-gateway outbox v1", encryption=True))


def payload_aad(message_key: bytes, channel: str, recipient: str) -> bytes:
    # The key has a fixed length, so the parts cannot run into each other.
    return message_key + channel.encode() + b"\x00" + recipient.encode()


def recipient_aad(message_key: bytes, channel: str) -> bytes:
    # "to:" cannot begin a channel name, so this never equals a payload's associated data.
    return message_key + b"to:" + channel.encode()


def seal(plain: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + _aead().encrypt(nonce, plain, aad)


def unseal(blob: bytes, aad: bytes) -> bytes:
    blob = bytes(blob)
    return _aead().decrypt(blob[:_NONCE], blob[_NONCE:], aad)


def recipient_of(message: OutboxMessage) -> str | None:
    """The full recipient, opened from its seal; None once erased (InvalidTag if altered)."""
    if not message.recipient_sealed:
        return None
    key = bytes(message.message_key)
    return unseal(message.recipient_sealed, recipient_aad(key, message.channel)).decode()


def recipient_hint(channel: str, recipient: str) -> str:
    """What a row keeps in clear about its recipient: a masked phone for SMS, a masked
    address for e-mail; a back-channel logout URL is a client's public configuration, not
    personal data."""
    if channel == "sms":
        return mask_phone(recipient)
    if channel == "email":
        return mask_email(recipient)
    if channel == "backchannel_logout":
        return recipient[:2000]
    return ""


def open_message(message: OutboxMessage) -> tuple[str, dict]:
    """(recipient, payload) of a pending message; InvalidTag or ValueError if it cannot be."""
    recipient = recipient_of(message)
    if recipient is None:
        raise ValueError("the recipient was erased")
    aad = payload_aad(bytes(message.message_key), message.channel, recipient)
    return recipient, json.loads(unseal(message.payload_encrypted, aad))
