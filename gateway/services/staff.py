"""Staff accounts of the console: create, find, list, disable, reset the TOTP secret, and check
a sign-in.

Created by operators (`flask --app wsgi staff create`), never by a page: a staff account
can read personal data and act on citizens' accounts, so making one is an operator's act,
recorded in the audit trail (``staff.created``) like every staff action.

Signing in checks three things — username, password (Argon2id, as citizens), and a TOTP code
(gateway/services/staff_totp.py, each code once) — and answers one AuthenticationError for an
unknown username, a wrong password, a wrong or reused code and a disabled account, after the
same work (an unknown username still pays for one Argon2id verification). Every try is
reserved first with the citizens' lockout (gateway/services/throttle.py) in a key space of
its own, so concurrent guesses get no extra tries and a clerk's lock never touches a citizen.

Exceptions::

    ValidationError     invalid_username, invalid_role, office_required, unknown_office,
                        office_inactive, password_rejected (PasswordRejectedError)
    ConflictError       staff_exists
    AuthenticationError / LockedError / ThrottledError  (sign-in)
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from gateway.clock import utcnow
from gateway.crypto.password_hashing import dummy_verify, hash_password, verify_password
from gateway.errors import AuthenticationError, ConflictError, ValidationError
from gateway.extensions import db
from gateway.models import Office, StaffAccount, StaffSession
from gateway.services import audit, staff_totp
from gateway.services.events import emit
from gateway.services.passwords import PasswordRejectedError
from gateway.services.throttle import Attempt
from policies.password_rules import PersonalData, check_new_password
from policies.staff_rules import StaffRuleError, check_role_office, parse_username

MALFORMED_USERNAME = "-"  # every malformed name shares one lock key (methods/password.py)
# A generated password: 4 groups of 5 from 31 unambiguous characters (no 0/o, 1/l/i): ~99 bits.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


@dataclass(frozen=True)
class NewStaff:
    """What creation returns: the account, the otpauth:// URI (its secret shown this once),
    and the password when it was generated (None when the operator gave one)."""

    staff: StaffAccount
    totp_uri: str
    generated_password: str | None


def _rule(fn, *args):
    try:
        return fn(*args)
    except StaffRuleError as exc:
        raise ValidationError(exc.code, field=exc.field) from None


def generate_password() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))


def _check_password(password: str, username: str) -> None:
    """The citizens' rules for a new password (length, blocklist, no personal data — here
    the username)."""
    if not isinstance(password, str):
        raise PasswordRejectedError(["too_short"])
    violations = check_new_password(password, personal=PersonalData(bhxh="",
                                                                     full_name=username))
    if violations:
        raise PasswordRejectedError(violations)


def _office(code: str | None) -> str | None:
    if not code:
        return None
    office = db.session.get(Office, code)
    if office is None:
        raise ValidationError("unknown_office", field="office")
    if not office.active:
        raise ValidationError("office_inactive", field="office")
    return office.code


def create_staff(*, username: str, role: str, office: str | None = None,
                 password: str | None = None, actor: audit.Actor) -> NewStaff:
    """A new active staff account with a fresh TOTP secret, in the caller's transaction (the
    caller commits), with its ``staff.created`` audit record and event. ``actor`` is who
    made it (an operator: ``audit.Actor("cli:<user>")``)."""
    username = _rule(parse_username, username)
    _rule(check_role_office, role, office)
    office = _office(office)
    generated = None
    if password is None:
        password = generated = generate_password()
    else:
        _check_password(password, username)
    if find_by_username(username) is not None:
        raise ConflictError("staff_exists", field="username")
    now = utcnow()
    staff = StaffAccount(username=username, role=role, office_code=office,
                         password_hash=hash_password(password), password_changed_at=now,
                         must_change_password=False, totp_secret_sealed=b"", totp_last_step=0,
                         status="active", created_at=now)
    db.session.add(staff)
    try:
        db.session.flush()  # the id the TOTP seal is bound to
    except IntegrityError:
        db.session.rollback()
        raise ConflictError("staff_exists", field="username") from None
    secret = staff_totp.new_secret()
    staff.totp_secret_sealed = staff_totp.seal(secret, staff.id)
    audit.append(actor, "staff.created", f"staff:{username}",
                 changes={"role": [None, role], "office": [None, office]})
    emit("staff.created", staff_id=staff.id, role=role, office=office, by=actor.name)
    return NewStaff(staff, staff_totp.provisioning_uri(secret, username), generated)


def find_by_username(username: str) -> StaffAccount | None:
    try:
        username = parse_username(username)
    except StaffRuleError:
        return None
    return StaffAccount.query.filter_by(username=username).first()


def list_staff() -> list[StaffAccount]:
    return StaffAccount.query.order_by(StaffAccount.username).all()


def disable_staff(staff: StaffAccount, *, actor: audit.Actor, reason: str | None) -> bool:
    """No more sign-ins, and every open console session of theirs ends now; in the caller's
    transaction with its audit record. False if the account was disabled already."""
    if staff.status == "disabled":
        return False
    staff.status = "disabled"
    ended = _end_sessions(staff, "staff_disabled")
    audit.append(actor, "staff.disabled", f"staff:{staff.username}",
                 changes={"status": ["active", "disabled"]}, reason=reason)
    emit("staff.disabled", staff_id=staff.id, sessions_ended=ended, by=actor.name)
    return True


def reset_totp(staff: StaffAccount, *, actor: audit.Actor, reason: str | None) -> str:
    """A lost or replaced authenticator: a fresh secret (the old one stops working at once),
    every open console session ended; in the caller's transaction with its audit record.
    Returns the new otpauth:// URI, shown once."""
    secret = staff_totp.new_secret()
    staff.totp_secret_sealed = staff_totp.seal(secret, staff.id)
    ended = _end_sessions(staff, "totp_reset")
    audit.append(actor, "staff.totp_reset", f"staff:{staff.username}", reason=reason)
    emit("staff.totp_reset", staff_id=staff.id, sessions_ended=ended, by=actor.name)
    return staff_totp.provisioning_uri(secret, staff.username)


