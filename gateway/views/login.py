"""The login page: a plain form posting `username` and `password`, CSRF-protected."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, redirect, request, url_for

from gateway.errors import AuthenticationError
from gateway.extensions import db
from gateway.flows import login as login_flow
from gateway.methods.password import check_password
from gateway.models import Account
from gateway.services import passwords, sessions
from gateway.services.events import emit
from gateway.services.throttle import LockedError, ThrottledError, client_address
from gateway.views.pages import allow_form_redirect, csrf_ok, csrf_token, error_page, render
from policies.identifiers import login_name

bp = Blueprint("login", __name__)


def _form(flow_id: str, status: int = 200, error: str | None = None, username: str = "",
          minutes: int = 0):
    return render("login.html", status=status, flow=flow_id, csrf_token=csrf_token(),
                  error=error, minutes=minutes, username=username)


@bp.route("/login", methods=["GET", "POST"])
def login():
    flow_id = request.values.get("flow", "")
    record = login_flow.load(flow_id)
    if record is None:
        return error_page("flow_expired", "flow_expired", 400)
    allow_form_redirect(login_flow.redirect_target(record))  # the POST ends at the client
    if request.method == "GET":
        return _form(flow_id)
    if not csrf_ok():
        return _form(flow_id, 400, "csrf_failed")
    username = login_name(request.form.get("username", "")) or ""
    password = request.form.get("password", "")
    try:
        account = check_password(username or None, password, address=client_address())
    except AuthenticationError:
        return _form(flow_id, 401, "invalid_credentials", username)
    except (LockedError, ThrottledError) as exc:
        response = _form(flow_id, 429, exc.code, username, minutes=-(-exc.retry_after // 60))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if passwords.change_required(account):
        why = "must_change" if account.must_change_password else "expired"
        login_flow.require_password_change(flow_id, record, account.id, why)
        emit("login.password_change_required", account_id=account.id, why=why, commit=True)
        return redirect(url_for("login.change_password", flow=flow_id), 302)
    return _signed_in(flow_id, record, account)


def _signed_in(flow_id, record, account):
    handle, session = sessions.start_session(account, amr=["pwd"])
    emit("login.succeeded", account_id=account.id, method="pwd", sid=session.sid, commit=True)
    login_flow.authenticated(flow_id, record, session.sid)
    query = [*map(tuple, record["query"]), ("login_flow", flow_id)]
    response = redirect("/authorize?" + urlencode(query), 302)
    sessions.set_cookie(response, handle)
    return response


def _change_form(flow_id, record, status=200, errors=()):
    return render("change_password.html", status=status, flow=flow_id, csrf_token=csrf_token(),
                  why=record.get("why"), errors=list(errors))


@bp.route("/login/password", methods=["GET", "POST"])
def change_password():
    """The forced change after a correct issued or expired password; nothing is issued first."""
    flow_id = request.values.get("flow", "")
    record = login_flow.load(flow_id)
    if record is None or record.get("state") != "password_change_required":
        return error_page("flow_expired", "flow_expired", 400)
    allow_form_redirect(login_flow.redirect_target(record))
    if request.method == "GET":
        return _change_form(flow_id, record)
    if not csrf_ok():
        return _change_form(flow_id, record, 400, ["csrf_failed"])
    account = db.session.get(Account, record["account_id"])
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    try:
        check_password(account.bhxh, current, address=client_address())
    except AuthenticationError:
        return _change_form(flow_id, record, 401, ["invalid_current_password"])
    except (LockedError, ThrottledError) as exc:
        return _change_form(flow_id, record, 429, [exc.code])
    if new != request.form.get("confirm_password", ""):
        return _change_form(flow_id, record, 400, ["password_mismatch"])
    try:
        passwords.change_password(account, new, reason=record.get("why", "must_change"),
                                  current_password=current)
    except passwords.PasswordRejectedError as exc:
        return _change_form(flow_id, record, 400, exc.violations)
    return _signed_in(flow_id, record, account)
