"""Verify the gateway's tokens with PyJWT: access tokens (RFC 9068, DPoP-bound per RFC 9449),
ID tokens, back-channel logout tokens; ask introspection (RFC 7662) whether one is revoked."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import jwt
import requests

ALGORITHMS = ["ES256", "RS256"]  # what the gateway signs with; never "none", never HS*
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
PROOF_MAX_AGE, PROOF_LEEWAY = 60, 5  # seconds; RFC 9449 §11.1 leaves the window to us


class Refused(Exception):
    """A token or proof this service must not accept (the reason is for the log)."""


class Verifier:
    def __init__(self, issuer: str, *, audience: str, client_id: str, client_secret: str,
                 cooldown: float = 1.0):
        self.issuer, self.audience = issuer, audience
        self.auth = (client_id, client_secret)  # this service's own client (type `service`)
        self.meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).json()
        # Keys cached for 5 minutes; a kid not in the cache (a rotation) fetches them again,
        # at most once per `cooldown` seconds (PyJWT's default, 30 s, refuses new tokens for
        # up to 30 s after the gateway's `keys rotate`).
        self.keys = jwt.PyJWKClient(self.meta["jwks_uri"], lifespan=300,
                                    cooldown_duration=cooldown)
        self.proof_algs = self.meta["dpop_signing_alg_values_supported"]
        self._seen: dict[str, float] = {}  # DPoP jti → expiry (several processes: use Redis)
        self._lock = threading.Lock()

    def _decode(self, token: str, *, typ: tuple, audience: str, require: list) -> dict:
        try:
            key = self.keys.get_signing_key_from_jwt(token)
            data = jwt.decode_complete(token, key, algorithms=ALGORITHMS, audience=audience,
                                       issuer=self.issuer, options={"require": require})
        except jwt.PyJWTError as exc:
            raise Refused(f"{exc.__class__.__name__}: {exc}") from None
        if data["header"].get("typ") not in typ:  # tells access, ID and logout tokens apart
            raise Refused("wrong typ")
        return data["payload"]

    def access_token(self, token: str, *, scheme: str = "Bearer", proof: str | None = None,
                     method: str = "GET", url: str = "") -> dict:
        """The claims of an access token presented to `method url`; Refused otherwise."""
        claims = self._decode(token, typ=("at+jwt", "application/at+jwt"),
                              audience=self.audience,
                              require=["iss", "sub", "aud", "exp", "iat", "jti", "client_id"])
        jkt = (claims.get("cnf") or {}).get("jkt")
        if scheme.lower() == "dpop" and jkt:
            self._check_proof(proof, jkt=jkt, token=token, method=method, url=url)
        elif scheme.lower() != "bearer" or jkt:  # RFC 9449 §7.2: bound tokens need DPoP
            raise Refused("DPoP-bound token without a DPoP proof" if jkt else "bad scheme")
        return claims

    def _check_proof(self, proof, *, jkt, token, method, url) -> None:
        """RFC 9449 §4.3: one proof, by the bound key, for this request, used once."""
        if not proof:
            raise Refused("no DPoP proof")
        try:
            header = jwt.get_unverified_header(proof)
            if header.get("typ") != "dpop+jwt" or header.get("alg") not in self.proof_algs:
                raise Refused("not a DPoP proof")
            public = header.get("jwk")
            if not isinstance(public, dict) or "d" in public:  # a public key, never a private
                raise Refused("no public jwk")
            key = jwt.PyJWK(public, algorithm=header["alg"])
            claims = jwt.decode(proof, key, algorithms=[header["alg"]],
                                options={"require": ["jti", "htm", "htu", "iat"]})
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Refused(f"bad DPoP proof: {exc}") from None
        now = time.time()
        if thumbprint(public) != jkt:
            raise Refused("DPoP proof by another key")
        if claims["htm"] != method or _htu(claims["htu"]) != _htu(url):
            raise Refused("DPoP proof for another request")
        if not now - PROOF_MAX_AGE <= claims["iat"] <= now + PROOF_LEEWAY:
            raise Refused("DPoP proof too old or from the future")
        if claims.get("ath") != _b64(hashlib.sha256(token.encode()).digest()):
            raise Refused("DPoP proof for another token")
        with self._lock:
            self._seen = {j: t for j, t in self._seen.items() if t > now}
            if claims["jti"] in self._seen:
                raise Refused("DPoP proof replayed")
            self._seen[claims["jti"]] = now + PROOF_MAX_AGE + PROOF_LEEWAY

    def id_token(self, token: str, *, client_id: str, nonce: str) -> dict:
        claims = self._decode(token, typ=(None, "JWT"), audience=client_id,
                              require=["iss", "sub", "aud", "exp", "iat"])
        if claims.get("nonce") != nonce:
            raise Refused("nonce")
        return claims

    def logout_token(self, token: str, *, client_id: str) -> dict:
        """OIDC Back-Channel Logout 1.0 §2.6: then end the sessions with this sid (or sub)."""
        claims = self._decode(token, typ=("logout+jwt",), audience=client_id,
                              require=["iss", "aud", "iat", "exp", "jti", "events"])
        if not isinstance(claims["events"].get(LOGOUT_EVENT), dict):
            raise Refused("not a logout event")
        if "nonce" in claims or not (claims.get("sid") or claims.get("sub")):
            raise Refused("nonce present, or neither sid nor sub")
        return claims

    def introspect(self, token: str) -> dict:
        """Ask the gateway whether a token is still good: {"active": false} once the person
        signed out or the token was revoked (a JWT alone cannot say so before its exp)."""
        response = requests.post(self.meta["introspection_endpoint"], data={
            "token": token, "token_type_hint": "access_token"}, auth=self.auth, timeout=5)
        response.raise_for_status()
        return response.json()


def thumbprint(jwk: dict) -> str:
    """RFC 7638: SHA-256 of the key's required members, sorted, no whitespace."""
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"),
               "OKP": ("crv", "kty", "x")}[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def _htu(url: str) -> str:
    """RFC 9449 §4.3: the URI without query and fragment (scheme and host case-free)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