def _end_sessions(staff: StaffAccount, reason: str) -> int:
    live = StaffSession.query.filter(StaffSession.staff_id == staff.id,
                                     StaffSession.ended_at.is_(None)).all()
    now = utcnow()
    for session in live:
        session.ended_at, session.ended_reason = now, reason
    return len(live)


def check_sign_in(username: str, password: str, code: str, *, address: str) -> StaffAccount:
    """The staff account, or AuthenticationError / LockedError / ThrottledError."""
    try:
        name = parse_username(username)
    except StaffRuleError:
        name = None
    if not isinstance(password, str):
        password = ""
    # Looked up before the try is reserved (methods/password.py says why).
    staff = StaffAccount.query.filter_by(username=name).first() if name else None
    attempt = Attempt(name or MALFORMED_USERNAME, address, space="sf").begin()
    if staff is None:
        dummy_verify(password)
        _failed(attempt, None, "invalid_credentials")
    result = verify_password(staff.password_hash, password)
    step = staff_totp.matching(staff, code if isinstance(code, str) else "")
    if not result.ok or step is None or staff.status != "active":
        _failed(attempt, staff, "invalid_credentials" if staff.status == "active"
                else "staff_disabled")
    if not staff_totp.consume(staff.id, step):
        _failed(attempt, staff, "code_reused")
    attempt.succeeded()
    if result.needs_rehash:
        staff.password_hash = hash_password(password)
        db.session.commit()
    return staff


def _failed(attempt: Attempt, staff: StaffAccount | None, reason: str):
    staff_id = staff.id if staff is not None else None
    locked = attempt.failed()
    emit("staff.sign_in_failed", staff_id=staff_id, reason=reason)
    if locked:
        emit("staff.locked", staff_id=staff_id, seconds=locked)
    db.session.commit()
    raise AuthenticationError()
