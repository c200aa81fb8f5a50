"""Forgot password: social-insurance number + registered phone → OTP by SMS → new password.

Nothing in the answers tells a registered (number, phone) pair from any other pair:

* **start** answers the same body (a recovery id, the masked number that was typed, the
  code's lifetime) and does the same store and database work for everyone; creating the code
  and sending the SMS happen after the response (gateway/deferred.py), and only for a match.
* **complete** answers with codes that follow from what the caller did, never from whether
  an account matched: every recovery has the same code deadline, its own count of tries, and
  the login name's 24-hour budget of wrong codes (methods.otp.verify_in_flow). A recovery for
  no account fails exactly as a wrong code does, through the same steps.

The login name's lock applies (a locked name cannot recover either) and wrong codes count
towards it. States: ``otp_sent`` → ``verified`` (a refused new password can be retried without
a new code) → consumed on success (the record is deleted).
"""

from __future__ import annotations

import json
import logging
import secrets

from flask import current_app

from gateway.clock import clock
from gateway.deferred import defer
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
    record = {"login": login, "account_id": account.id if matched else None,
              "exp": clock().timestamp() + ttl}
    store().put(_key(recovery_id), json.dumps(record), current_app.config["LOGIN_FLOW_TTL"])
    if matched:
        defer(send_code, account_id=account.id, phone=phone, login=login,
              recovery_id=recovery_id, locale=locale)
    return {"recovery_id": recovery_id, "otp_sent_to": mask_phone(phone), "expires_in": ttl}


def send_code(*, account_id: int, phone: str, login: str, recovery_id: str, locale: str) -> None:
    """Deferred task (after the response): create the code and queue its SMS, for a match."""
    try:
        otp.issue(account_id=account_id, phone=phone, purpose=PURPOSE, flow_id=recovery_id,
                  locale=locale, subject=login)
    except otp.OtpError as exc:
        # The person was already answered; "too many codes" is never shown to anyone.
        log.info("recovery code not sent", extra={"reason": exc.code})
        db.session.rollback()
        return
    emit("recovery.started", account_id=account_id)
    db.session.commit()


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
        try:
            otp.verify_in_flow(account_id=account_id, subject=record["login"],
                               purpose=PURPOSE, flow_id=recovery_id, code=code,
                               expires_at=record.get("exp", 0))
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
