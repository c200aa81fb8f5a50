"""Moving an account to a new registered phone number: the one operation behind both ways a
number may change — at a counter, the clerk with the person and their CCCD in front of them
(gateway/services/counter.py), and as self-service on a recent level-2 VNeID sign-in, after a
code sent to the new number came back (gateway/flows/phone_change.py). Each caller checks what
its way requires; what the change *does* is here only, so the two can never drift apart.

In one transaction: the account gets the new number (so every later SMS code goes there), the
OLD number gets a notice, the active device is forgotten, the audit record and the event are
written; after the commit, every code already sent to the old number is voided
(gateway/services/otp_void.py) and every session and refresh token ends (reason
``phone_changed``). The SMS factor moves to the new number entirely.

Exceptions (ValidationError, field ``phone``): invalid_phone, phone_not_mobile (parsed with
``phonenumbers``: a Vietnamese mobile, kept in E.164), same_phone, phone_changed_meanwhile
(another change of the same account won a moment ago).
"""

from __future__ import annotations

from sqlalchemy import update

from gateway.clock import utcnow
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.models import Account
from gateway.services import audit, devices
from gateway.services.events import emit
from gateway.services.otp_void import void_codes
from gateway.services.outbox import enqueue_sms
from gateway.services.revocation import revoke_account
from policies.identifiers import IdentifierError, mask_phone, parse_phone


def new_number(account: Account, value: str) -> str:
    """``value`` as the account's next number (E.164), or ValidationError: invalid_phone,
    phone_not_mobile, same_phone."""
    try:
        new = parse_phone(value)
    except IdentifierError as exc:
        raise ValidationError(exc.code, field="phone") from None
    if new == account.phone:
        raise ValidationError("same_phone", field="phone")
    return new


def move(account: Account, new_phone: str, *, actor: audit.Actor, reason: str, by: str,
         event: dict, expected_old: str | None = None) -> tuple[str, str]:
    """Move ``account`` to ``new_phone`` (see the module's docstring); returns the old and the
    new number, masked. ``by`` names who acted for the device's event (``staff``/``user``),
    ``event`` adds the caller's fields to ``account.phone_changed``; ``expected_old``: the
    number the caller's checks saw (a code was sent while it was the account's), else the
    account's number now."""
    new = new_number(account, new_phone)
    old = account.phone if expected_old is None else expected_old
    masked = (mask_phone(old), mask_phone(new))
    # Voided before the first write (a store that is down stops the change; and on SQLite the
    # store cannot write while this transaction holds the database), and again after the
    # commit: a code issued meanwhile, to the old number, is void too.
    void_codes(account.id)
    audit.append(actor, "account.phone_changed", f"account:{account.id}",
                 changes={"phone": list(masked)}, reason=reason)
    # Compare-and-set: of two changes of the same number at once, one wins; the other is
    # told, and its audit record goes with its rolled-back transaction.
    moved = db.session.execute(
        update(Account).where(Account.id == account.id, Account.phone == old)
        .values(phone=new).returning(Account.id)).first()
    if moved is None:
        db.session.rollback()
        raise ValidationError("phone_changed_meanwhile", field="phone")
    db.session.refresh(account)
    enqueue_sms(old, "phone_changed", {"at": utcnow()})
    devices.forget(account, by=by)
    emit("account.phone_changed", account_id=account.id, old=masked[0], new=masked[1], **event)
    db.session.commit()
    void_codes(account.id)
    revoke_account(account.id, "phone_changed")
    return masked
