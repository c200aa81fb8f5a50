"""Minting and reading the gateway's tokens.

* Access tokens: RFC 9068 JWTs (``typ: at+jwt``), short-lived, ``aud`` = the resource, carrying
  ``sid`` and the refresh family (``fam``) so a revocation of either reaches them at once.
* ID tokens: OIDC Core §2, signed with the same key.
* Refresh tokens: opaque random strings; only their SHA-256 is stored (gateway.models.token).
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError

from gateway.clock import clock
from gateway.crypto.secrets import hash_secret
from gateway.oidc.keys import signing_key, verification_keys
from gateway.services.refresh_tokens import insert_token

ACCEPTED_ALGS = ["ES256", "RS256"]  # never "none", never HS*: a public key is not a secret


@dataclass
class GrantContext:
    """What a token is issued on behalf of; carried from code to refresh token to refresh."""

    account_id: int | None = None
    sid: str | None = None
    auth_time: int | None = None
    acr: str | None = None
    amr: list[str] = field(default_factory=list)
    family_id: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    resource: str = ""
    nonce: str | None = None
    jkt: str | None = None  # RFC 9449: the DPoP key the tokens are bound to
    # Unix time the refresh-token family ends: REFRESH_TOKEN_TTL after its first token,
    # kept through rotations (an absolute lifetime, not a sliding one).
    family_expires_at: int | None = None


def sign_jwt(header_typ: str | None, claims: dict) -> str:
    """Signs with the current key; `typ` tells token kinds apart (at+jwt, logout+jwt)."""
    return _sign(header_typ, claims)


def _sign(header_typ: str | None, claims: dict) -> str:
    alg, key = signing_key()
    header = {"alg": alg, "kid": key.kid}
    if header_typ:
        header["typ"] = header_typ
    return jwt.encode(header, claims, key, algorithms=[alg])


def mint_access_token(
    *, client_id: str, sub: str, scope: str, ctx: GrantContext
) -> tuple[str, int]:
    cfg = current_app.config
    now = clock().timestamp()
    ttl = cfg["ACCESS_TOKEN_TTL"]
    claims = {
        "iss": cfg["ISSUER"],
        "sub": sub,
        "aud": ctx.resource or cfg["DEFAULT_RESOURCE"],
        "client_id": client_id,
        "iat": now,
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(16),
        "scope": scope,
        "fam": ctx.family_id,
    }
    if ctx.sid:
        claims["sid"] = ctx.sid
    if ctx.auth_time:
        claims["auth_time"] = ctx.auth_time
    if ctx.acr:
        claims["acr"] = ctx.acr
    if ctx.amr:
        claims["amr"] = list(ctx.amr)
    if ctx.jkt:
        claims["cnf"] = {"jkt": ctx.jkt}
    return _sign("at+jwt", claims), ttl


def mint_id_token(*, client_id: str, sub: str, ctx: GrantContext, extra: dict) -> str:
    cfg = current_app.config
    now = clock().timestamp()
    claims = {
        "iss": cfg["ISSUER"],
        "sub": sub,
        "aud": client_id,
        "iat": now,
        "exp": now + cfg["ID_TOKEN_TTL"],
        "auth_time": ctx.auth_time,
        "acr": ctx.acr,
        "amr": list(ctx.amr),
        "sid": ctx.sid,
    }
    if ctx.nonce:
        claims["nonce"] = ctx.nonce
    claims.update(extra)
    return _sign(None, {k: v for k, v in claims.items() if v is not None})


def new_refresh_token_value() -> str:
    """A refresh token: 256 random bits, opaque; only its hash is ever stored."""
    return secrets.token_urlsafe(32)


def mint_refresh_token(*, client_id: str, scope: str, ctx: GrantContext) -> str:
    """A new refresh token; its row is inserted in the open transaction (one INSERT, no ORM
    object: the grant commits it with the rest of its work, gateway.oidc.server.save_token)."""
    cfg = current_app.config
    value = new_refresh_token_value()
    now = clock().now()
    insert_token({
        "token_hash": hash_secret(value),
        "family_id": ctx.family_id,
        "client_id": client_id,
        "account_id": ctx.account_id,
        "sid": ctx.sid,
        "scope": scope,
        "resource": ctx.resource or cfg["DEFAULT_RESOURCE"],
        "auth_time": datetime.fromtimestamp(ctx.auth_time, now.tzinfo),
        "acr": ctx.acr or "",
        "amr": " ".join(ctx.amr),
        "issued_at": now,
        "expires_at": (datetime.fromtimestamp(ctx.family_expires_at, now.tzinfo)
                       if ctx.family_expires_at
                       else now + timedelta(seconds=cfg["REFRESH_TOKEN_TTL"])),
        "dpop_jkt": ctx.jkt,
    })
    return value


def _kid(value: str) -> str | None:
    try:
        header = json.loads(base64.urlsafe_b64decode(value.split(".", 1)[0] + "=="))
    except (ValueError, TypeError):
        return None
    kid = header.get("kid") if isinstance(header, dict) else None
    return kid if isinstance(kid, str) else None


def _read_own(value, *, types: tuple, allow_expired: bool = False) -> dict | None:
    """Claims of a JWT this gateway signed, of one of `types` (the `typ` header, which tells
    an access token from an ID token from a logout token), with our `iss`; else None."""
    if not isinstance(value, str) or len(value) > 8192 or value.count(".") != 2:
        return None
    try:
        token = jwt.decode(value, verification_keys(_kid(value)), algorithms=ACCEPTED_ALGS)
    except (JoseError, ValueError, TypeError):
        return None
    if token.header.get("typ") not in types:
        return None
    claims = token.claims
    if claims.get("iss") != current_app.config["ISSUER"]:
        return None
    exp = claims.get("exp")
    if not isinstance(exp, int) or (not allow_expired and exp <= clock().timestamp()):
        return None
    return claims


def read_access_token(value: str) -> dict | None:
    """Claims of a genuine, unexpired access token of ours; None for anything else.

    Revocation is not checked here (see gateway.services.revocation): callers decide.
    """
    return _read_own(value, types=("at+jwt",))


def read_id_token(value: str, *, allow_expired: bool = False) -> dict | None:
    """Claims of an ID token we issued (for id_token_hint at logout); None otherwise."""
    return _read_own(value, types=(None, "JWT"), allow_expired=allow_expired)
