"""Signing keys: created on first start, private halves encrypted at rest, rotated by command.

Why AES-GCM under an HKDF-derived key: a database dump alone must not let anyone mint tokens;
the key-encryption secret lives in configuration, outside the database. The key id is bound as
associated data, so an encrypted key cannot be swapped under another kid.
"""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from joserfc.jwk import ECKey, KeySet, RSAKey

from gateway.clock import as_utc, utcnow
from gateway.crypto.secrets import derive_key
from gateway.extensions import db
from gateway.models import SigningKey
from gateway.services.events import emit

SIGNING_ALGS = ("ES256", "RS256")


def _kek() -> AESGCM:
    return AESGCM(derive_key(b"vssid-gateway signing keys v1", encryption=True))


def _generate(alg: str):
    if alg == "ES256":
        return ECKey.generate_key("P-256", private=True)
    if alg == "RS256":
        return RSAKey.generate_key(2048, private=True)
    raise ValueError(f"unsupported signing algorithm {alg!r}")


def create_key(alg: str) -> SigningKey:
    """Make a key and make it the signing key; keys signing before it start retiring."""
    key = _generate(alg)
    kid = key.thumbprint()
    private = json.dumps(key.as_dict(private=True)).encode()
    nonce = os.urandom(12)
    sealed = nonce + _kek().encrypt(nonce, private, kid.encode())
    now = utcnow()
    for older in SigningKey.query.filter(SigningKey.retired_at.is_(None)).all():
        older.retired_at = now
    public = key.as_dict(private=False)
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    row = SigningKey(kid=kid, alg=alg, public_jwk=public, private_encrypted=sealed, created_at=now)
    db.session.add(row)
    db.session.commit()
    _private_cache.clear()
    _cache().clear()
    return row


def rotate_key(alg: str) -> SigningKey:
    """The operator's rotation: a new signing key, recorded (event key.rotated) here, not by
    whoever asked for it."""
    row = create_key(alg)
    emit("key.rotated", kid=row.kid, alg=row.alg, commit=True)
    return row


def ensure_signing_key() -> SigningKey:
    current = current_key_row()
    return current or create_key(current_app.config["SIGNING_ALG"])


def current_key_row() -> SigningKey | None:
    return (
        SigningKey.query.filter(SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc())
        .first()
    )


_private_cache: dict[str, object] = {}
CACHE_SECONDS = 5  # how stale a process's view of the keys may be (a rotation elsewhere)
# (timed with time.monotonic: the age of a cache entry, not a time of day for gateway.clock)


def _cache() -> dict:
    """Per app: the signing key and the verification set, re-read every few seconds, so a
    token costs no key query; a kid this process has not seen forces a re-read at once."""
    return current_app.extensions.setdefault("gateway.keys", {})


def signing_key():
    """The key new tokens are signed with, decrypted once per process."""
    cache = _cache()
    entry = cache.get("signing")
    if entry and time.monotonic() - entry[0] < CACHE_SECONDS:
        return entry[1]
    row = current_key_row() or ensure_signing_key()
    cached = _private_cache.get(row.kid)
    if cached is None:
        blob = row.private_encrypted
        private = _kek().decrypt(blob[:12], blob[12:], row.kid.encode())
        data = json.loads(private)
        data.update({"kid": row.kid, "alg": row.alg, "use": "sig"})
        importer = ECKey if row.alg == "ES256" else RSAKey
        cached = importer.import_key(data)
        _private_cache[row.kid] = cached
    cache["signing"] = (time.monotonic(), (row.alg, cached))
    return row.alg, cached


def _longest_token_lifetime() -> timedelta:
    cfg = current_app.config
    return timedelta(seconds=max(cfg["ACCESS_TOKEN_TTL"], cfg["ID_TOKEN_TTL"],
                                 cfg["HEALTH_CARD_TTL"]))


def published_rows() -> list[SigningKey]:
    """Keys in JWKS: the signing key and every retired key some unexpired token may carry."""
    horizon = utcnow() - _longest_token_lifetime()
    rows = SigningKey.query.order_by(SigningKey.id.desc()).all()
    return [r for r in rows if r.retired_at is None or as_utc(r.retired_at) > horizon]


def public_jwks() -> dict:
    return {"keys": [dict(r.public_jwk) for r in published_rows()]}


def verification_keys(kid: str | None = None) -> KeySet:
    """The published keys; cached briefly, re-read when asked for a kid not in the cache."""
    cache = _cache()
    entry = cache.get("verification")
    fresh = entry and time.monotonic() - entry[0] < CACHE_SECONDS
    if fresh and (kid is None or kid in entry[2]):
        return entry[1]
    jwks = public_jwks()
    keyset = KeySet.import_key_set(jwks)
    cache["verification"] = (time.monotonic(), keyset, {k["kid"] for k in jwks["keys"]})
    return keyset
