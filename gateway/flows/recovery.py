"""Forgot password: social-insurance number + registered phone → OTP by SMS → new password.

Same answer whether or not the account exists or the phone matches: a recovery id is always
created, the masked number shown is the one the person typed, and completing a recovery for
no account fails exactly like a wrong code. The login name's lock applies (a locked name
cannot recover either) and wrong codes count towards it.

States: ``otp_sent`` → consumed on success (the record is taken atomically).
"""

from __future__ import annotations

import json
import logging
import secrets

from flask import current_app

from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.methods import otp
from gateway.models import Account
from gateway.services.accounts import find_by_login
from gateway.services.events import emit
from gateway.services.passwords import change_password
from gateway.services.throttle import Attempt, count_start
from gateway.store.access import store
from policies.identifiers import IdentifierError, login_name, mask_phone, parse_phone

log = logging.getLogger(__name__)
PURPOSE = "recovery"


def _key(recovery_id: str) -> str:
    return f"flow:recovery:{recovery_id}"


def start(username: str, phone: str, *, address: str, locale: str = "vi") -> dict:
    login = login_name(username)
    if login is None:
        raise ValidationError("invalid_bhxh", field="username")
    try:
        phone = parse_phone(phone)
    except IdentifierError as exc:
        raise ValidationError(exc.code, field="phone") from None
    count_start("recovery", address, current_app.config["RECOVERY_STARTS_PER_ADDRESS"])
    Attempt(login, address).check_not_locked()
    recovery_id = secrets.token_urlsafe(24)
    account = find_by_login(login)
    matched = account is not None and account.is_active and account.phone == phone
    ttl = current_app.config["OTP_TTL"]
    record = {"login": login, "account_id": account.id if matched else None}
    store().put(_key(recovery_id), json.dumps(record), current_app.config["LOGIN_FLOW_TTL"])
    if matched:
        try:
            otp.issue(account_id=account.id, phone=phone, purpose=PURPOSE,
                      flow_id=recovery_id, locale=locale)
            emit("recovery.started", account_id=account.id)
            db.session.commit()
        except otp.OtpError as exc:
            # Saying "too many codes" only for real accounts would reveal them.
            log.info("recovery code not sent", extra={"reason": exc.code})
            db.session.rollback()
    return {"recovery_id": recovery_id, "otp_sent_to": mask_phone(phone), "expires_in": ttl}


def complete(recovery_id: str, code: str, new_password: str, *, address: str) -> Account:
    """The account whose password was reset; OtpError / LockedError / PasswordRejectedError.

    The code is checked before the password rules, so the rules (which look at personal
    data) answer only someone who holds the phone. A refused password leaves the recovery
    ``verified`` until it expires: the person retries the password without a new code.
    """
    if not isinstance(recovery_id, str) or not 16 <= len(recovery_id) <= 64:
        raise otp.OtpError("otp_expired")
    raw = store().get(_key(recovery_id))
    if raw is None:
        raise otp.OtpError("otp_expired")
    record = json.loads(raw)
    account_id = record["account_id"]
    if record.get("state") != "verified":
        attempt = Attempt(record["login"], address).begin()
        if account_id is None:
            attempt.failed()
            raise otp.OtpError("otp_invalid")
        try:
            otp.verify(account_id=account_id, purpose=PURPOSE, flow_id=recovery_id, code=code)
        except otp.OtpError:
            attempt.failed(account_id)
            raise
        attempt.succeeded()
        record["state"] = "verified"
        store().put(_key(recovery_id), json.dumps(record), current_app.config["LOGIN_FLOW_TTL"])
    account = db.session.get(Account, account_id)
    change_password(account, new_password, reason="recovery")
    store().delete(_key(recovery_id))
    emit("recovery.completed", account_id=account.id, commit=True)
    return account
