import base64
import hashlib
import os
import re
import unicodedata

import bcrypt
import pytest
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.crypto import password_hashing as ph
from gateway.crypto.password_hashing import (
    MAX_PASSWORD_LENGTH,
    Argon2Params,
    Verification,
    argon2_parameters,
    dummy_verify,
    hash_password,
    normalize_password,
    verify_password,
)
from tests.helpers import hashing

VIETNAMESE = "Mật khẩu Việt Nam"
NFC = unicodedata.normalize("NFC", VIETNAMESE)
NFD = unicodedata.normalize("NFD", VIETNAMESE)
PHC_RE = re.compile(
    r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)"
)

hashing_settings = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def b64decode_unpadded(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def argon2_hash(password: str, *, t: int = 2, m: int = 19456, p: int = 1, length: int = 32) -> str:
    kdf = Argon2id(salt=os.urandom(16), length=length, iterations=t, lanes=p, memory_cost=m)
    return kdf.derive_phc_encoded(unicodedata.normalize("NFC", password).encode())


def legacy_bcrypt(password: str) -> str:
    return "bcrypt$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


def legacy_pbkdf2(password: str, iterations: int = 1000) -> str:
    salt = "s4ltyS4lt"
    raw = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"pbkdf2_sha256${iterations}${salt}${base64.b64encode(raw).decode()}"


def legacy_sha1(password: str) -> str:
    salt = "a1b2c3"
    return f"sha1${salt}${hashlib.sha1((salt + password).encode()).hexdigest()}"  # noqa: S324


def legacy_md5(password: str) -> str:
    salt = "x9y8"
    return f"md5${salt}${hashlib.md5((salt + password).encode()).hexdigest()}"  # noqa: S324


LEGACY_BUILDERS = [legacy_bcrypt, legacy_pbkdf2, legacy_sha1, legacy_md5]


@pytest.fixture(scope="module", autouse=True)
def shipped_profile():
    """The rest of the suite hashes with a small profile (tests/helpers/hashing.py); this
    module tests the profile the gateway ships."""
    hashing.install(hashing.SHIPPED)
    yield
    hashing.install(hashing.SUITE)


@pytest.fixture(scope="module")
def stored_nfc(shipped_profile) -> str:
    return hash_password(NFC)


def test_round_trip(stored_nfc: str) -> None:
    assert verify_password(stored_nfc, NFC) == Verification(ok=True, needs_rehash=False)
    assert verify_password(stored_nfc, NFC + "x") == Verification(ok=False, needs_rehash=False)


@hashing_settings
@given(st.text(max_size=64))
def test_round_trip_any_text(password: str) -> None:
    assert verify_password(hash_password(password), password).ok


def test_nfc_and_nfd_give_the_same_result(stored_nfc: str) -> None:
    assert NFC != NFD
    assert normalize_password(NFD) == NFC
    assert verify_password(stored_nfc, NFD) == Verification(ok=True, needs_rehash=False)
    assert verify_password(hash_password(NFD), NFC).ok


def test_stored_format_and_parameters(stored_nfc: str) -> None:
    match = PHC_RE.fullmatch(stored_nfc)
    assert match is not None, stored_nfc
    assert match.group(1, 2, 3) == ("19456", "2", "1")
    assert not stored_nfc.endswith("=")  # PHC base64 is unpadded
    assert len(b64decode_unpadded(match.group(4))) == 16
    assert len(b64decode_unpadded(match.group(5))) == 32
    assert argon2_parameters(stored_nfc) == ph.ARGON2_PARAMS == hashing.SHIPPED
    assert hashing.SHIPPED == Argon2Params(memory_cost=19456, time_cost=2, parallelism=1)


def test_hashes_are_salted() -> None:
    assert hash_password(NFC) != hash_password(NFC)


@pytest.mark.parametrize("kwargs", [{"t": 1}, {"m": 8192}, {"t": 3, "m": 12288}, {"length": 16}])
def test_other_argon2_parameters_need_rehash(kwargs: dict[str, int]) -> None:
    stored = argon2_hash(NFC, **kwargs)
    assert verify_password(stored, NFC) == Verification(ok=True, needs_rehash=True)
    assert verify_password(stored, "wrong") == Verification(ok=False, needs_rehash=False)


@pytest.mark.parametrize("build", LEGACY_BUILDERS)
def test_legacy_schemes(build) -> None:
    stored = build(NFC)
    assert verify_password(stored, NFC) == Verification(ok=True, needs_rehash=True)
    assert verify_password(stored, NFC + "!") == Verification(ok=False, needs_rehash=False)
    assert verify_password(stored, "") == Verification(ok=False, needs_rehash=False)


@pytest.mark.parametrize("build", LEGACY_BUILDERS)
def test_legacy_schemes_accept_raw_and_nfc_forms(build) -> None:
    # Stored over decomposed input: the user's raw (NFD) typing must match.
    assert verify_password(build(NFD), NFD).ok
    # Stored over precomposed input, user now types decomposed: the NFC retry matches.
    assert verify_password(build(NFC), NFD).ok


def test_legacy_uppercase_hex_and_dollar_in_salt() -> None:
    salt = "we$ird"
    digest = hashlib.sha1((salt + "pw").encode()).hexdigest().upper()  # noqa: S324
    assert verify_password(f"sha1${salt}${digest}", "pw").ok


def test_bcrypt_legacy_truncates_at_72_bytes() -> None:
    long_password = "p" * 100
    stored = "bcrypt$" + bcrypt.hashpw(b"p" * 72, bcrypt.gensalt(rounds=4)).decode()
    assert verify_password(stored, long_password) == Verification(ok=True, needs_rehash=True)


def test_verification_truthiness() -> None:
    assert not Verification(ok=False, needs_rehash=False)
    assert Verification(ok=True, needs_rehash=False)
    with pytest.raises(AttributeError):
        Verification(ok=True, needs_rehash=False).ok = False  # type: ignore[misc]


MALFORMED = [
    "",
    "$",
    "plaintext",
    "$argon2id$",
    "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB",
    "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2FsdHNhbHRzYWx0c2FsdA",
    "$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2FsdHNhbHRzYWx0c2FsdA",
    "$argon2id$v=19$m=4194304,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2FsdHNhbHRzYWx0c2FsdA",
    "$argon2id$v=19$m=19456,t=999,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2FsdHNhbHRzYWx0c2FsdA",
    "$argon2id$v=19$m=19456,t=٢,p=1$c2FsdHNhbHRzYWx0c2FsdA$c2FsdHNhbHRzYWx0c2FsdA",
    "bcrypt$",
    "bcrypt$$2b$31$" + "a" * 53,
    "bcrypt$$2b$04$short",
    "pbkdf2_sha256$",
    "pbkdf2_sha256$abc$salt$AAAA",
    "pbkdf2_sha256$-5$salt$AAAA",
    "pbkdf2_sha256$999999999999$salt$AAAA",
    "pbkdf2_sha256$1000$salt$not base64!",
    "sha1$nosalt",
    "md5$",
    "md5$salt$é",
    "unknown$salt$hash",
    "\x00\udcff",
]


@pytest.mark.parametrize("stored", MALFORMED)
def test_malformed_stored_values_fail(stored: str) -> None:
    assert verify_password(stored, "pw") == Verification(ok=False, needs_rehash=False)


def test_non_string_stored_value_fails() -> None:
    assert verify_password(None, "pw") == Verification(ok=False, needs_rehash=False)  # type: ignore[arg-type]


STORED_TEXT = st.one_of(
    st.text(),
    st.builds(
        str.__add__,
        st.sampled_from(
            [
                "bcrypt$",
                "bcrypt$$2b$04$",
                "pbkdf2_sha256$",
                "pbkdf2_sha256$1000$",
                "sha1$",
                "md5$",
                "$argon2id$",
                "$argon2id$v=19$m=19456,t=2,p=1$",
            ]
        ),
        st.text(),
    ),
)


@hashing_settings
@given(stored=STORED_TEXT, password=st.text(max_size=32))
def test_arbitrary_stored_values_never_raise(stored: str, password: str) -> None:
    result = verify_password(stored, password)
    assert isinstance(result, Verification)
    assert not result.needs_rehash or result.ok


def test_malformed_stored_value_spends_a_dummy_verification(monkeypatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(ph, "dummy_verify", calls.append)
    assert not verify_password("garbage", "pw").ok
    assert not verify_password("$argon2id$nope", "pw").ok
    assert calls == ["pw", "pw"]


def test_dummy_verify_returns_none() -> None:
    assert dummy_verify(NFC) is None
    assert dummy_verify("x" * (MAX_PASSWORD_LENGTH * 10)) is None


def test_over_long_password_refused_without_hashing(stored_nfc: str, monkeypatch) -> None:
    too_long = "a" * (MAX_PASSWORD_LENGTH + 1)
    with pytest.raises(ValueError):
        hash_password(too_long)

    class Forbidden:
        def __getattr__(self, name: str):
            raise AssertionError("Argon2 must not run for over-long passwords")

    monkeypatch.setattr(ph, "Argon2id", Forbidden())
    assert verify_password(stored_nfc, too_long) == Verification(ok=False, needs_rehash=False)
    assert verify_password(legacy_md5(too_long), too_long).ok is False


def test_max_length_password_accepted() -> None:
    password = "b" * MAX_PASSWORD_LENGTH
    assert verify_password(hash_password(password), password).ok
