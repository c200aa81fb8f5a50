"""Changing a password, whoever asks: the person, the forced step after sign-in, recovery,
or staff. One path, so every change gets the same checks and the same consequences: the
rules of policies/password_rules.py, history, an SMS notice, an audit event, and the
revocation of the account's other sessions and refresh tokens.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app

from gateway.clock import as_utc, utcnow
from gateway.crypto.password_hashing import hash_password, normalize_password, verify_password
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.models import Account, PasswordHistory
from gateway.services.events import emit
from gateway.services.outbox import enqueue_sms
from gateway.services.revocation import revoke_account
from policies.password_age import issued_password_expired, password_state
from policies.password_rules import PersonalData, check_new_password


class PasswordRejectedError(ValidationError):
    code = "password_rejected"

    def __init__(self, violations: list[str]):
        super().__init__(field="new_password", detail=", ".join(violations))
        self.violations = violations

    def body(self) -> dict:
        return {**super().body(), "violations": self.violations}


def personal_data(account: Account) -> PersonalData:
    return PersonalData(bhxh=account.bhxh, cccd=account.cccd, phone=account.phone,
                        dob=account.dob, full_name=account.full_name)


def state_of(account: Account, now: datetime | None = None):
    cfg = current_app.config
    return password_state(
        as_utc(account.password_changed_at), now or utcnow(),
        max_age_days=cfg["PASSWORD_MAX_AGE_DAYS"], remind_days=cfg["PASSWORD_REMIND_DAYS"],
        must_change=account.must_change_password,
    )


def change_required(account: Account) -> bool:
    if not account.password_usable:
        return False  # no password to change: the account signs in with VNeID
    state = state_of(account)
    return state.must_change or state.expired


def issued_expired(account: Account, now: datetime | None = None) -> bool:
    """An issued one-time password left unchanged past its expiry: it signs in no more."""
    return issued_password_expired(as_utc(account.issued_password_expires_at), now or utcnow(),
                                   must_change=account.must_change_password)


def new_one_time_password() -> str:
    """A password staff issue (reset, a newly issued account): 48 random bits in three groups
    of four hex digits, easy to read from an SMS and to type once; it must be changed at the
    first sign-in and expires unused (ISSUED_PASSWORD_TTL_DAYS)."""
    return "-".join(secrets.token_hex(2) for _ in range(3))


def issued_expiry(now: datetime) -> datetime:
    """When a password issued at ``now`` stops working if it is never changed."""
    return now + timedelta(days=current_app.config["ISSUED_PASSWORD_TTL_DAYS"])


def _recent_hashes(account: Account) -> list[str]:
    keep = max(0, current_app.config["PASSWORD_HISTORY"] - 1)
    rows = (PasswordHistory.query.filter_by(account_id=account.id)
            .order_by(PasswordHistory.id.desc()).limit(keep).all())
    return [account.password_hash, *(r.password_hash for r in rows)]


def validate_new_password(account: Account, new_password: str, *,
                          current_password: str | None = None) -> None:
    """PasswordRejectedError naming every violated rule; nothing is changed."""
    if not isinstance(new_password, str):
        raise PasswordRejectedError(["too_short"])
    violations = check_new_password(
        new_password, personal=personal_data(account), current_password=current_password,
        previous_hashes=_recent_hashes(account), verify=verify_password,
    )
    if violations:
        raise PasswordRejectedError(violations)


def change_password(account: Account, new_password: str, *, reason: str,
                    current_password: str | None = None, keep_sid: str | None = None,
                    validated: bool = False) -> None:
    """Raises PasswordRejectedError with the violated rules; commits on success."""
    if not validated:
        validate_new_password(account, new_password, current_password=current_password)
    _store_new_hash(account, hash_password(new_password), must_change=False)
    enqueue_sms(account.phone, "password_changed", {})
    emit("password.changed", account_id=account.id, reason=reason)
    db.session.commit()
    revoke_account(account.id, "password_changed", except_sid=keep_sid)


def issue_password(account: Account, *, reason: str) -> str:
    """Staff reset: a one-time password by SMS that must be changed at the next sign-in."""
    temporary = new_one_time_password()
    _store_new_hash(account, hash_password(normalize_password(temporary)), must_change=True)
    enqueue_sms(account.phone, "password_reset", {"password": temporary})
    emit("password.reset", account_id=account.id, reason=reason)
    db.session.commit()
    revoke_account(account.id, "password_reset")
    return temporary


def _store_new_hash(account: Account, new_hash: str, *, must_change: bool) -> None:
    now = utcnow()
    db.session.add(PasswordHistory(account_id=account.id, password_hash=account.password_hash,
                                   created_at=now))
    account.password_hash = new_hash
    account.password_usable = True
    account.password_changed_at = now
    account.must_change_password = must_change
    # An issued password starts its unused-expiry; any password the person sets ends it.
    account.issued_password_expires_at = issued_expiry(now) if must_change else None
    account.password_reminded_window = None
    keep = max(0, current_app.config["PASSWORD_HISTORY"] - 1)
    db.session.flush()
    stale = (PasswordHistory.query.filter_by(account_id=account.id)
             .order_by(PasswordHistory.id.desc()).offset(keep).all())
    for row in stale:
        db.session.delete(row)
