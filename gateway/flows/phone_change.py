"""A person changes their own registered phone number, on a recent level-2 VNeID sign-in: the
new number, a code sent to it, the code back — then the same change a counter makes.

    start (the session may: policies/phone_change.py; the new number parses; today's starts
           for the account under STARTS_PER_DAY) ─► a code to the NEW number (kind
           ``phone_change`` on the flow record, drawn in gateway.flows.record)
      └─► confirm (the session still may; the code) ─► services/phone_change.move

Why a code to the new number: a typing error, or a number that is not the person's, would
hand the account's second factor and its recovery to a stranger; the code proves the person
holds the SIM before anything moves. Why the VNeID conditions are checked again at the
confirmation: the session may have ended (signed out elsewhere, the phone changed at a
counter), or grown stale, since the code went out.

The record is bound to the session (``sid``, part of the key): an id seen in a URL is worth
nothing in another session. It holds the account, the number the code went to and the number
the account had then (the change is a compare-and-set on it: a counter change meanwhile wins
and this one is refused). The code's wrong tries count towards the login name's lock, like a
password's. The record is consumed by the one request that moves the phone.

Exceptions: PhoneChangeRefusedError (403, a policies/phone_change refusal code),
PhoneChangeLimitError (429), FlowError (flow_expired: no such change in this session),
ValidationError from the number (invalid_phone, phone_not_mobile, same_phone,
phone_changed_meanwhile), OtpError, LockedError / ThrottledError.
"""

from __future__ import annotations

from gateway.clock import as_utc, utcnow
from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.flows import record as flows
from gateway.flows.record import PHONE_CHANGE, FlowNotFoundError, FlowRecord
from gateway.methods import otp
from gateway.models import Account, LoginSession
from gateway.services import audit, links, phone_change
from gateway.services.events import emit
from gateway.services.throttle import Attempt
from gateway.store.access import store
from policies import phone_change as rules
from policies.identifiers import mask_bhxh

PURPOSE = "phone_change"
DAY = 24 * 3600
AUDIT_REASON = "self-service: recent level-2 VNeID sign-in, code to the new number"


class PhoneChangeRefusedError(GatewayError):
    """This session may not change the phone number; ``code``: a policies/phone_change
    refusal (what the person must do instead)."""

    status = 403
    code = "phone_change_refused"


class PhoneChangeLimitError(GatewayError):
    """Too many self-service phone changes started for the account today."""

    status = 429
    code = "phone_change_rate_limited"

    def __init__(self, retry_after: int):
        super().__init__(field="phone")
        self.retry_after = retry_after


def actor_for(account: Account) -> audit.Actor:
    """The person acting on their own account, as the audit trail names them (masked)."""
    return audit.Actor(f"citizen:{mask_bhxh(account.bhxh)}", "citizen")


def refusal(session: LoginSession, account: Account) -> str | None:
    """None when this session may change the account's phone, else the refusal code."""
    link = links.link_of_account(account.id)
    now = utcnow()
    return rules.refusal(
        amr=list(session.amr or ()), acr=session.acr,
        auth_age=(now - as_utc(session.auth_time)).total_seconds(),
        link_level=link.level if link else None,
        link_age=(now - as_utc(link.linked_at)).total_seconds() if link else None)


def session_of(sid: str | None, account: Account) -> LoginSession:
    """The live session an access token was issued under (its ``sid``): the API judges the
    sign-in the token rests on exactly as the pages judge the browser's. A token with no
    session behind it any more rests on no VNeID sign-in."""
    session = LoginSession.query.filter_by(sid=sid, account_id=account.id).first() \
        if sid else None
    if session is None or session.revoked_at is not None or \
            as_utc(session.expires_at) <= utcnow():
        raise PhoneChangeRefusedError(rules.NEEDS_VNEID)
    return session


def _require(session: LoginSession, account: Account) -> None:
    code = refusal(session, account)
    if code is not None:
        emit("account.phone_change_refused", account_id=account.id, reason=code,
             via="vneid", commit=True)
        raise PhoneChangeRefusedError(code)


def _bound(session: LoginSession) -> dict[str, str]:
    return {"sid": session.sid}


def _count_start(account: Account) -> None:
    key = "{pcs:" + str(account.id) + "}:starts"
    if store().incr(key, DAY) > rules.STARTS_PER_DAY:
        raise PhoneChangeLimitError(DAY)


def start(session: LoginSession, account: Account, new_phone: str, *,
          locale: str = "vi") -> tuple[FlowRecord, otp.OtpChallenge]:
    """Check the session and the number, then send a code to the new number."""
    _require(session, account)
    new = phone_change.new_number(account, new_phone)
    _count_start(account)
    record = flows.new(PHONE_CHANGE, bound_to=_bound(session), context={
        "account_id": account.id, "new_phone": new, "old_phone": account.phone})
    sent = otp.issue(account_id=account.id, phone=new, purpose=PURPOSE, flow_id=record.id,
                     locale=locale)
    emit("account.phone_change_started", account_id=account.id, new=sent.masked_phone,
         via="vneid")
    db.session.commit()
    record.context["otp_sent_to"] = sent.masked_phone
    flows.save(record)
    return record, sent


def resume(flow_id, session: LoginSession, account: Account, *, step: str) -> FlowRecord:
    """This session's change (FlowError when there is none, or not at ``step``)."""
    record = flows.load(PHONE_CHANGE, flow_id, bound_to=_bound(session))
    if record.context.get("account_id") != account.id:
        raise FlowNotFoundError()
    record.step(step)
    return record


def resend(record: FlowRecord, session: LoginSession, account: Account, *,
           locale: str = "vi") -> otp.OtpChallenge:
    record.step("resend")
    _require(session, account)
    sent = otp.issue(account_id=account.id, phone=record.context["new_phone"],
                     purpose=PURPOSE, flow_id=record.id, locale=locale)
    db.session.commit()
    flows.advance(record, "otp_sent")
    return sent


def confirm(record: FlowRecord, session: LoginSession, account: Account, code: str, *,
            address: str) -> tuple[str, str]:
    """The code from the new number: then the phone moves (every session ends, this one
    too). Returns the old and the new number, masked."""
    record.step("confirm")
    _require(session, account)
    attempt = Attempt(account.bhxh, address).begin()
    try:
        otp.verify(account_id=account.id, purpose=PURPOSE, flow_id=record.id, code=code)
    except otp.OtpError:
        attempt.failed(account.id)
        raise
    attempt.succeeded()
    flows.consume(record)  # FlowNotFoundError for the loser of two submissions
    return phone_change.move(
        account, record.context["new_phone"], actor=actor_for(account), reason=AUDIT_REASON,
        by="user", event={"via": "vneid"}, expected_old=record.context["old_phone"])
