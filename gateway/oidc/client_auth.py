"""private_key_jwt (RFC 7523 §2.2, OIDC Core §9) on Authlib's JWTBearerClientAssertion.

Tightened: only asymmetric algorithms (no `none`, no HS* with a public key as the secret),
`jti` single use through the store, `exp` required and not too far away, `nbf`/`iat` checked
with a small skew, `aud` the issuer or one of its endpoints.
"""

from __future__ import annotations

import json

import requests
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import current_app
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from gateway.clock import clock
from gateway.store.access import store

ASSERTION_ALGS = ["ES256", "RS256", "PS256", "ES384", "EdDSA"]
ENDPOINT_PATHS = ("/token", "/introspect", "/revoke")


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self):
        super().__init__(validate_jti=True)

    @property
    def leeway(self):
        return current_app.config["CLIENT_ASSERTION_LEEWAY"]

    @leeway.setter
    def leeway(self, value):
        """Configured per app instead (CLIENT_ASSERTION_LEEWAY)."""

    def get_audiences(self):
        issuer = current_app.config["ISSUER"]
        return [issuer, *(issuer + path for path in ENDPOINT_PATHS)]

    def process_assertion_claims(self, assertion, resolve_key):
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except (JoseError, ValueError, TypeError) as exc:
            raise InvalidClientError(description="Invalid client assertion.") from exc
        self.verify_claims(token.claims)
        now = clock().timestamp()
        claims = token.claims
        exp = claims["exp"]
        if exp - now > current_app.config["CLIENT_ASSERTION_MAX_AGE"]:
            raise InvalidClientError(description="Client assertion lives too long.")
        for name in ("nbf", "iat"):
            value = claims.get(name)
            if value is not None and (not isinstance(value, int) or value > now + self.leeway):
                raise InvalidClientError(description=f"Client assertion '{name}' in the future.")
        return claims

    def validate_jti(self, claims, jti):
        if not isinstance(jti, str) or not jti or len(jti) > 256:
            return False
        ttl = max(1, int(claims["exp"]) - clock().timestamp() + self.leeway)
        return store().add(f"jti:{claims['sub']}:{jti}", "1", ttl)

    def resolve_client_public_key(self, client):
        if client.jwks:
            return KeySet.import_key_set(client.jwks)
        if client.jwks_uri:
            return KeySet.import_key_set(_fetch_jwks(client.jwks_uri))
        raise InvalidClientError(description="The client has no keys registered.")


def _fetch_jwks(uri: str) -> dict:
    cache_key = f"jwks:{uri}"
    cached = store().get(cache_key)
    if cached:
        return json.loads(cached)
    try:
        response = requests.get(uri, timeout=3, allow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise InvalidClientError(description="The client's jwks_uri is unreachable.") from exc
    store().put(cache_key, json.dumps(data), 300)
    return data
