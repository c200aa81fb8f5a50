"""Deciding an account application: approve, reject, or record a post-office verification;
a clerk's confirmation or overturn of that verification is an approval or a rejection of a
``field_verified`` application (policies/applications.py draws the table).

Why one transaction for an approval: the account, its one-time password, the application's
new status, the audit record, the event and the messages carrying the password are one fact.
Either all of them are stored, or none is — an account without its SMS would be unusable, an
SMS without its account a lie, an approval without its audit record a hole in the register.
Any failure on the way (an account already issued for the number, a detail the account
service refuses, a message that cannot be queued) rolls every part back and leaves the
application as it was, for the clerk to reject it with the right reason.

Why compare-and-set: two clerks (or a clerk and a supervisor) may decide the same application
at the same moment. The status moves by ``UPDATE … WHERE status = <the status read>``, the
first statement of the transaction, so exactly one decision takes it; the other finds nothing
to update and is refused with ``application_changed`` before it has written anything. (On
PostgreSQL the loser waits for the winner's row lock and re-reads; on SQLite the database's
single writer serialises them.) A second application of the same number racing to approval
is stopped by the unique social-insurance number of accounts: ``account_exists``.

Messages go through the outbox in the same transaction (sealed recipient and contents), so
nothing is sent for a decision that did not happen. They go to the phone and e-mail address
the applicant declared, in Vietnamese (applications do not record a language).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update

from gateway.clock import utcnow
from gateway.errors import ConflictError, ValidationError
from gateway.extensions import db
from gateway.models import Account, Application, StaffAccount
from gateway.services import audit
from gateway.services.accounts import create_account
from gateway.services.application_queue import open_application
from gateway.services.events import emit
from gateway.services.outbox import enqueue_email, enqueue_sms
from gateway.services.passwords import issued_expiry, new_one_time_password
from policies import applications as rules
from policies.identifiers import mask_bhxh
from policies.staff_rules import StaffRuleError, parse_reason


class DecisionRefusedError(ConflictError):
    """The decision cannot be taken on this application now. ``code``:
    ``application_closed`` (already approved or rejected), ``decision_not_allowed`` (not from
    this status), ``role_not_allowed`` (not by this role), ``application_changed`` (another
    decision took it first)."""

    code = "decision_refused"


@dataclass(frozen=True)
class Decided:
    """What a decision did: the application's new status, and the account it issued."""

    application: Application
    status: str
    account: Account | None = None


def _reason(decision: str, reason_code, reason) -> tuple[str | None, str | None]:
    """(reason_code, reason) as stored. The clerk's words follow the console's rule for every
    staff reason (policies/staff_rules.parse_reason: 5-500 characters, no control
    characters), NFC-normalised; required for a rejection, an optional note otherwise."""
    words = None
    if rules.reason_required(decision) or (isinstance(reason, str) and reason.strip()):
        try:
            words = unicodedata.normalize("NFC", parse_reason(reason))
        except StaffRuleError as exc:
            raise ValidationError(exc.code, field="reason") from None
    code = reason_code or None
    if rules.reason_required(decision):
        if code not in rules.REASON_CODES:
            raise ValidationError("reason_code_required" if code is None else
                                  "invalid_reason_code", field="reason_code")
    else:
        code = None  # a code is a rejection's; an approval or verification may add a note
    return code, words


def decide(staff: StaffAccount, reference: str, decision: str, *, reason_code: str | None = None,
           reason: str | None = None) -> Decided:
    """Take ``decision`` (``approve``, ``reject``, ``field_verified``) on the application of
    ``reference`` as ``staff``; commits. Raises ApplicationNotFoundError (not in the staff
    member's scope), ValidationError (``unknown_decision``, the reason fields),
    DecisionRefusedError, ConflictError ``account_exists``, or what the account service
    refuses in the applicant's details (ValidationError) — nothing is stored then."""
    application = open_application(staff, reference)
    if decision not in rules.DECISIONS:
        raise ValidationError("unknown_decision", field="decision")
    before = application.status
    try:
        after = rules.next_status(before, decision, staff.role)
    except rules.DecisionRefused as exc:
        raise DecisionRefusedError(exc.code) from None
    code, words = _reason(decision, reason_code, reason)
    now = utcnow()
    try:
        _take(application, before, after, staff, now, code, words, decision)
        account = None
        if after == rules.APPROVED:
            account = _issue_account(application, staff, rules.verification_method(before), now)
        elif after == rules.REJECTED:
            _notify_rejection(application, code, words)
        _record(application, staff, decision, before, after, code, words, account)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return Decided(application, after, account)


