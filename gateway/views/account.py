"""Self-service pages in the browser: forgot password, change password, sign out everywhere.

Each is a plain CSRF-protected form; the work is done by gateway.flows.recovery and
gateway.services.passwords, the same code the JSON API calls.
"""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for

from gateway.errors import AuthenticationError, GatewayError
from gateway.flows import recovery
from gateway.i18n import current_language
from gateway.methods import otp
from gateway.methods.password import check_password
from gateway.services import passwords, sessions
from gateway.services.sign_out import sign_out_everywhere as sign_out_all
from gateway.services.throttle import LockedError, ThrottledError, client_address
from gateway.views.pages import csrf_ok, csrf_token, render

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
