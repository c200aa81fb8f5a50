"""Signing keys: created on first start, private halves encrypted at rest, rotated by command.

A rotation publishes the new key in JWKS `KEY_PUBLISH_LEAD` seconds before it signs anything:
relying services cache our JWKS (ours says max-age=60; verifier libraries keep a set for
minutes and refetch on an unknown `kid` at most every 30 s), so a key that signed at once would
have its first tokens refused for a while by every verifier on library defaults. The old key
signs until the new one's `active_from`; then its `retired_at` (set at the rotation, ahead)
is reached and it stays published until every token it signed has expired. `--now` (a
suspected compromise) makes the new key sign at once.

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


def create_key(alg: str, *, lead: int = 0) -> SigningKey:
    """Make a key that signs ``lead`` seconds from now (published at once); the keys signing
    before it retire at that moment."""
    key = _generate(alg)
    kid = key.thumbprint()
    private = json.dumps(key.as_dict(private=True)).encode()
    nonce = os.urandom(12)
    sealed = nonce + _kek().encrypt(nonce, private, kid.encode())
    now = utcnow()
    active_from = now + timedelta(seconds=lead)
    for older in SigningKey.query.all():
        if older.retired_at is None or as_utc(older.retired_at) > active_from:
            older.retired_at = active_from  # a key still pending is never used
    public = key.as_dict(private=False)
    public.update({"kid": kid, "alg": alg, "use": "sig"})
    row = SigningKey(kid=kid, alg=alg, public_jwk=public, private_encrypted=sealed,
                     created_at=now, active_from=active_from)
    db.session.add(row)
    db.session.commit()
    _private_cache.clear()
    _cache().clear()
    return row


def rotate_key(alg: str, *, now: bool = False) -> SigningKey:
    """The operator's rotation: a new key, published at once and signing after
    KEY_PUBLISH_LEAD seconds (at once with ``now``), recorded (event key.rotated) here, not by
    whoever asked for it."""
    lead = 0 if now else int(current_app.config["KEY_PUBLISH_LEAD"])
    row = create_key(alg, lead=lead)
    emit("key.rotated", kid=row.kid, alg=row.alg, active_from=row.active_from.isoformat(),
         commit=True)
    return row


def ensure_signing_key() -> SigningKey:
    current = current_key_row()
    return current or create_key(current_app.config["SIGNING_ALG"])


def current_key_row() -> SigningKey | None:
    """The key signing now: active, not yet retired (a pending key is published only)."""
    now = utcnow()
    return (
        SigningKey.query.filter(
            SigningKey.active_from <= now,
            (SigningKey.retired_at.is_(None)) | (SigningKey.retired_at > now),
        )
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
    if entry and time.monotonic() - entry[0] < CACHE_SECONDS and (
            entry[2] is None or utcnow() < entry[2]):  # a rotation's new key takes over
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
    retires = as_utc(row.retired_at) if row.retired_at else None
    cache["signing"] = (time.monotonic(), (row.alg, cached), retires)
    return row.alg, cached


def _longest_token_lifetime() -> timedelta:
    cfg = current_app.config
    return timedelta(seconds=max(cfg["ACCESS_TOKEN_TTL"], cfg["ID_TOKEN_TTL"],
                                 cfg["HEALTH_CARD_TTL"]))


def published_rows() -> list[SigningKey]:
    """Keys in JWKS: the signing key, a rotated key not signing yet, and every retired key
    some unexpired token may carry."""
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
