"""Random secrets and their at-rest form.

Client secrets, refresh tokens, codes and session handles are 256-bit random values: a plain
SHA-256 is a sufficient at-rest hash for them (no dictionary to attack) and keeps look-ups
indexable. Passwords, which people choose, go through Argon2id instead.
"""

from __future__ import annotations

import hashlib
import secrets

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def derive_key(purpose: bytes, *, encryption: bool) -> bytes:
    """A 256-bit key for one purpose, from configuration (HKDF-SHA256, `purpose` as info).

    Keys that encrypt data at rest come from KEY_ENCRYPTION_KEY when it is set, so the
    session secret can be rotated without re-encrypting; keyed digests use SECRET_KEY.
    """
    cfg = current_app.config
    secret = (cfg["KEY_ENCRYPTION_KEY"] or cfg["SECRET_KEY"]) if encryption else cfg["SECRET_KEY"]
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret.encode())
