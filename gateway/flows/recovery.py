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
towards it. The recovery is a flow record (kind ``recovery``, drawn in gateway.flows.record):
``otp_sent`` → ``verified`` (a refused new password can be retried without a new code) →
consumed when the password is changed: taken from the store by one request among racers,
so one recovery changes the password once. A recovery that is gone (expired, completed,
never started) answers as an expired code. It is bound to nothing the caller presents (the
record says why); its context holds the login name, the account when the pair matched, and
the code's deadline.
"""

from __future__ import annotations

import logging

from flask import current_app

from gateway.clock import clock
from gateway.deferred import defer
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.flows import record as flows
from gateway.flows.record import RECOVERY, FlowNotFoundError
from gateway.methods import otp
from gateway.models import Account
from gateway.services.accounts import find_by_login
from gateway.services.events import emit
from gateway.services.passwords import (
    PasswordRejectedError,
    change_password,
    validate_new_password,
)
from gateway.services.throttle import Attempt, count_start
from policies.identifiers import IdentifierError, login_name, mask_phone, parse_phone

log = logging.getLogger(__name__)
PURPOSE = "recovery"


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
    account = find_by_login(login)
    matched = account is not None and account.is_active and account.phone == phone
    ttl = current_app.config["OTP_TTL"]
    record = flows.create(RECOVERY, bound_to={}, context={
        "login": login, "account_id": account.id if matched else None,
        "code_expires_at": clock().timestamp() + ttl})
    if matched:
        defer(send_code, account_id=account.id, phone=phone, login=login,
              recovery_id=record.id, locale=locale)
    return {"recovery_id": record.id, "otp_sent_to": mask_phone(phone), "expires_in": ttl}


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
    try:
        record = flows.load(RECOVERY, recovery_id, bound_to={})
        record.step("complete")
    except flows.FlowError:
        raise otp.OtpError("otp_expired") from None
    ctx = record.context
    if record.state == "otp_sent":
        attempt = Attempt(ctx["login"], address).begin()
        try:
            otp.verify_in_flow(account_id=ctx["account_id"], subject=ctx["login"],
                               purpose=PURPOSE, flow_id=record.id, code=code,
                               expires_at=ctx["code_expires_at"])
        except otp.OtpError:
            attempt.failed(ctx["account_id"])
            raise
        attempt.succeeded()
    account = db.session.get(Account, ctx["account_id"])
    try:
        validate_new_password(account, new_password)
    except PasswordRejectedError:
        if record.state == "otp_sent":
            flows.advance(record, "verified")
        raise
    try:
        flows.consume(record)
    except FlowNotFoundError:  # another request completed it first
        raise otp.OtpError("otp_expired") from None
    change_password(account, new_password, reason="recovery", validated=True)
    emit("recovery.completed", account_id=account.id, commit=True)
    return account
