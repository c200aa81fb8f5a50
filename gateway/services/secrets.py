"""Random secrets and their at-rest form.

Client secrets, refresh tokens, codes and session handles are 256-bit random values: a plain
SHA-256 is a sufficient at-rest hash for them (no dictionary to attack) and keeps look-ups
indexable. Passwords, which people choose, go through Argon2id instead.
"""

from __future__ import annotations

import hashlib
import secrets


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()
