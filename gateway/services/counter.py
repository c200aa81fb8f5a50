"""What staff do for a person at a BHXH counter, through the console: look an account up, show
it (personal numbers masked), clear its active device, issue a one-time password, sign it out
everywhere, and change its registered phone number.

Each operation is the existing one — devices.clear, passwords.issue_password,
sign_out.sign_out_everywhere — never a copy: the console only adds the staff member's reason
and ONE audit record, appended in the transaction that makes the change (the record is
flushed first; the operation's own commit stores both, or neither).

The phone change at a counter: the clerk has the person and their CCCD in front of them, types
the CCCD number shown, and it must equal the account's. Then gateway/services/phone_change.move
does the change — the one operation that self-service on a level-2 VNeID sign-in uses too: in
one transaction the account gets the new number (so every later SMS code goes there), the OLD
number gets a notice, the active device is forgotten and the audit record is written; after
the commit, every code already sent to the old number is voided (gateway/services/otp_void.py)
and every session and refresh token ends (reason ``phone_changed``). Wrong CCCD numbers are
counted per account (``CCCD_TRIES`` per day): the masked number and the birth date shown
narrow a CCCD to a few thousand candidates, and the form must not be a way to try them.

Exceptions (ValidationError, ``field`` named)::

    reason_required, invalid_reason      the staff member's reason
    no_active_device                     clear: there is none
    no_cccd_on_record                    phone change: the account has no CCCD to compare
    cccd_mismatch                        phone change: the number typed is not the account's
    invalid_phone, phone_not_mobile, same_phone, phone_changed_meanwhile (another clerk
                                         changed it first)

    CccdTriesExceededError (429)         phone change: CCCD_TRIES wrong numbers today
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import date, datetime

from gateway.errors import GatewayError, ValidationError
from gateway.extensions import db
from gateway.models import Account
from gateway.services import audit, devices, passwords, phone_change
from gateway.services.accounts import find_by_login
from gateway.services.events import emit
from gateway.services.sign_out import sign_out_everywhere
from gateway.store.access import store
from policies.identifiers import mask_bhxh, mask_cccd, mask_email, mask_phone
from policies.staff_rules import StaffRuleError, parse_reason

CCCD_TRIES = 3            # wrong CCCD numbers per account per day before the form refuses
CCCD_WINDOW = 24 * 3600


class CccdTriesExceededError(GatewayError):
    """The phone change of this account is refused for a day: too many wrong CCCD numbers."""

    status = 429
    code = "cccd_tries_exceeded"

    def __init__(self, retry_after: int):
        super().__init__(field="cccd")
        self.retry_after = retry_after


@dataclass(frozen=True)
class DeviceView:
    name: str
    client_id: str
    bound_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True)
class AccountView:
    """What the console shows of an account: names and dates in full (the clerk compares them
    with the person), every number masked."""

    id: int
    full_name: str
    dob: date
    sex: str | None
    bhxh: str
    cccd: str | None
    phone: str
    email: str | None
    level: int
    status: str
    must_change_password: bool
    created_at: datetime
    password_changed_at: datetime
    device: DeviceView | None


def _reason(value) -> str:
    try:
        return parse_reason(value)
    except StaffRuleError as exc:
        raise ValidationError(exc.code, field=exc.field) from None


def _subject(account: Account) -> str:
    return f"account:{account.id}"


def find_account(bhxh: str) -> Account | None:
    """The account whose social-insurance number (the login name) this is; None otherwise."""
    return find_by_login(bhxh)


def describe(account: Account) -> AccountView:
    active = devices.active_device(account.id)
    device = None if active is None else DeviceView(
        active.device_name, active.client_id, active.bound_at, active.last_seen_at)
    return AccountView(
        id=account.id, full_name=account.full_name, dob=account.dob, sex=account.sex,
        bhxh=mask_bhxh(account.bhxh), cccd=mask_cccd(account.cccd) if account.cccd else None,
        phone=mask_phone(account.phone),
        email=mask_email(account.email) if account.email else None, level=account.level,
        status=account.status, must_change_password=account.must_change_password,
        created_at=account.created_at, password_changed_at=account.password_changed_at,
        device=device)


def look_up(bhxh: str, *, actor: audit.Actor, reason: str) -> Account | None:
    """Find an account for a person at the counter; the look-up itself is audited
    (``account.viewed``), because showing someone's data is an access to personal data."""
    reason = _reason(reason)
    account = find_account(bhxh)
    if account is None:
        return None
    audit.append(actor, "account.viewed", _subject(account), reason=reason)
    emit("account.viewed", account_id=account.id, staff=actor.name, office=actor.office)
    db.session.commit()
    return account


def clear_device(account: Account, *, actor: audit.Actor, reason: str) -> str:
    """Lost phone: forget the active device and end its session (devices.clear); returns the
    device's name."""
    reason = _reason(reason)
    active = devices.active_device(account.id)
    if active is None:
        raise ValidationError("no_active_device", field="device")
    name = active.device_name
    audit.append(actor, "account.device_cleared", _subject(account),
                 changes={"device": [name, None]}, reason=reason)
    if not devices.clear(account, by="staff"):  # gone meanwhile: the audit record goes too
        db.session.rollback()
        raise ValidationError("no_active_device", field="device")
    return name


def issue_password(account: Account, *, actor: audit.Actor, reason: str) -> str:
    """A one-time password by SMS to the registered phone (passwords.issue_password: must be
    changed at the next sign-in, every session ends). The clerk never sees it; returns the
    masked number it went to."""
    reason = _reason(reason)
    audit.append(actor, "account.password_issued", _subject(account),
                 changes={"must_change_password": [account.must_change_password, True]},
                 reason=reason)
    passwords.issue_password(account, reason="staff_reset")
    return mask_phone(account.phone)


def sign_out(account: Account, *, actor: audit.Actor, reason: str) -> int:
    """Every session, refresh token and the active device (sign_out.sign_out_everywhere);
    returns how many sessions and token families were revoked."""
    reason = _reason(reason)
    audit.append(actor, "account.signed_out_everywhere", _subject(account), reason=reason)
    return sign_out_everywhere(account, by="staff")


def _cccd_key(account: Account) -> str:
    return "{pc:" + str(account.id) + "}:cccd_fail"


def _check_cccd(account: Account, shown: str, actor: audit.Actor) -> None:
    if not account.cccd:
        raise ValidationError("no_cccd_on_record", field="cccd")
    s = store()
    if int(s.get(_cccd_key(account)) or 0) >= CCCD_TRIES:
        raise CccdTriesExceededError(CCCD_WINDOW)
    typed = "".join(shown.split()) if isinstance(shown, str) else ""
    if hmac.compare_digest(typed.encode(), account.cccd.encode()):
        return
    tries = s.incr(_cccd_key(account), CCCD_WINDOW)
    emit("account.phone_change_refused", account_id=account.id, reason="cccd_mismatch",
         tries=tries, staff=actor.name, office=actor.office, commit=True)
    raise ValidationError("cccd_mismatch", field="cccd")


def change_phone(account: Account, *, cccd_shown: str, new_phone: str, actor: audit.Actor,
                 reason: str) -> tuple[str, str]:
    """Move the account to ``new_phone`` (see the module's docstring) once the CCCD shown
    matches: gateway/services/phone_change.move, the operation self-service uses too. Returns
    the old and the new number, masked."""
    reason = _reason(reason)
    _check_cccd(account, cccd_shown, actor)
    masked = phone_change.move(account, new_phone, actor=actor, reason=reason, by="staff",
                               event={"staff": actor.name, "office": actor.office})
    store().delete(_cccd_key(account))
    return masked
