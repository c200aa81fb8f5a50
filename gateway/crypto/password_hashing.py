"""Password hashing for VssID accounts.

New hashes are Argon2id (RFC 9106) with OWASP's minimum profile, m=19456 KiB, t=2, p=1:
memory-hard enough that a leaked table is expensive to crack on GPUs, cheap enough
(~40 ms) that login stays responsive. They are stored as the standard PHC string so other
tools (libsodium, argon2-cffi, Django) can read them:

    $argon2id$v=19$m=19456,t=2,p=1$<salt, base64 without padding>$<hash, base64 without padding>

Accounts imported from the old systems keep their hash until the next successful login, when
the caller re-hashes (``needs_rehash``). Their stored value is tagged by prefix:

    bcrypt$<the $2a$/$2b$/$2y$ bcrypt string>
    pbkdf2_sha256$<iterations>$<salt>$<base64 of PBKDF2-HMAC-SHA256, 32 bytes> (Django's format)
    sha1$<salt>$<hex of sha1(salt + password)>
    md5$<salt>$<hex of md5(salt + password)>

Salts and passwords are UTF-8. Every comparison is constant time. Stored values that are
malformed, or whose cost parameters are absurd (a tampered row must not stall a worker),
verify as failures instead of raising.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import bcrypt
from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

__all__ = [
    "ARGON2_PARAMS",
    "MAX_PASSWORD_LENGTH",
    "Argon2Params",
    "Verification",
    "argon2_parameters",
    "dummy_verify",
    "hash_password",
    "normalize_password",
    "verify_password",
]


@dataclass(frozen=True, slots=True)
class Argon2Params:
    memory_cost: int  # KiB
    time_cost: int  # iterations
    parallelism: int  # lanes


ARGON2_PARAMS = Argon2Params(memory_cost=19456, time_cost=2, parallelism=1)
SALT_BYTES = 16
HASH_BYTES = 32
# Hashing cost grows with input length; a cap keeps a single request from buying CPU time.
# Not the length a password may be set to (policies.password_rules: 8 to 128), but what is
# hashed or verified at all: imported accounts keep older, possibly longer, passwords.
MAX_PASSWORD_LENGTH = 1024
# Ceilings for parameters read back from storage: generous for any legitimate hash, but they
# stop a corrupted or malicious row from asking for gigabytes of memory or hours of CPU.
_MAX_ARGON2 = Argon2Params(memory_cost=262_144, time_cost=16, parallelism=8)
_MAX_BCRYPT_COST = 15
_MAX_PBKDF2_ITERATIONS = 5_000_000

_PHC_RE = re.compile(
    r"\$argon2id\$v=19\$m=([0-9]{1,7}),t=([0-9]{1,3}),p=([0-9]{1,3})"
    r"\$([A-Za-z0-9+/]{11,})\$([A-Za-z0-9+/]{11,})",
    re.ASCII,
)
_BCRYPT_RE = re.compile(rb"\$2[abxy]\$([0-9]{2})\$[./A-Za-z0-9]{53}", re.ASCII)


@dataclass(frozen=True, slots=True)
class Verification:
    ok: bool
    needs_rehash: bool

    def __bool__(self) -> bool:
        # A dataclass instance is always truthy; without this, ``if verify_password(...)``
        # would let every password in.
        return self.ok


_FAIL = Verification(ok=False, needs_rehash=False)


def normalize_password(password: str) -> str:
    """NFC, because Vietnamese keyboards (Telex, VNI, mobile IMEs) may emit either precomposed
    or combining diacritics for the same visible password, and the user must not be locked
    out for switching devices."""
    return unicodedata.normalize("NFC", password)


def _encode(password: str) -> bytes:
    # surrogatepass: a lone surrogate must give a failed login, not a 500.
    return password.encode("utf-8", "surrogatepass")


def hash_password(password: str) -> str:
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"password longer than {MAX_PASSWORD_LENGTH} characters")
    kdf = Argon2id(
        salt=secrets.token_bytes(SALT_BYTES),
        length=HASH_BYTES,
        iterations=ARGON2_PARAMS.time_cost,
        lanes=ARGON2_PARAMS.parallelism,
        memory_cost=ARGON2_PARAMS.memory_cost,
    )
    return kdf.derive_phc_encoded(_encode(normalize_password(password)))


def argon2_parameters(stored: str) -> Argon2Params:
    """Parse the cost parameters of an Argon2id PHC string; ValueError if it is not one we
    would agree to verify (wrong variant or version, malformed, or beyond the ceilings)."""
    match = _PHC_RE.fullmatch(stored)
    if match is None:
        raise ValueError("not an Argon2id v19 PHC string")
    params = Argon2Params(*(int(group) for group in match.group(1, 2, 3)))
    if not (
        1 <= params.parallelism <= _MAX_ARGON2.parallelism
        and 8 * params.parallelism <= params.memory_cost <= _MAX_ARGON2.memory_cost
        and 1 <= params.time_cost <= _MAX_ARGON2.time_cost
    ):
        raise ValueError("Argon2id parameters out of accepted range")
    return params


@functools.cache
def _dummy_hash() -> str:
    # Lazy so importing the module costs nothing; random so no password ever matches it.
    return hash_password(secrets.token_urlsafe(32))


def dummy_verify(password: str) -> None:
    """Spend one Argon2id verification, so a login for an unknown account (or one with an
    unusable hash) takes as long as a real one and does not reveal which accounts exist."""
    candidate = _encode(normalize_password(password[:MAX_PASSWORD_LENGTH]))
    with contextlib.suppress(InvalidKey):
        Argon2id.verify_phc_encoded(candidate, _dummy_hash())


def _verify_argon2(stored: str, password: str) -> Verification:
    try:
        params = argon2_parameters(stored)
    except ValueError:
        dummy_verify(password)
        return _FAIL
    try:
        Argon2id.verify_phc_encoded(_encode(normalize_password(password)), stored)
    except (InvalidKey, ValueError, OverflowError):
        return _FAIL
    hash_bytes = len(stored.rsplit("$", 1)[1]) * 3 // 4
    return Verification(ok=True, needs_rehash=params != ARGON2_PARAMS or hash_bytes != HASH_BYTES)


def _check_bcrypt(body: str, password: bytes) -> bool:
    stored = body.encode("utf-8", "surrogatepass")
    match = _BCRYPT_RE.fullmatch(stored)
    if match is None or int(match.group(1)) > _MAX_BCRYPT_COST:
        raise ValueError("malformed bcrypt hash")
    # The old systems' bcrypt silently ignored bytes past 72; bcrypt>=5 refuses them instead.
    return bcrypt.checkpw(password[:72], stored)


def _check_pbkdf2_sha256(body: str, password: bytes) -> bool:
    iterations_text, rest = body.split("$", 1)
    salt, encoded = rest.rsplit("$", 1)
    if not (iterations_text.isascii() and iterations_text.isdigit()):
        raise ValueError("malformed iteration count")
    iterations = int(iterations_text)
    if not 1 <= iterations <= _MAX_PBKDF2_ITERATIONS:
        raise ValueError("iteration count out of accepted range")
    expected = base64.b64decode(encoded, validate=True)
    actual = hashlib.pbkdf2_hmac("sha256", password, _encode(salt), iterations, dklen=32)
    return hmac.compare_digest(actual, expected)


def _salted_hex_checker(algorithm: str) -> Callable[[str, bytes], bool]:
    def check(body: str, password: bytes) -> bool:
        salt, expected = body.rsplit("$", 1)
        digest = hashlib.new(algorithm, _encode(salt) + password, usedforsecurity=False)
        # bytes, not str: compare_digest rejects non-ASCII str, and a stored value may have any.
        return hmac.compare_digest(digest.hexdigest().encode(), _encode(expected.lower()))

    return check


_LEGACY: dict[str, Callable[[str, bytes], bool]] = {
    "bcrypt": _check_bcrypt,
    "pbkdf2_sha256": _check_pbkdf2_sha256,
    "sha1": _salted_hex_checker("sha1"),
    "md5": _salted_hex_checker("md5"),
}


def _verify_legacy(stored: str, password: str) -> bool:
    tag, separator, body = stored.partition("$")
    check = _LEGACY.get(tag) if separator else None
    if check is None:
        return False
    # The old systems hashed whatever code points the user's keyboard produced, so the raw
    # form comes first; the NFC form covers users who now type on a different device.
    candidates = dict.fromkeys((password, normalize_password(password)))
    try:
        return any(check(body, _encode(candidate)) for candidate in candidates)
    except ValueError:  # split/unpack failures, bad base64, out-of-range costs
        return False


def verify_password(stored: str, password: str) -> Verification:
    """Check ``password`` against any supported stored format; never raises on bad input.

    Legacy and unusable hashes also pay for one dummy Argon2id verification so timing
    reveals neither unknown accounts nor which ones still carry a cheap legacy hash."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return _FAIL
    if not isinstance(stored, str):
        dummy_verify(password)
        return _FAIL
    if stored.startswith("$argon2"):
        return _verify_argon2(stored, password)
    ok = _verify_legacy(stored, password)
    dummy_verify(password)
    return Verification(ok=ok, needs_rehash=ok)
