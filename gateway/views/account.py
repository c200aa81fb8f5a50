"""Self-service pages in the browser: forgot password, change password, sign out everywhere,
and change the registered phone number (only on a recent level-2 VNeID sign-in).

Each is a plain CSRF-protected form; the work is done by gateway.flows.recovery,
gateway.flows.phone_change and gateway.services.passwords, the same code the JSON API calls.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from gateway.errors import AuthenticationError, GatewayError
from gateway.extensions import db
from gateway.flows import phone_change, recovery
from gateway.flows.record import FlowError
from gateway.i18n import current_language
from gateway.methods import otp
from gateway.methods.password import check_password
from gateway.services import passwords, sessions
from gateway.services.sign_out import sign_out_everywhere as sign_out_all
from gateway.services.throttle import LockedError, ThrottledError, client_address
from gateway.views.pages import csrf_ok, csrf_token, render
from policies.identifiers import mask_phone

bp = Blueprint("account", __name__)


def _errors(exc: GatewayError) -> list[str]:
    if isinstance(exc, passwords.PasswordRejectedError):
        return exc.violations
    return [exc.code]


@bp.route("/recover", methods=["GET", "POST"])
def recover():
    if request.method == "GET":
        return render("recover.html", csrf_token=csrf_token(), errors=[])
    if not csrf_ok():
        return render("recover.html", 400, csrf_token=csrf_token(), errors=["csrf_failed"])
    try:
        result = recovery.start(request.form.get("username", ""), request.form.get("phone", ""),
                                address=client_address(), locale=current_language())
    except GatewayError as exc:
        status = exc.status
        return render("recover.html", status, csrf_token=csrf_token(), errors=_errors(exc))
    return redirect(url_for("account.recover_verify", id=result["recovery_id"],
                            to=result["otp_sent_to"]))


@bp.route("/recover/verify", methods=["GET", "POST"])
def recover_verify():
    recovery_id = request.values.get("id", "")
    masked = request.values.get("to", "")[:32]

    def page(status=200, errors=()):
        return render("recover_verify.html", status, csrf_token=csrf_token(), errors=list(errors),
                      recovery_id=recovery_id, masked=masked)

    if request.method == "GET":
        return page()
    if not csrf_ok():
        return page(400, ["csrf_failed"])
    new = request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return page(400, ["password_mismatch"])
    try:
        recovery.complete(recovery_id, request.form.get("otp", ""), new,
                          address=client_address())
    except (otp.OtpError, passwords.PasswordRejectedError, LockedError, ThrottledError) as exc:
        return page(exc.status, _errors(exc))
    return render("message.html", message="password_reset_done")


@bp.route("/account/password", methods=["GET", "POST"])
def change_password():
    session, account = sessions.current_session()
    if account is None:
        return render("message.html", 401, message="sign_in_first")

    def page(status=200, errors=()):
        return render("account_password.html", status, csrf_token=csrf_token(),
                      errors=list(errors))

    if request.method == "GET":
        return page()
    if not csrf_ok():
        return page(400, ["csrf_failed"])
    current, new = request.form.get("current_password", ""), request.form.get("new_password", "")
    if new != request.form.get("confirm_password", ""):
        return page(400, ["password_mismatch"])
    try:
        check_password(account.bhxh, current, address=client_address())
        passwords.change_password(account, new, reason="self_service", current_password=current,
                                  keep_sid=session.sid)
    except AuthenticationError:
        return page(401, ["invalid_current_password"])
    except GatewayError as exc:
        return page(exc.status, _errors(exc))
    return render("message.html", message="password_changed_done")


@bp.route("/account/sign-out-everywhere", methods=["GET", "POST"])
def sign_out_everywhere():
    session, account = sessions.current_session()
    if account is None:
        return render("message.html", 401, message="sign_in_first")
    if request.method == "GET":
        return render("sign_out_everywhere.html", csrf_token=csrf_token(), errors=[])
    if not csrf_ok():
        return render("sign_out_everywhere.html", 400, csrf_token=csrf_token(),
                      errors=["csrf_failed"])
    try:
        check_password(account.bhxh, request.form.get("password", ""), address=client_address())
    except AuthenticationError:
        return render("sign_out_everywhere.html", 401, csrf_token=csrf_token(),
                      errors=["invalid_current_password"])
    except GatewayError as exc:
        return render("sign_out_everywhere.html", exc.status, csrf_token=csrf_token(),
                      errors=_errors(exc))
    sign_out_all(account, by="user")
    response = render("message.html", message="signed_out_everywhere")
    sessions.clear_cookie(response)
    return response


# --- the registered phone, on a recent level-2 VNeID sign-in (gateway/flows/phone_change.py) --


def _phone_page(session, account, status=200, *, error=None, minutes=0, phone=""):
    return render("account_phone.html", status, csrf_token=csrf_token(),
                  current=mask_phone(account.phone),
                  refused=phone_change.refusal(session, account), error=error,
                  minutes=minutes, phone=phone)


def _limited(response, exc):
    if getattr(exc, "retry_after", None):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


@bp.route("/account/phone", methods=["GET", "POST"])
def change_phone():
    session, account = sessions.current_session()
    if account is None:
        return render("message.html", 401, message="sign_in_first")
    if request.method == "GET":
        return _phone_page(session, account)
    phone = request.form.get("phone", "")[:64]
    if not csrf_ok():
        return _phone_page(session, account, 400, error="csrf_failed", phone=phone)
    try:
        record, _ = phone_change.start(session, account, phone, locale=current_language())
    except phone_change.PhoneChangeRefusedError:
        return _phone_page(session, account, 403)
    except GatewayError as exc:
        db.session.rollback()
        return _limited(_phone_page(session, account, exc.status, error=exc.code, phone=phone,
                                    minutes=-(-(exc.retry_after or 0) // 60)), exc)
    return redirect(url_for("account.change_phone_verify", flow=record.id), 303)


def _phone_flow(step: str):
    """(session, account, record), or a page answering why not."""
    session, account = sessions.current_session()
    if account is None:
        return None, render("message.html", 401, message="sign_in_first")
    try:
        record = phone_change.resume(request.values.get("flow", ""), session, account,
                                     step=step)
    except FlowError:
        return None, render("message.html", 400, message="phone_change_expired")
    return (session, account, record), None


def _verify_page(record, status=200, *, error=None, minutes=0):
    return render("account_phone_verify.html", status, csrf_token=csrf_token(),
                  flow=record.id, phone=record.context.get("otp_sent_to", ""), error=error,
                  minutes=minutes)


@bp.route("/account/phone/verify", methods=["GET", "POST"])
def change_phone_verify():
    found, answer = _phone_flow("confirm")
    if found is None:
        return answer
    session, account, record = found
    if request.method == "GET":
        return _verify_page(record)
    if not csrf_ok():
        return _verify_page(record, 400, error="csrf_failed")
    try:
        phone_change.confirm(record, session, account, request.form.get("otp", ""),
                             address=client_address())
    except phone_change.PhoneChangeRefusedError as exc:
        return render("message.html", 403, message=exc.code)
    except FlowError:
        return render("message.html", 400, message="phone_change_expired")
    except GatewayError as exc:
        db.session.rollback()
        return _limited(_verify_page(record, exc.status, error=exc.code,
                                     minutes=-(-(exc.retry_after or 0) // 60)), exc)
    response = render("message.html", message="phone_change_done")
    sessions.clear_cookie(response)
    return response


@bp.post("/account/phone/resend")
def change_phone_resend():
    found, answer = _phone_flow("resend")
    if found is None:
        return answer
    session, account, record = found
    if not csrf_ok():
        return _verify_page(record, 400, error="csrf_failed")
    try:
        phone_change.resend(record, session, account, locale=current_language())
    except phone_change.PhoneChangeRefusedError as exc:
        return render("message.html", 403, message=exc.code)
    except GatewayError as exc:
        db.session.rollback()
        return _limited(_verify_page(record, exc.status, error=exc.code,
                                     minutes=-(-(exc.retry_after or 0) // 60)), exc)
    return redirect(url_for("account.change_phone_verify", flow=record.id), 303)
