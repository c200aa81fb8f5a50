"""The JOSE side of the VNeID upstream: its signing keys, its ID tokens, and our client key.

* **Keys** (UpstreamKeys): the upstream's JWKS, fetched when first needed and kept for
  KEYS_TTL; a token whose ``kid`` the set lacks makes it fetch the set again at once (the
  upstream rotated its key) — at most once per REFETCH_INTERVAL, so a stream of tokens with
  made-up kids cannot make the gateway hammer the upstream. Symmetric keys in the set are
  ignored: a public JWKS holding an ``oct`` key is the classic algorithm-confusion trap.
* **ID tokens** (verify_id_token): signature by that set, with an asymmetric algorithm only
  (``none`` and every HMAC refused before any key is looked at), then ``iss``, ``aud``,
  ``azp``, ``exp``, ``iat`` within the clock skew, ``nbf`` and ``nonce`` (OIDC Core §3.1.3.7).
  Time is the caller's (the gateway's injected clock), never read here.
* **Our key** (load_private_key): a PEM or JWK file for private_key_jwt (RFC 7523).

Every refusal is an IdTokenError whose ``reason`` is a stable code (programs and events read
it; the token itself is never logged).
"""

from __future__ import annotations

import hmac
import json
import math
import threading
from collections.abc import Callable
from pathlib import Path

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, JWKRegistry, RSAKey

# Never "none", never HS*: the upstream's keys are public, and a public key is not a secret.
ALLOWED_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_CURVES = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
KEYS_TTL = 3600  # seconds a fetched JWKS is used before it is fetched again
REFETCH_INTERVAL = 60  # at most one fetch per this many seconds for an unknown kid
MAX_TOKEN_LENGTH = 16 * 1024


