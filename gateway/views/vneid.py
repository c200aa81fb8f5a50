"""The VNeID sign-in's pages: the start, the callback, the proof (password, then an SMS code),
the one-device warning and its code, and the plain pages that end a sign-in without a session.
The steps are gateway.flows.vneid_login; this module reads forms, checks CSRF and renders.

    GET  /vneid/start?flow=<login flow>    the login page's "Đăng nhập bằng VNeID"
    GET  /vneid/start?return=phone         a fresh VNeID sign-in for /account/phone
    GET  /vneid/callback                   the upstream's redirect (RFC 9207 iss, state, code)
    GET|POST /vneid/prove?flow=            the account's password
    GET|POST /vneid/prove/otp?flow=        the code sent to its phone
    POST /vneid/prove/resend?flow=         a new code
    GET|POST /vneid/device?flow=           the app's one-device warning; POST: a code (again)
    GET|POST /vneid/device/otp?flow=       that code
    GET  /vneid/ended                      how the last sign-in of this browser ended

Over 250 lines: the pages of one flow, which share how a step's answer becomes a redirect
or a page (``_answer``, ``_ended``, ``_otp_step``).

A flow that is gone, another browser's or not at a page's step answers ``vneid_flow_expired``.
"""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, session, url_for

from gateway.clock import as_utc
from gateway.errors import AuthenticationError
from gateway.flows import vneid_login
from gateway.flows.record import FlowError
from gateway.flows.vneid_login import Outcome, VneidSignInError
from gateway.i18n import t
from gateway.methods.otp import OtpError
from gateway.oidc.parameters import has_repeated_parameter
from gateway.services import sessions
from gateway.services.devices import DeviceChangedError
from gateway.services.throttle import LockedError, ThrottledError, client_address
from gateway.views.pages import allow_form_redirect, browser_secret, csrf_ok, csrf_token, render
from policies.identifiers import mask_bhxh

bp = Blueprint("vneid", __name__, url_prefix="/vneid")
ENDED_KEY = "vneid_ended"  # the Flask session's key for the last ended sign-in's page

# What a sign-in that ends without a session shows: (title, message) per decision/reason.
STOPPED = {
    "declare": ("vneid_declare_title", "vneid_declare"),
    "review": ("vneid_review_title", "vneid_review"),
    "refuse": ("vneid_refuse_title", "vneid_refuse"),
}


def outcome_page(message: str, *, status: int = 400, title: str = "vneid_title",
                 login_flow: str | None = None, back: str | None = None, code: str = "",
                 register: bool = False):
    """A plain page: what happened, and where to go from here."""
    return render("vneid_outcome.html", status=status, title=title, message=message,
                  code=code or message, login_flow=login_flow, back=back,
                  register_url="/register" if register and _has_register() else None)


def error_page(exc: VneidSignInError):
    return outcome_page(exc.code, status=exc.status, login_flow=exc.login_flow, back=exc.back)


def _ended(message: str, **page):
    """A sign-in that ended after the callback (or a step of its own) is told on a page of
    its own address, /vneid/ended: the callback's URL works once, and the page must survive
    a reload or a change of language. What it says is kept in the browser's signed session
    cookie (no personal data: codes, this browser's login flow, the app's redirect)."""
    session[ENDED_KEY] = {"message": message, **page}
    return redirect(url_for("vneid.ended"), 303)


def _ended_error(exc: VneidSignInError):
    return _ended(exc.code, status=exc.status, login_flow=exc.login_flow, back=exc.back)


def _has_register() -> bool:
    """The declaration page, when the issuance part of the gateway serves it."""
    return any(rule.rule == "/register" for rule in current_app.url_map.iter_rules())


def _expired():
    return outcome_page("vneid_flow_expired", status=400, code="flow_expired")


def _answer(outcome: Outcome):
    """Where a step that went through sends the browser."""
    if outcome.kind == "signed_in":
        response = redirect(outcome.location, 302)
        sessions.set_cookie(response, outcome.handle)
        return response
    if outcome.kind == "app_signed_in":
        return redirect(outcome.location, 302)
    if outcome.kind == "prove":
        return redirect(url_for("vneid.prove", flow=outcome.flow_id), 303)
    if outcome.kind == "device_conflict":
        return redirect(url_for("vneid.device", flow=outcome.flow_id), 303)
    title, message = STOPPED[outcome.kind]
    if outcome.kind == "declare" and outcome.reason == "identity_incomplete":
        message = "vneid_declare_incomplete"
    return _ended(message, status=200, title=title, login_flow=outcome.login_flow,
                  back=outcome.back, code=f"{outcome.kind}:{outcome.reason}",
                  register=outcome.kind == "declare")


@bp.get("/ended")
def ended():
    page = session.get(ENDED_KEY)
    if not isinstance(page, dict) or "message" not in page:
        return _expired()
    return outcome_page(**page)


def _flow(step: str):
    browser = browser_secret(create=False)
    record = vneid_login.resume(request.values.get("flow", ""), browser=browser, step=step)
    allow_form_redirect(vneid_login.redirect_target(record, browser=browser))
    return record


