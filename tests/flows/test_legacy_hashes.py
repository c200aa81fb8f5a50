"""Accounts imported with the old system's hashes sign in and are moved to Argon2id."""

import base64
import hashlib

import bcrypt
import pytest

from gateway.crypto import password_hashing
from gateway.crypto.password_hashing import argon2_parameters
from gateway.errors import AuthenticationError
from gateway.extensions import db
from gateway.methods.password import check_password
from tests.helpers import new_account

SECRET = "Mật khẩu cũ 2019"


def _legacy(scheme: str, password: str) -> str:
    raw = password.encode()
    if scheme == "bcrypt":
        return "bcrypt$" + bcrypt.hashpw(raw, bcrypt.gensalt(rounds=4)).decode()
    if scheme == "pbkdf2_sha256":
        digest = hashlib.pbkdf2_hmac("sha256", raw, b"muoi", 1000)
        return f"pbkdf2_sha256$1000$muoi${base64.b64encode(digest).decode()}"
    return f"{scheme}$muoi${hashlib.new(scheme, b'muoi' + raw).hexdigest()}"


@pytest.mark.parametrize("scheme", ["bcrypt", "pbkdf2_sha256", "sha1", "md5"])
def test_legacy_hash_verifies_then_is_rehashed_to_argon2id(app, scheme):
    account = new_account()
    account.password_hash = _legacy(scheme, SECRET)
    db.session.commit()
    with pytest.raises(AuthenticationError):
        check_password("0123456789", "wrong password", address="127.0.0.5")
    assert account.password_hash.startswith(scheme + "$")
    check_password("0123456789", SECRET, address="127.0.0.5")
    db.session.refresh(account)
    # the gateway's current profile (the suite's small one: tests/helpers/hashing.py)
    assert argon2_parameters(account.password_hash) == password_hashing.ARGON2_PARAMS
    check_password("0123456789", SECRET, address="127.0.0.5")  # and the new hash works