class IdTokenError(Exception):
    """The upstream's ID token was refused; ``reason`` is a stable code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load_private_key(path: str) -> tuple[str, ECKey | RSAKey]:
    """(alg, key) from a PEM or JWK file: RSA signs RS256, P-256 signs ES256. ValueError for
    anything else (a public key, another curve, an unreadable file's content)."""
    raw = Path(path).read_bytes()
    try:
        if raw.lstrip().startswith(b"{"):
            key = JWKRegistry.import_key(json.loads(raw))
        else:
            key = _import_pem(raw)
    except (ValueError, JoseError) as exc:
        raise ValueError(f"not a private key in PEM or JWK form ({type(exc).__name__})") from None
    if isinstance(key, RSAKey):
        alg = "RS256"
    elif isinstance(key, ECKey) and key.curve_name == "P-256":
        alg = "ES256"
    else:
        raise ValueError("an RSA or P-256 private key is needed")
    if not key.is_private:
        raise ValueError("the file holds a public key; private_key_jwt needs the private one")
    key.ensure_kid()  # a PEM has no kid: the RFC 7638 thumbprint names it in the assertion
    return alg, key


def _import_pem(raw: bytes):
    for importer in (RSAKey, ECKey):
        try:
            return importer.import_key(raw)
        except (ValueError, TypeError, JoseError):
            continue
    raise ValueError("no RSA or EC key in the file")


def _usable(jwk: dict, alg: str) -> bool:
    """A published key that may verify ``alg``: signing use, the right key type (and curve)."""
    if jwk.get("use") not in (None, "sig") or jwk.get("alg") not in (None, alg):
        return False
    if alg.startswith(("RS", "PS")):
        return jwk.get("kty") == "RSA"
    return jwk.get("kty") == "EC" and jwk.get("crv") == _CURVES[alg]


class UpstreamKeys:
    """The upstream's JWKS, cached per process. ``fetch`` returns the parsed JWKS (its errors
    pass through: the caller says the upstream is unreachable); ``now`` is Unix time."""

    def __init__(self, fetch: Callable[[], dict], now: Callable[[], int]) -> None:
        self._fetch = fetch
        self._now = now
        self._lock = threading.Lock()
        self._keys: list[dict] = []
        self._fetched_at: int | None = None
        self.fetches = 0  # how many times the set was fetched (tests and metrics read it)

    def _refresh(self) -> None:
        document = self._fetch()
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise IdTokenError("jwks_malformed")
        self._keys = [k for k in keys if isinstance(k, dict)]
        self._fetched_at = self._now()
        self.fetches += 1

    def key_for(self, alg: str, kid: str | None):
        """The key that may verify a token signed with ``alg`` under ``kid``; IdTokenError
        ``id_token_unknown_kid`` when even a fresh set has none."""
        with self._lock:
            now = self._now()
            if self._fetched_at is None or now - self._fetched_at >= KEYS_TTL:
                self._refresh()
            found = self._select(alg, kid)
            if found is None and now - self._fetched_at >= REFETCH_INTERVAL:
                self._refresh()
                found = self._select(alg, kid)
        if found is None:
            raise IdTokenError("id_token_unknown_kid")
        try:
            return JWKRegistry.import_key(found)
        except (ValueError, JoseError):
            raise IdTokenError("jwks_malformed") from None

    def _select(self, alg: str, kid: str | None) -> dict | None:
        usable = [k for k in self._keys if _usable(k, alg)]
        if kid is not None:
            usable = [k for k in usable if k.get("kid") == kid]
        # Without a kid only an unambiguous set will do: OIDC Core §10.1 lets an OP omit kid
        # when it publishes a single key.
        return usable[0] if len(usable) == 1 else None


def _header(token: str) -> dict:
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise IdTokenError("id_token_malformed")
    if token.count(".") != 2:  # five parts would be an encrypted token (JWE): not accepted
        raise IdTokenError("id_token_malformed")
    try:
        header = jws.extract_compact(token.encode()).headers()
    except (ValueError, JoseError):
        raise IdTokenError("id_token_malformed") from None
    if "crit" in header:
        raise IdTokenError("id_token_malformed")
    return header


def verify_id_token(token: str, *, keys: UpstreamKeys, issuer: str, client_id: str,
                    nonce: str, now: int, skew: int) -> dict:
    """The ID token's claims once every check passed; IdTokenError naming the first that
    failed."""
    header = _header(token)
    alg = header.get("alg")
    if alg not in ALLOWED_ALGS:
        raise IdTokenError("id_token_alg")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise IdTokenError("id_token_malformed")
    key = keys.key_for(alg, kid)
    try:
        claims = jwt.decode(token, key, algorithms=[alg]).claims
    except (ValueError, JoseError):
        raise IdTokenError("id_token_signature") from None
    _check_claims(claims, issuer=issuer, client_id=client_id, nonce=nonce, now=now, skew=skew)
    return claims


def _number(value) -> bool:
    # NumericDate: a finite number (NaN compares false with everything, so an exp of NaN or
    # infinity would never expire).
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _check_claims(claims: dict, *, issuer: str, client_id: str, nonce: str, now: int,
                  skew: int) -> None:
    if claims.get("iss") != issuer:
        raise IdTokenError("id_token_iss")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud
    if not isinstance(audiences, list) or client_id not in audiences:
        raise IdTokenError("id_token_aud")
    azp = claims.get("azp")
    # OIDC Core §3.1.3.7 (4, 5): several audiences need azp, and azp must be us.
    if (len(audiences) > 1 and azp is None) or (azp is not None and azp != client_id):
        raise IdTokenError("id_token_azp")
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not _number(exp) or exp <= now - skew:
        raise IdTokenError("id_token_expired")
    # Issued just now, at the token endpoint: an old iat is a replayed token, a future one a
    # forged or badly clocked issuer.
    if not _number(iat) or abs(iat - now) > skew:
        raise IdTokenError("id_token_iat")
    if nbf is not None and (not _number(nbf) or nbf > now + skew):
        raise IdTokenError("id_token_nbf")
    sent = claims.get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise IdTokenError("id_token_nonce")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255:
        raise IdTokenError("id_token_sub")