@bp.get("/start")
def start():
    target = request.args.get("return")
    try:
        if target is not None:
            if target not in vneid_login.RETURNS:
                return _expired()
            location = vneid_login.start_return(target, browser=browser_secret())
        else:
            location = vneid_login.start_web(request.args.get("flow", ""),
                                             browser=browser_secret(create=False))
    except FlowError:
        return _expired()
    except VneidSignInError as exc:
        return error_page(exc)
    return redirect(location, 302)


@bp.get("/callback")
def callback():
    if has_repeated_parameter(request.args.lists()):
        return outcome_page("vneid_invalid", code="invalid_request")
    try:
        outcome = vneid_login.callback(request.args.to_dict(), browser=browser_secret(
            create=False), address=client_address())
    except FlowError:
        return _expired()
    except VneidSignInError as exc:
        return _ended_error(exc)
    except DeviceChangedError:
        return _ended("device_changed", status=409, code="device_changed")
    return _answer(outcome)


@bp.route("/prove", methods=["GET", "POST"])
def prove():
    try:
        record = _flow("prove_password")
        account = vneid_login.proof_account(record)
    except FlowError:
        return _expired()

    def page(status=200, error=None, minutes=0):
        return render("vneid_prove.html", status=status, flow=record.id, csrf_token=csrf_token(),
                      bhxh=mask_bhxh(account.bhxh), error=error, minutes=minutes)

    if request.method == "GET":
        return page()
    if not csrf_ok():
        return page(400, "csrf_failed")
    try:
        vneid_login.prove_password(record, request.form.get("password", ""),
                                   address=client_address())
    except AuthenticationError:
        return page(401, "invalid_password")
    except (LockedError, ThrottledError) as exc:
        response = page(429, exc.code, minutes=-(-exc.retry_after // 60))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except OtpError as exc:
        return page(exc.status, exc.code)
    except FlowError:
        return _expired()
    return redirect(url_for("vneid.prove_otp", flow=record.id), 303)


def _otp_page(record, action: str, resend: str, status=200, error=None, minutes=0):
    return render("vneid_otp.html", status=status, flow=record.id, csrf_token=csrf_token(),
                  phone=record.context.get("otp_sent_to", ""), action=action, resend=resend,
                  error=error, minutes=minutes)


def _otp_step(step: str, action: str, resend: str, finish):
    try:
        record = _flow(step)
    except FlowError:
        return _expired()
    if request.method == "GET":
        return _otp_page(record, action, resend)
    if not csrf_ok():
        return _otp_page(record, action, resend, 400, "csrf_failed")
    try:
        outcome = finish(record, request.form.get("otp", ""))
    except OtpError as exc:
        return _otp_page(record, action, resend, exc.status, exc.code)
    except (LockedError, ThrottledError) as exc:
        response = _otp_page(record, action, resend, 429, exc.code,
                             minutes=-(-exc.retry_after // 60))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except FlowError:
        return _expired()
    except VneidSignInError as exc:
        return _ended_error(exc)
    except DeviceChangedError:
        return _ended("device_changed", status=409, code="device_changed")
    return _answer(outcome)


@bp.route("/prove/otp", methods=["GET", "POST"])
def prove_otp():
    return _otp_step("prove_otp", "vneid.prove_otp", "vneid.prove_resend",
                     lambda record, code: vneid_login.prove_otp(
                         record, code, browser=browser_secret(create=False),
                         address=client_address()))


@bp.post("/prove/resend")
def prove_resend():
    try:
        record = _flow("resend_proof")
    except FlowError:
        return _expired()
    if not csrf_ok():
        return _otp_page(record, "vneid.prove_otp", "vneid.prove_resend", 400, "csrf_failed")
    try:
        vneid_login.resend_proof(record)
    except OtpError as exc:
        return _otp_page(record, "vneid.prove_otp", "vneid.prove_resend", exc.status, exc.code)
    except FlowError:
        return _expired()
    return redirect(url_for("vneid.prove_otp", flow=record.id), 303)


@bp.route("/device", methods=["GET", "POST"])
def device():
    """The app's one-device warning; POST (also from the code page): send a code."""
    try:
        record = _flow("takeover")
        active = vneid_login.active_device(record)
    except FlowError:
        return _expired()
    if active is None:
        return outcome_page("device_changed", status=409, code="device_changed")

    def page(status=200, error=None):
        seen = as_utc(active.last_seen_at).strftime("%d/%m/%Y %H:%M UTC")
        warning = t("vneid_device_warning").format(device=active.device_name, last_seen=seen)
        return render("vneid_device.html", status=status, flow=record.id,
                      csrf_token=csrf_token(), warning=warning, error=error)

    if request.method == "GET":
        return page()
    if not csrf_ok():
        return page(400, "csrf_failed")
    try:
        vneid_login.takeover(record)
    except OtpError as exc:
        if record.state != "device_otp":
            return page(exc.status, exc.code)
        return _otp_page(record, "vneid.device_otp", "vneid.device", exc.status, exc.code)
    except FlowError:
        return _expired()
    return redirect(url_for("vneid.device_otp", flow=record.id), 303)


@bp.route("/device/otp", methods=["GET", "POST"])
def device_otp():
    return _otp_step("device_otp", "vneid.device_otp", "vneid.device",
                     lambda record, code: vneid_login.device_otp(record, code,
                                                                 address=client_address()))
