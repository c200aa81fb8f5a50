"""Signing in with the social-insurance number and a password.

One answer for an unknown account and a wrong password, and about the same time: an unknown
account still pays for one Argon2id verification. Hashes are upgraded (legacy scheme or old
parameters) right after a correct password.
"""

from __future__ import annotations

from gateway.extensions import db
from gateway.methods.password_hashing import dummy_verify, hash_password, verify_password
from gateway.models import Account
from gateway.services.accounts import find_by_login
from gateway.services.events import emit


def check_password(username: str, password: str) -> Account | None:
    if not isinstance(username, str) or not isinstance(password, str):
        dummy_verify("")
        return None
    account = find_by_login(username)
    if account is None:
        dummy_verify(password)
        return None
    result = verify_password(account.password_hash, password)
    if not result.ok or not account.is_active:
        emit("login.failed", account_id=account.id, method="pwd", commit=True)
        return None
    if result.needs_rehash:
        account.password_hash = hash_password(password)
        emit("password.rehashed", account_id=account.id)
        db.session.commit()
    return account
