"""The staff console's second factor: a TOTP secret per staff account, sealed at rest, each
code accepted once.

Why sealed rather than hashed: checking a TOTP code needs the secret itself. It is kept under
AES-256-GCM with a key derived for this purpose alone (KEY_ENCRYPTION_KEY, or SECRET_KEY), and
the seal is bound to the staff id by the associated data, so a seal copied onto another staff
row does not open (the same pattern as gateway/services/outbox/sealing.py).

Why "used once": a code seen over a shoulder or phished in real time must not open a second
session. ``totp_last_step`` holds the newest step accepted; a code is accepted only by a
compare-and-set that moves it forward (``UPDATE ... WHERE totp_last_step < step``), so of any
number of concurrent requests with the same code exactly one wins, on either backend.
"""

from __future__ import annotations

import os

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import update

from gateway.clock import clock
from gateway.crypto.secrets import derive_key
from gateway.extensions import db
from gateway.models import StaffAccount
from policies.staff_rules import (
    TOTP_DIGITS,
    TOTP_PERIOD,
    matching_step,
    totp_code,
    totp_step,
)

ISSUER_NAME = "VssID Staff"
_NONCE = 12
SECRET_BYTES = 20  # 160 bits, the size RFC 4226 recommends for HMAC-SHA1


def _aead() -> AESGCM:
    return AESGCM(derive_key(b"vssid-gateway staff totp v1", encryption=True))


def _aad(staff_id: int) -> bytes:
    return b"staff-totp:" + str(staff_id).encode()


def new_secret() -> str:
    """A fresh base32 secret of 160 random bits."""
    return pyotp.random_base32(length=SECRET_BYTES * 8 // 5)


def seal(secret: str, staff_id: int) -> bytes:
    nonce = os.urandom(_NONCE)
    return nonce + _aead().encrypt(nonce, secret.encode(), _aad(staff_id))


def unseal(blob: bytes, staff_id: int) -> str:
    """The secret; cryptography's InvalidTag if the seal was altered or moved to another row."""
    blob = bytes(blob)
    return _aead().decrypt(blob[:_NONCE], blob[_NONCE:], _aad(staff_id)).decode()


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_PERIOD)


def provisioning_uri(secret: str, username: str) -> str:
    """The ``otpauth://totp/...`` URI an authenticator app reads (shown once, at creation)."""
    uri = _totp(secret).provisioning_uri(name=username, issuer_name=ISSUER_NAME)
    if not uri.startswith("otpauth://totp/"):  # pyotp's format is the contract we rely on
        raise RuntimeError("unexpected provisioning URI")
    return uri


def current_code(staff: StaffAccount) -> str:
    """The code of the present step (development tooling: `flask staff totp`)."""
    secret = unseal(staff.totp_secret_sealed, staff.id)
    return _totp(secret).at(totp_step(clock().timestamp()) * TOTP_PERIOD)


def matching(staff: StaffAccount, typed: str) -> int | None:
    """The step within ±1 of now whose code was typed, or None; consumes nothing. A
    malformed code is compared with every candidate as well, so it costs the same time."""
    code = totp_code(typed)
    totp = _totp(unseal(staff.totp_secret_sealed, staff.id))
    step = matching_step(code or "", totp_step(clock().timestamp()),
                         lambda candidate: totp.at(candidate * TOTP_PERIOD))
    return step if code else None


def consume(staff_id: int, step: int) -> bool:
    """Accept ``step`` for this staff account once: True for the one caller that moved
    ``totp_last_step`` forward to it, False if it (or a later step) was accepted already.
    Commits at once, so the code is spent even if the rest of the sign-in fails."""
    won = db.session.execute(
        update(StaffAccount)
        .where(StaffAccount.id == staff_id, StaffAccount.totp_last_step < step)
        .values(totp_last_step=step)
        .returning(StaffAccount.id)
    ).first()
    db.session.commit()
    return won is not None