def _take(application: Application, before: str, after: str, staff: StaffAccount, now,
          code, words, decision: str) -> None:
    """Compare-and-set the status: the first write of the transaction, so a decision that
    lost the race has written nothing when it is refused."""
    values = {"status": after, "updated_at": now}
    if after == rules.FIELD_VERIFIED:
        # The agent's note stands until the clerk's decision replaces it (the audit trail
        # keeps both).
        values.update(field_verified_by=staff.id, field_verified_at=now, reason=words)
    else:
        values.update(decided_by=staff.id, decided_at=now, reason_code=code, reason=words)
    taken = db.session.execute(
        update(Application).where(Application.id == application.id,
                                  Application.status == before).values(**values)
        .execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise DecisionRefusedError("application_changed")
    db.session.expire(application)


def _issue_account(application: Application, staff: StaffAccount, method: str, now) -> Account:
    """The level-2 account from the application's details, with a one-time password that must
    be changed at the first sign-in and expires unused; the password goes out by SMS (and
    e-mail) and is kept nowhere else."""
    password = new_one_time_password()
    account = create_account(
        bhxh=application.bhxh, name=application.full_name, dob=application.dob.isoformat(),
        phone=application.phone, email=application.email, cccd=application.cccd,
        sex=application.sex, password=password, level=2, must_change_password=True,
        via="application")
    account.issued_password_expires_at = issued_expiry(now)
    account.verified_at = now
    account.verified_by = staff.id
    account.verified_office = application.office_code
    account.verification_method = method
    db.session.execute(
        update(Application).where(Application.id == application.id)
        .values(account_id=account.id).execution_options(synchronize_session=False))
    days = current_app.config["ISSUED_PASSWORD_TTL_DAYS"]
    enqueue_sms(account.phone, "account_issued",
                {"bhxh": account.bhxh, "password": password, "days": days})
    if account.email:
        enqueue_email(account.email, "account_issued", {
            "name": account.full_name, "reference": application.reference,
            "bhxh": account.bhxh, "password": password, "days": days})
    return account


def _notify_rejection(application: Application, code: str, words: str) -> None:
    enqueue_sms(application.phone, "application_rejected",
                {"reference": application.reference, "reason_code": code, "note": words})
    if application.email:
        enqueue_email(application.email, "application_rejected", {
            "name": application.full_name, "reference": application.reference,
            "reason_code": code, "note": words})


_ACTIONS = {rules.APPROVED: "application.approved", rules.REJECTED: "application.rejected",
            rules.FIELD_VERIFIED: "application.field_verified"}


def _record(application: Application, staff: StaffAccount, decision: str, before: str,
            after: str, code, words, account: Account | None) -> None:
    """The audit record and the event, in the decision's transaction."""
    action = _ACTIONS[after]
    changes = {"status": [before, after], "decision": decision,
               "bhxh": mask_bhxh(application.bhxh)}
    if code:
        changes["reason_code"] = [None, code]
    if account is not None:
        changes["account"] = [None, f"account:{account.id}"]
        changes["verification_method"] = account.verification_method
    audit.append(audit.Actor.staff(staff), action, f"application:{application.reference}",
                 changes=changes, reason=words)
    data = {"application_id": application.id, "office": application.office_code,
            "staff_id": staff.id, "role": staff.role}
    if after == rules.APPROVED:
        data["method"] = account.verification_method
    if after == rules.REJECTED:
        data.update(reason_code=code, overturned=before == rules.FIELD_VERIFIED)
    if after != rules.FIELD_VERIFIED and before == rules.FIELD_VERIFIED:
        data["field_verified_by"] = application.field_verified_by
    emit(action, account_id=account.id if account is not None else None, **data)
