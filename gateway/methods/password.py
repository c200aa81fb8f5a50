"""Signing in with the social-insurance number and a password.

One answer for an unknown account and a wrong password, and about the same time: an unknown
account still pays for one Argon2id verification. Only the right password of an issued,
never-changed password past its expiry (policies/password_age.issued_password_expired) gets an
answer of its own, ``issued_password_expired``: whoever typed it already knows it, and must be
told to use recovery or the office rather than to try again. Every try is reserved atomically
first (gateway.services.throttle), so the lock holds under concurrency. Hashes are upgraded
(legacy scheme or old parameters) right after a correct password.
"""

from __future__ import annotations

from gateway.crypto.password_hashing import dummy_verify, hash_password, verify_password
from gateway.errors import AuthenticationError
from gateway.extensions import db
from gateway.models import Account
from gateway.services.accounts import find_by_login
from gateway.services.events import emit
from gateway.services.passwords import issued_expired
from gateway.services.throttle import Attempt
from policies.identifiers import login_name

# Every malformed name shares one lock key: none of them is an account, and a fresh key per
# spelling would be a fresh budget of guesses.
MALFORMED_LOGIN = "-"


class IssuedPasswordExpiredError(AuthenticationError):
    """The right password, but an issued one-time password that expired unused: it signs
    in no more. A subclass of AuthenticationError, so a caller that does not tell them apart
    still refuses the sign-in."""

    code = "issued_password_expired"


def check_password(login: str | None, password: str, *, address: str) -> Account:
    """The account, or AuthenticationError (IssuedPasswordExpiredError for the right but
    expired issued password) / LockedError / ThrottledError.

    ``login`` is what policies.identifiers.login_name made of the typed name at the edge
    (None: malformed, which is an unknown account).
    """
    if login is not None and login_name(login) != login:
        raise ValueError("check_password takes a login name normalised by login_name()")
    if not isinstance(password, str):
        password = ""
    # Looked up before a try is reserved: a reservation is given back only by an outcome, so
    # one taken while the database is down would stay counted, and a few retries during an
    # outage would lock the name for a day once it is over.
    account = find_by_login(login) if login is not None else None
    attempt = Attempt(login or MALFORMED_LOGIN, address).begin()
    if account is None:
        dummy_verify(password)
        attempt.failed()
        emit("login.failed", method="pwd", reason="invalid_credentials", commit=True)
        raise AuthenticationError()
    result = verify_password(account.password_hash, password)
    # An account without a usable password (made from VNeID) has a hash nobody can match;
    # the flag refuses it as well, so that no hash, however it got there, opens it.
    if not result.ok or not account.is_active or not account.password_usable:
        attempt.failed(account.id)
        emit("login.failed", account_id=account.id, method="pwd",
             reason="invalid_credentials", commit=True)
        raise AuthenticationError()
    if issued_expired(account):
        # Counted as a failure: an expired password is no credential, and a success would
        # reset the name's count between guesses for whoever holds the old SMS.
        attempt.failed(account.id)
        emit("login.failed", account_id=account.id, method="pwd",
             reason="issued_password_expired", commit=True)
        raise IssuedPasswordExpiredError()
    attempt.succeeded()
    if result.needs_rehash:
        account.password_hash = hash_password(password)
        emit("password.rehashed", account_id=account.id)
        db.session.commit()
    return account
