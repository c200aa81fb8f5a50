"""RFC 9449 DPoP: verify proofs of possession (server) and make them (clients, tests).

Why: a DPoP-bound token is worthless to whoever steals it, because every request must carry a
fresh proof signed by the key the token is bound to. The checks follow RFC 9449 §4.3, with two
deliberate choices. Every failure carries a stable `reason`, so logs and the first-party app
can tell clock skew from replay without parsing English. The replay check runs last, so a proof
that fails anything else never burns its jti: otherwise anyone who saw a jti could poison it.
"""

import base64
import copy
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from authlib.oauth2.rfc6749.errors import OAuth2Error
from joserfc import jwk, jws
from joserfc.errors import JoseError

from gateway.oidc.errors import ReasonMixin

#: Asymmetric only (RFC 9449 §4.2): a MAC key would have to be shared, proving nothing.
ALGS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")
#: alg -> (kty, curves): joserfc checks this too, but a named reason beats "bad signature".
_ALG_KEYS = {"ES256": ("EC", {"P-256"}), "ES384": ("EC", {"P-384"}), "RS256": ("RSA", None),
             "PS256": ("RSA", None), "EdDSA": ("OKP", {"Ed25519", "Ed448"})}
#: RFC 7638 §3.2 members: the key is rebuilt from these alone, so "use", "key_ops" or "alg"
#: in a client's jwk can neither trip joserfc nor change what the token is bound to.
_PUBLIC_MEMBERS = {"EC": ("crv", "x", "y"), "RSA": ("e", "n"), "OKP": ("crv", "x")}
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_PROOF_LENGTH = 4096
MAX_JTI_LENGTH = 256
MIN_RSA_BITS = 2048
#: One compact JWS, nothing else: "," or a space means several proofs (RFC 9449 §4.3). The
#: signature may be empty only so that alg "none" gets its own reason, bad_alg.
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_BAD_PCT = re.compile(r"%(?![0-9A-Fa-f]{2})")
#: RFC 3986 §6.2.2.2: percent-encoded unreserved characters are decoded, the rest upper-cased.
_UNRESERVED_PCT = {f"%{ord(c):02X}": c for c in "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "abcdefghijklmnopqrstuvwxyz"}
_QUOTED_OK = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")

#: reason -> error_description (RFC 6749 §5.2: ASCII, no quotes or backslashes).
_DESCRIPTIONS = {
    "malformed": "not exactly one compact JWS", "bad_typ": "typ is not dpop+jwt",
    "bad_alg": "alg is not an accepted asymmetric one", "bad_jwk": "jwk is no usable public key",
    "alg_key_mismatch": "alg does not fit jwk", "private_key_in_jwk": "jwk holds a private key",
    "bad_signature": "signature does not verify", "missing_jti": "jti missing",
    "bad_jti": "jti is no string of at most 256 characters", "bad_iat": "iat is no number",
    "htm_mismatch": "htm is not the request method", "htu_mismatch": "htu is not the request URL",
    "iat_out_of_window": "iat too old or in the future", "ath_missing": "ath missing",
    "ath_mismatch": "ath is not the hash of the access token",
    "nonce_mismatch": "nonce missing or not current", "replayed": "proof already used",
}


class DPoPProofError(ReasonMixin, OAuth2Error):
    """RFC 9449 §5/§7.1 `invalid_dpop_proof`; `reason` says which check failed."""

    error = "invalid_dpop_proof"
    status_code = 400

    def __init__(self, reason: str | None = None, description: str | None = None):
        default = f"DPoP proof: {_DESCRIPTIONS[reason]}." if reason in _DESCRIPTIONS else None
        super().__init__(description=description or default)
        self.reason = reason


class UseDPoPNonceError(DPoPProofError):
    """RFC 9449 §8/§9: a missing or stale nonce is `use_dpop_nonce`, not `invalid_dpop_proof`,
    so the client knows to retry with the nonce from the DPoP-Nonce header (which the caller,
    who owns the nonce, adds). Still a DPoPProofError, with reason "nonce_mismatch"."""

    error = "use_dpop_nonce"


@dataclass(frozen=True)
class DPoPProof:
    jkt: str  # RFC 7638 SHA-256 thumbprint, base64url: what a token's cnf.jkt binds to
    jwk: dict  # the public key, RFC 7638 members only
    jti: str
    iat: int
    htm: str
    htu: str  # normalised, as compared


class _ProofRegistry(jws.JWSRegistry):
    """joserfc's registry, fitted to proofs: a 2048-bit RSA jwk alone makes a ~900-byte header
    (joserfc caps headers at 512), and joserfc warns on every "EdDSA" use (RFC 9864 deprecates
    the name), yet RFC 9449 clients send exactly that; the length cap is our 4096 instead."""

    max_header_length = MAX_PROOF_LENGTH
    algorithms = dict(jws.JWSRegistry.algorithms)
    algorithms["EdDSA"] = copy.copy(algorithms["EdDSA"])
    algorithms["EdDSA"].security_warning = None


def _registry(alg: str) -> _ProofRegistry:
    # RFC 7515 §4: unknown header parameters are ignored (joserfc still enforces "crit").
    return _ProofRegistry(algorithms=[alg], strict_check_header=False)


def access_token_hash(access_token: str) -> str:
    """The `ath` claim: base64url(SHA-256(ASCII token)), unpadded (RFC 9449 §4.2)."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk_dict: dict) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url unpadded: the `jkt` that tokens are bound to."""
    return jwk.import_key(jwk_dict).thumbprint()


def normalize_htu(url: str) -> str:
    """The URL as RFC 9449 §4.3 compares htu: no query, fragment or userinfo; scheme and host
    lowercased, default port dropped, empty path "/", percent-encodings normalised (RFC 3986
    §6.2.2-6.2.3). Dot segments stay: the router does not resolve them either. ValueError for
    all but absolute http(s) URLs, and for whitespace or controls, which urlsplit would drop."""
    if not isinstance(url, str) or any(c <= " " or c == "\x7f" for c in url):
        raise ValueError("not a URL")
    parts = urlsplit(url)
    scheme, host, port = parts.scheme.lower(), parts.hostname, parts.port
    if scheme not in _DEFAULT_PORTS or not host or _BAD_PCT.search(parts.path):
        raise ValueError("htu must be an absolute http(s) URL")
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(parts.path, safe="/%:@!$&'()*+,;=")  # IRI -> URI: UTF-8, percent-encoded
    path = _PCT.sub(lambda m: _UNRESERVED_PCT.get(m[0].upper(), m[0].upper()), path)
    return f"{scheme}://{netloc}{path or '/'}"


def www_authenticate(error: str | None = None, description: str | None = None, algs=ALGS) -> str:
    """The resource server's challenge (RFC 9449 §7.1): `DPoP algs="...", error="..."`.
    Characters RFC 6750 §3 forbids in these quoted strings (quotes, backslash, CR/LF, non-ASCII)
    are dropped, so a value can never break out of the header."""
    pairs = (("algs", " ".join(algs)), ("error", error), ("error_description", description))
    return "DPoP " + ", ".join(f'{k}="{_QUOTED_OK.sub("", v)}"' for k, v in pairs if v)


def _unb64(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _json_segment(segment: str) -> dict:
    try:
        value = json.loads(_unb64(segment))
    except (ValueError, RecursionError):  # bad base64, UTF-8 or JSON; absurd nesting
        value = None
    if not isinstance(value, dict):
        raise DPoPProofError("malformed")
    return value


def _public_key(header: dict):
    """Header checks of RFC 9449 §4.3 (typ, alg, public jwk fitting alg), then the key."""
    if header.get("typ") != "dpop+jwt":
        raise DPoPProofError("bad_typ")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in ALGS:
        raise DPoPProofError("bad_alg")
    given = header.get("jwk")
    if not isinstance(given, dict):
        raise DPoPProofError("bad_jwk")
    if given.get("kty") == "oct" or _PRIVATE_MEMBERS & given.keys():
        raise DPoPProofError("private_key_in_jwk")
    kty, curves = _ALG_KEYS[alg]
    members = _PUBLIC_MEMBERS.get(given["kty"]) if isinstance(given.get("kty"), str) else None
    if members is None or not all(isinstance(given.get(m), str) for m in members):
        raise DPoPProofError("bad_jwk")
    if given["kty"] != kty or (curves is not None and given["crv"] not in curves):
        raise DPoPProofError("alg_key_mismatch")
    public = {"kty": kty, **{m: given[m] for m in members}}
    try:  # types of other registered members, "crit"; joserfc trips on e.g. "crit": null
        _registry(alg).check_header(header)
    except (JoseError, TypeError, ValueError):
        raise DPoPProofError("malformed") from None
    try:  # RSA size first: joserfc would only warn about a short modulus
        if kty == "RSA" and int.from_bytes(_unb64(public["n"])).bit_length() < MIN_RSA_BITS:
            raise ValueError("RSA key too short")
        return alg, jwk.import_key(public), public
    except (JoseError, ValueError, TypeError, KeyError):  # joserfc/cryptography refusals
        raise DPoPProofError("bad_jwk") from None


def verify_proof(proof: str, *, method: str, url: str, access_token: str | None = None,
                 now: int, replay_check: Callable[[str, int], bool], max_age: int = 60,
                 leeway: int = 5, nonce: str | None = None) -> DPoPProof:
    """Check one DPoP header value against its request (RFC 9449 §4.3). `replay_check(key,
    ttl)` must be True only the first time: the store's atomic add()."""
    htu = normalize_htu(url)  # the server's own URL: a ValueError here is the caller's bug
    if not (isinstance(proof, str) and len(proof) <= MAX_PROOF_LENGTH
            and _COMPACT.fullmatch(proof)):
        raise DPoPProofError("malformed")
    header, claims = (_json_segment(segment) for segment in proof.split(".")[:2])
    alg, key, public = _public_key(header)
    try:
        jws.deserialize_compact(proof, key, registry=_registry(alg))
    except JoseError:
        raise DPoPProofError("bad_signature") from None
    jti = claims.get("jti")
    if jti in (None, ""):
        raise DPoPProofError("missing_jti")
    if not isinstance(jti, str) or len(jti) > MAX_JTI_LENGTH:
        raise DPoPProofError("bad_jti")
    if not isinstance(claims.get("htm"), str) or claims["htm"] != method:
        raise DPoPProofError("htm_mismatch")
    try:
        if normalize_htu(claims.get("htu")) != htu:
            raise DPoPProofError("htu_mismatch")
    except ValueError:
        raise DPoPProofError("htu_mismatch") from None
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float):
        raise DPoPProofError("bad_iat")
    if not now - max_age - leeway <= iat <= now + leeway:  # NaN and ±inf fail here too
        raise DPoPProofError("iat_out_of_window")
    if access_token is not None and "ath" not in claims:
        raise DPoPProofError("ath_missing")
    if access_token is not None and claims["ath"] != access_token_hash(access_token):
        raise DPoPProofError("ath_mismatch")
    if nonce is not None and claims.get("nonce") != nonce:
        raise UseDPoPNonceError("nonce_mismatch")
    jkt = key.thumbprint()
    # Accepted while now ∈ [iat - leeway, iat + max_age + leeway]: at most this long from now.
    if not replay_check(f"{jkt}:{jti}", max_age + 2 * leeway):
        raise DPoPProofError("replayed")
    return DPoPProof(jkt=jkt, jwk=public, jti=jti, iat=int(iat), htm=method, htu=htu)


def create_proof(private_key, *, method: str, url: str, access_token: str | None = None,
                 nonce: str | None = None, iat: int | None = None, jti: str | None = None,
                 alg: str = "ES256") -> str:
    """A DPoP proof (RFC 9449 §4.2) for a client holding `private_key` (a joserfc key); `iat`
    defaults to the client's own wall clock (a device's), not the gateway's injected clock."""
    claims = {"jti": secrets.token_urlsafe(24) if jti is None else jti, "htm": method,
              "htu": normalize_htu(url), "iat": int(time.time()) if iat is None else iat}
    if access_token is not None:
        claims["ath"] = access_token_hash(access_token)
    if nonce is not None:
        claims["nonce"] = nonce
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": private_key.as_dict(private=False)}
    payload = json.dumps(claims, separators=(",", ":"))
    return jws.serialize_compact(header, payload, private_key, registry=_registry(alg))
