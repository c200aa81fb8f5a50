"""Signing in with VNeID, on the flow record (kind ``vneid_login``, drawn in
gateway.flows.record): the upstream round trip, the linking rules, then a session.

    start (the login page's "Đăng nhập bằng VNeID", /authorize?idp=vneid for the app, or a
           page of the gateway's own that needs a fresh VNeID sign-in: ?return=phone)
      └─► the upstream (providers/vneid.py) ─► callback: the identity, checked
            └─► services/links.settle (policies/linking.py decides)
                  sign_in | link | create ─► a session (portal: the login flow goes on;
                                             app: the one-device rule, then a code;
                                             return: back to that page)
                  prove ─► the account's password ─► an SMS code ─► links.link_proven ─► as above
                  declare | review | refuse ─► a page says what to do; nothing else

Why the record id is the upstream ``state``: the callback must find the sign-in it answers,
and the browser carries nothing else back. The record is bound to the browser that started
it (a random value in its signed session cookie, the key's part), so a callback opened in
another browser — a mix-up or a code injected into someone else's session — finds nothing,
and the callback takes the record first, so a replayed or doubled callback finds nothing
either. The nonce and the PKCE verifier live only in the record.

Nothing is half done: the upstream's answer is checked completely before anything is written
(an unreachable upstream, a bad token: a page, no link), and each link, account or case is
one transaction in services/links.py. A proof (password, then an OTP to the account's phone)
belongs to this record alone — the code is issued for its id — and the password counts
towards the login name's lock like any password check.

The session rests on VNeID: ``amr`` holds ``vneid`` (plus ``pwd``, ``otp``, ``sms`` for what
else was shown), and its level is the identity's (with a proof, at least the account's), so
``acr`` and every onward token say what the sign-in really was (Decree 69/2024 Art. 19).

Over 250 lines: one state machine — the start, the callback, the proof and the app's device
rule all end in the same finishing steps on the same record; split, each piece would have to
reach into the others' context keys.

Exceptions: VneidSignInError (a page for the person, a stable code), FlowError, and what
check_password / the OTP engine raise (AuthenticationError, LockedError, ThrottledError,
OtpError), DeviceChangedError.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from flask import current_app

from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.flows import login as login_flow
from gateway.flows import record as flows
from gateway.flows.record import VNEID_LOGIN, FlowNotFoundError, FlowRecord
from gateway.methods import otp
from gateway.methods.password import check_password
from gateway.models import Account, LoginSession
from gateway.services import devices, links, sessions
from gateway.services.events import emit
from gateway.services.throttle import Attempt
from policies.linking import CREATE, LINK, PROVE, SIGN_IN, VneidIdentity, register_agrees
from providers.vneid import VneidError

log = logging.getLogger(__name__)
PROOF_PURPOSE = "vneid_link"
TAKEOVER_PURPOSE = "takeover"
SIGNED_IN = (SIGN_IN, LINK, CREATE)


class VneidSignInError(GatewayError):
    """The VNeID sign-in ended here; ``code``: vneid_unavailable (try again later),
    vneid_cancelled (the person said no upstream), vneid_refused (the upstream refused),
    vneid_invalid (its answer did not check out), vneid_account_inactive."""

    status = 400
    code = "vneid_invalid"

    def __init__(self, code: str, *, reason: str = "", login_flow: str | None = None,
                 back: str | None = None):
        super().__init__(code, detail=reason)
        self.status = 502 if code == "vneid_unavailable" else 400
        self.login_flow = login_flow  # the portal's sign-in to go back to
        self.back = back              # the app's redirect, with an error


@dataclass(frozen=True)
class Outcome:
    """Where a step leaves the person: ``kind`` is signed_in (portal: ``handle`` and
    ``location``), app_signed_in (``location``: back to /authorize), prove, device_conflict
    (``flow_id``: the next page's), or declare / review / refuse (``reason``; a page)."""

    kind: str
    location: str | None = None
    handle: str | None = None
    flow_id: str | None = None
    reason: str | None = None
    login_flow: str | None = None
    back: str | None = None


@dataclass(frozen=True)
class AppSignedIn:
    account: Account
    session: LoginSession


def _bound(browser: str) -> dict[str, str]:
    return {"browser": hashlib.sha256(browser.encode()).hexdigest()}


def _client():
    return current_app.extensions["gateway.vneid"]


def _register():
    return current_app.extensions["gateway.insurance_register"]


def _failed(exc: VneidError, record_ctx: dict) -> VneidSignInError:
    emit("vneid.failed", reason=exc.reason, upstream_error=exc.upstream_error, commit=True)
    if exc.retryable:
        code = "vneid_unavailable"
    elif exc.reason == "upstream_error":
        code = "vneid_cancelled" if exc.upstream_error == "access_denied" else "vneid_refused"
    else:
        code = "vneid_invalid"
    return VneidSignInError(code, reason=exc.reason, login_flow=record_ctx.get("login_flow"),
                            back=_app_back(record_ctx, code))


def _app_back(ctx: dict, error_description: str) -> str | None:
    """For the app: its redirect URI with access_denied, so it learns the sign-in ended."""
    if "app" not in ctx:
        return None
    query = dict(ctx["app"])
    params = [("error", "access_denied"), ("error_description", error_description)]
    if query.get("state"):
        params.append(("state", query["state"]))
    params.append(("iss", current_app.config["ISSUER"]))
    uri = query["redirect_uri"]
    return uri + ("&" if "?" in uri else "?") + urlencode(params)


# --- the start ------------------------------------------------------------------------------


def start_web(login_flow_id, *, browser: str | None) -> str:
    """The portal's login page sent the person here: the upstream's URL. The login flow must
    be this browser's and waiting for a sign-in (FlowError otherwise); its lifetime starts
    again, since the person is away at VNeID."""
    login = login_flow.resume(login_flow_id, browser=browser, step="sign_in")
    flows.save(login)
    return _start(browser, {"login_flow": login.id})


def start_app(query: list[tuple[str, str]], *, browser: str) -> str:
    """An app's /authorize?idp=vneid (validated by the grant): the upstream's URL."""
    return _start(browser, {"app": [list(pair) for pair in query]})


#: The gateway's own pages a VNeID sign-in may return to (``?return=<name>``): a fixed list,
#: so the start can never be made to send the browser elsewhere.
RETURNS = {"phone": "/account/phone"}


def start_return(target: str, *, browser: str) -> str:
    """A page of the gateway's own needs a fresh VNeID sign-in (the self-service phone
    change): the upstream's URL; the session it ends in goes back to that page. ValueError
    for a page not in RETURNS."""
    return _start(browser, {"return": RETURNS[target]})


def _start(browser: str, origin: dict) -> str:
    record = flows.new(VNEID_LOGIN, bound_to=_bound(browser), context=origin)
    try:
        request = _client().authorization_request(state=record.id)
    except VneidError as exc:
        raise _failed(exc, origin) from None
    record.context.update(nonce=request.nonce, verifier=request.code_verifier)
    flows.save(record)
    return request.url


# --- the callback ---------------------------------------------------------------------------


def callback(params: dict, *, browser: str | None, address: str) -> Outcome:
    """The upstream sent the person back. FlowNotFoundError when this browser has no such
    sign-in (never started here, another browser's, already answered); VneidSignInError when
    the upstream's answer is a refusal or does not check out."""
    if not browser:
        raise FlowNotFoundError()
    record = flows.load(VNEID_LOGIN, params.get("state"), bound_to=_bound(browser))
    record.step("callback")
    record = flows.claim(record)
    if "login_flow" in record.context:
        # The portal's sign-in must still be waiting: nothing is linked for a flow that
        # could not end in a session.
        login_flow.resume(record.context["login_flow"], browser=browser, step="sign_in")
    try:
        identity = _client().identity_from_callback(
            params, state=record.id, nonce=record.context["nonce"],
            code_verifier=record.context["verifier"])
    except VneidError as exc:
        raise _failed(exc, record.context) from None
    record.context["identity"] = _dump(identity)
    return _settle(record, identity, browser=browser)


def _settle(record: FlowRecord, identity: VneidIdentity, *, browser: str) -> Outcome:
    found = _register().find(identity.id_number) if identity.id_number else None
    knows = found is not None and register_agrees(identity, found.full_name, found.date_of_birth)
    settlement = links.settle(identity, register_knows=knows,
                              bhxh=found.bhxh_number if knows else None)
    return _after_rules(record, identity, settlement, browser=browser, proved_account=None)


def _after_rules(record: FlowRecord, identity: VneidIdentity, settlement, *, browser: str,
                 proved_account: int | None) -> Outcome:
    decision = settlement.decision
    account = settlement.account
    if decision.kind in SIGNED_IN or (decision.kind == PROVE and proved_account is not None
                                      and account is not None
                                      and account.id == proved_account):
        proved = account is not None and account.id == proved_account
        return _signed_in(record, identity, account, decision.kind, browser=browser,
                          proved=proved)
    if decision.kind == PROVE:
        flows.advance(record, "proof_password", account_id=account.id)
        return Outcome("prove", flow_id=record.id)
    emit("vneid.stopped", decision=decision.kind, reason=decision.reason,
         subject_ref=links.subject_ref(identity.subject), commit=True)
    return Outcome(decision.kind, reason=decision.reason,
                   login_flow=record.context.get("login_flow"),
                   back=_app_back(record.context, decision.kind))


def _signed_in(record: FlowRecord, identity: VneidIdentity, account: Account, how: str, *,
               browser: str, proved: bool) -> Outcome:
    if account is None or not account.is_active:
        raise VneidSignInError("vneid_account_inactive", login_flow=record.context.get(
            "login_flow"), back=_app_back(record.context, "account_inactive"))
    amr = ["vneid", "pwd", "otp", "sms"] if proved else ["vneid"]
    level = max(identity.level, account.level) if proved else identity.level
    record.context.update(account_id=account.id, amr=amr, level=level, how=how)
    if "app" in record.context:
        return _device_step(record, account)
    if "return" in record.context:
        handle, session = sessions.start_session(account, amr=amr, level=level)
        emit("vneid.signed_in", account_id=account.id, kind="browser", how=how, level=level,
             sid=session.sid, commit=True)
        return Outcome("signed_in", location=record.context["return"], handle=handle)
    login = login_flow.resume(record.context["login_flow"], browser=browser, step="sign_in")
    handle, session = sessions.start_session(account, amr=amr, level=level)
    emit("vneid.signed_in", account_id=account.id, kind="browser", how=how, level=level,
         sid=session.sid, commit=True)
    done = login_flow.authenticated(login, handle, session)
    return Outcome("signed_in", location=done.location, handle=done.handle)


# --- the proof (rule 3) ---------------------------------------------------------------------


def resume(flow_id, *, browser: str | None, step: str) -> FlowRecord:
    """The record a page of this flow serves; FlowError when it is not this browser's or the
    step does not fit its state."""
    if not browser:
        raise FlowNotFoundError()
    record = flows.load(VNEID_LOGIN, flow_id, bound_to=_bound(browser))
    record.step(step)
    return record


def redirect_target(record: FlowRecord, *, browser: str | None) -> str | None:
    """The client's redirect URI this sign-in ends at (a page's form may lead there, through
    /authorize: gateway.views.pages.allow_form_redirect)."""
    if "app" in record.context:
        return dict(record.context["app"]).get("redirect_uri")
    if "return" in record.context:
        return None
    try:
        login = login_flow.resume(record.context.get("login_flow"), browser=browser,
                                  step="sign_in")
    except flows.FlowError:
        return None
    return login_flow.redirect_target(login)


def _account(record: FlowRecord) -> Account:
    account = db.session.get(Account, record.context.get("account_id"))
    if account is None or not account.is_active:
        raise FlowNotFoundError()
    return account


def proof_account(record: FlowRecord) -> Account:
    """The account the person is asked to prove (its masked number is shown)."""
    return _account(record)


def prove_password(record: FlowRecord, password: str, *, address: str) -> otp.OtpChallenge:
    """The account's password, checked as any sign-in's (lock, throttling), then an SMS code
    for this record only. AuthenticationError / LockedError / ThrottledError / OtpError."""
    record.step("prove_password")
    account = _account(record)
    check_password(account.bhxh, password, address=address)
    sent = otp.issue(account_id=account.id, phone=account.phone, purpose=PROOF_PURPOSE,
                     flow_id=record.id)
    db.session.commit()
    flows.advance(record, "proof_otp", otp_sent_to=sent.masked_phone)
    return sent


def resend_proof(record: FlowRecord) -> otp.OtpChallenge:
    record.step("resend_proof")
    account = _account(record)
    sent = otp.issue(account_id=account.id, phone=account.phone, purpose=PROOF_PURPOSE,
                     flow_id=record.id)
    db.session.commit()
    flows.advance(record, "proof_otp", otp_sent_to=sent.masked_phone)
    return sent


def prove_otp(record: FlowRecord, code: str, *, browser: str, address: str) -> Outcome:
    """The code sent to the account's phone; then the link (the rules run again on today's
    facts) and the session. OtpError / LockedError / ThrottledError; FlowNotFoundError for
    the loser of two submissions."""
    record.step("prove_otp")
    account = _account(record)
    _verify(record, account, code, PROOF_PURPOSE, address)
    record = flows.claim(record)
    identity = _identity(record.context["identity"])
    settlement = links.link_proven(identity, account.id)
    return _after_rules(record, identity, settlement, browser=browser,
                        proved_account=account.id)


def _verify(record: FlowRecord, account: Account, code: str, purpose: str,
            address: str) -> None:
    """An SMS code for this record: counted on the login name like a password."""
    attempt = Attempt(account.bhxh, address).begin()
    try:
        otp.verify(account_id=account.id, purpose=purpose, flow_id=record.id, code=code)
    except otp.OtpError:
        attempt.failed(account.id)
        raise
    attempt.succeeded()


# --- the app: one active device ---------------------------------------------------------------


def _device_claim(record: FlowRecord) -> devices.DeviceClaim:
    query = dict(record.context["app"])
    return devices.DeviceClaim(query["device_id"], query["device_name"], query["dpop_jkt"],
                               query["client_id"])


def _device_step(record: FlowRecord, account: Account) -> Outcome:
    active = devices.active_device(account.id)
    claim = _device_claim(record)
    if active is None or devices.is_same_device(active, claim):
        return _finish_app(record, account, active, takeover=False)
    flows.advance(record, "device_conflict", expected_version=active.version)
    emit("device.conflict", account_id=account.id, client_id=claim.client_id, commit=True)
    return Outcome("device_conflict", flow_id=record.id)


def active_device(record: FlowRecord):
    """The device the warning names."""
    return devices.active_device(_account(record).id)


def takeover(record: FlowRecord) -> otp.OtpChallenge:
    """The person continues on this device: an SMS code to the account's phone."""
    record.step("takeover")
    account = _account(record)
    sent = otp.issue(account_id=account.id, phone=account.phone, purpose=TAKEOVER_PURPOSE,
                     flow_id=record.id)
    db.session.commit()
    flows.advance(record, "device_otp", otp_sent_to=sent.masked_phone)
    return sent


def device_otp(record: FlowRecord, code: str, *, address: str) -> Outcome:
    """The takeover code; then this device replaces the other (compare-and-set)."""
    record.step("device_otp")
    account = _account(record)
    _verify(record, account, code, TAKEOVER_PURPOSE, address)
    record = flows.claim(record)
    amr = record.context["amr"]
    record.context["amr"] = [*amr, *(m for m in ("otp", "sms") if m not in amr)]
    active = devices.active_device(account.id)
    if active is None or active.version != record.context["expected_version"]:
        raise devices.DeviceChangedError()
    return _finish_app(record, account, active, takeover=True)


def _finish_app(record: FlowRecord, account: Account, active, *, takeover: bool) -> Outcome:
    ctx = record.context
    claim = _device_claim(record)
    old = devices.snapshot(active) if active is not None else None
    _, session = sessions.start_session(account, amr=ctx["amr"], kind="app",
                                        device_id=claim.device_id, level=ctx["level"])
    try:
        devices.bind(account, claim, session.sid,
                     expected_version=old["version"] if old else None)
    except devices.DeviceChangedError:
        sessions.end_session(session, "device_changed")
        raise
    if old is not None:
        devices.replace(account, old, claim, takeover=takeover)
    emit("vneid.signed_in", account_id=account.id, client_id=claim.client_id, kind="app",
         how=ctx["how"], level=ctx["level"], sid=session.sid, commit=True)
    flows.advance(record, "signed_in", sid=session.sid)
    query = [*map(tuple, ctx["app"]), ("vneid_flow", record.id)]
    return Outcome("app_signed_in", location="/authorize?" + urlencode(query))


def returned_app(flow_id, *, browser: str | None, request: dict) -> AppSignedIn | None:
    """/authorize came back from a finished app sign-in: takes the record (once) and gives
    its session, when the request is the very one that started it; None otherwise."""
    if not flow_id or not browser:
        return None
    try:
        record = flows.take(VNEID_LOGIN, flow_id, bound_to=_bound(browser))
    except flows.FlowError:
        return None
    started = dict(record.context["app"])
    if any(started.get(name) != request.get(name) for name in (
            "client_id", "redirect_uri", "code_challenge", "dpop_jkt", "nonce", "state")):
        return None
    session = LoginSession.query.filter_by(sid=record.context.get("sid")).first()
    if session is None or session.revoked_at is not None:
        return None
    account = db.session.get(Account, session.account_id)
    if account is None or not account.is_active:
        return None
    return AppSignedIn(account, session)


# --- the identity kept in the record --------------------------------------------------------


def _dump(identity: VneidIdentity) -> dict:
    return {"subject": identity.subject, "id_number": identity.id_number,
            "full_name": identity.full_name,
            "birthdate": identity.birthdate.isoformat() if identity.birthdate else None,
            "sex": identity.sex, "phone": identity.phone, "level": identity.level,
            "account_type": identity.account_type}


def _identity(data: dict) -> VneidIdentity:
    born = data.get("birthdate")
    return VneidIdentity(**{**data, "birthdate": date.fromisoformat(born) if born else None})
