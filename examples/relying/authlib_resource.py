"""A relying service's API behind Authlib's ResourceProtector: the gateway's access tokens
checked by Authlib's RFC 9068 validator, as Bearer or DPoP-bound (RFC 9449) tokens."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from urllib.parse import urlsplit

import requests
from authlib.integrations.flask_oauth2 import ResourceProtector, current_token
from authlib.oauth2.rfc6750.errors import InvalidTokenError
from authlib.oauth2.rfc9068 import JWTBearerTokenValidator
from flask import Flask, jsonify
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry, KeySet

PROOF_MAX_AGE, PROOF_LEEWAY = 60, 5  # seconds


class GatewayKeys:
    """The gateway's JWKS, fetched again for a kid not seen yet (a key rotation), at most
    once per `cooldown` seconds."""

    def __init__(self, jwks_uri: str, *, cooldown: float = 1.0):
        self.jwks_uri, self.cooldown = jwks_uri, cooldown
        self.keys, self.kids, self.fetched = None, set(), float("-inf")

    def for_token(self, token: str) -> None:
        kid = jws.extract_compact(token.encode()).protected.get("kid")
        if self.keys is None or (kid not in self.kids
                                 and time.monotonic() - self.fetched >= self.cooldown):
            jwks = requests.get(self.jwks_uri, timeout=5).json()
            self.keys = KeySet.import_key_set(jwks)
            self.kids = {k.get("kid") for k in jwks["keys"]}
            self.fetched = time.monotonic()


class BearerTokens(JWTBearerTokenValidator):
    def __init__(self, issuer: str, resource_server: str, keys: GatewayKeys):
        super().__init__(issuer, resource_server)
        self.gateway_keys = keys

    def get_jwks(self):
        return self.gateway_keys.keys

    def authenticate_token(self, token_string):
        try:
            self.gateway_keys.for_token(token_string)  # fetches the keys again if need be
        except (JoseError, ValueError):
            raise InvalidTokenError() from None
        token = super().authenticate_token(token_string)
        token.raw = token_string
        return token

    def validate_token(self, token, scopes, request, **kwargs):
        super().validate_token(token, scopes, request, **kwargs)  # typ, iss, aud, exp, scope
        if (token.get("cnf") or {}).get("jkt"):  # RFC 9449 §7.2: a bound token needs DPoP
            raise InvalidTokenError(description="DPoP-bound token presented as Bearer")


class DPoPTokens(BearerTokens):
    """`Authorization: DPoP <token>` plus a `DPoP` proof by the key the token is bound to."""

    TOKEN_TYPE = "dpop"  # noqa: S105 (the scheme's name, not a secret)

    def __init__(self, *args, public_url: str, proof_algs: list):
        super().__init__(*args)
        self.public_url, self.proof_algs = public_url.rstrip("/"), proof_algs
        self.seen: dict[str, float] = {}  # proof jti → expiry (several processes: Redis)
        self.lock = threading.Lock()

    def validate_token(self, token, scopes, request, **kwargs):
        JWTBearerTokenValidator.validate_token(self, token, scopes, request, **kwargs)
        jkt = (token.get("cnf") or {}).get("jkt")
        proofs = request.headers.getlist("DPoP")
        if not jkt or len(proofs) != 1:
            raise InvalidTokenError(description="DPoP proof or binding missing")
        # htu: this service's public URL, not what the WSGI server saw behind a proxy
        url = self.public_url + urlsplit(request.uri).path
        if not self._proof_ok(proofs[0], jkt, token.raw, request.method, url):
            raise InvalidTokenError(description="invalid DPoP proof")

    def _proof_ok(self, proof: str, jkt: str, token: str, method: str, url: str) -> bool:
        try:
            header = jws.extract_compact(proof.encode()).protected
            public = header["jwk"]
            if header.get("typ") != "dpop+jwt" or "d" in public:
                return False
            key = JWKRegistry.import_key(public)
            signed = jws.deserialize_compact(proof, key, algorithms=self.proof_algs)
            claims = json.loads(signed.payload)
        except (JoseError, ValueError, KeyError, TypeError):
            return False
        now = time.time()
        ath = base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=")
        if (key.thumbprint() != jkt or claims.get("htm") != method
                or str(claims.get("htu", "")).split("?")[0].split("#")[0] != url
                or not isinstance(claims.get("iat"), int)
                or not now - PROOF_MAX_AGE <= claims["iat"] <= now + PROOF_LEEWAY
                or claims.get("ath") != ath.decode() or not isinstance(claims.get("jti"), str)):
            return False
        with self.lock:
            self.seen = {j: t for j, t in self.seen.items() if t > now}
            if claims["jti"] in self.seen:
                return False
            self.seen[claims["jti"]] = now + PROOF_MAX_AGE + PROOF_LEEWAY
        return True


def create_app(issuer: str, *, audience: str, public_url: str, cooldown: float = 1.0) -> Flask:
    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()
    keys = GatewayKeys(meta["jwks_uri"], cooldown=cooldown)
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(BearerTokens(issuer, audience, keys))
    require_oauth.register_token_validator(DPoPTokens(
        issuer, audience, keys, public_url=public_url,
        proof_algs=meta["dpop_signing_alg_values_supported"]))

    app = Flask(__name__)

    @app.get("/records")
    @require_oauth("profile")
    def records():
        return jsonify(sub=current_token["sub"], cnf=current_token.get("cnf"))

    return app
