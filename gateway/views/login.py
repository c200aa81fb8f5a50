"""The login pages: a plain form posting `username` and `password`, then, when the password
must be changed first, a second form; beside it, signing in with a passkey (the page carries
the request options, its challenge made for this flow and browser; the page's script runs
navigator.credentials.get() — conditional UI in the username field's autofill, or the button —
and posts the assertion to /login/passkey). CSRF-protected;
the steps are gateway.flows.login.

A flow that is gone, belongs to another browser, or is not at this page's step answers
``flow_expired``.
"""

from __future__ import annotations

import json

from flask import Blueprint, redirect, request, url_for

from gateway.errors import AuthenticationError, GatewayError, ValidationError
from gateway.flows import login as login_flow
from gateway.flows.record import FlowError
from gateway.methods.password import IssuedPasswordExpiredError
from gateway.services import sessions
from gateway.services.throttle import LockedError, ThrottledError, client_address
from gateway.views.pages import (
    allow_form_redirect,
    browser_secret,
    csrf_ok,
    csrf_token,
    error_page,
    render,
)
from policies.identifiers import login_name

bp = Blueprint("login", __name__)


def _flow(step: str):
    flow_id = request.values.get("flow", "")
    record = login_flow.resume(flow_id, browser=browser_secret(create=False), step=step)
    allow_form_redirect(login_flow.redirect_target(record))  # the POST ends at the client
    return record


def _form(record, status: int = 200, error: str | None = None, username: str = "",
          minutes: int = 0):
    return render("login.html", status=status, flow=record.id, csrf_token=csrf_token(),
                  error=error, minutes=minutes, username=username,
                  passkey_first=login_flow.asks_for_passkey(record),
                  passkey_options=login_flow.passkey_options(record))


def _signed_in(done: login_flow.SignedIn):
    response = redirect(done.location, 302)
    sessions.set_cookie(response, done.handle)
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    try:
        record = _flow("sign_in")
    except FlowError:
        return error_page("flow_expired", "flow_expired", 400)
    if request.method == "GET":
        return _form(record)
    if not csrf_ok():
        return _form(record, 400, "csrf_failed")
    username = login_name(request.form.get("username", "")) or ""
    try:
        done = login_flow.sign_in(record, username or None, request.form.get("password", ""),
                                  address=client_address())
    except IssuedPasswordExpiredError:
        return _form(record, 401, "issued_password_expired", username)
    except AuthenticationError:
        return _form(record, 401, "invalid_credentials", username)
    except (LockedError, ThrottledError) as exc:
        response = _form(record, 429, exc.code, username, minutes=-(-exc.retry_after // 60))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if done is None:
        return redirect(url_for("login.change_password", flow=record.id), 302)
    return _signed_in(done)


@bp.post("/login/passkey")
def passkey():
    """The assertion, from the page's script through a plain form post."""
    try:
        record = _flow("sign_in")
    except FlowError:
        return error_page("flow_expired", "flow_expired", 400)
    if not csrf_ok():
        return _form(record, 400, "csrf_failed")
    try:
        credential = json.loads(request.form.get("credential", "") or "null")
    except ValueError:
        credential = None
    try:
        done = login_flow.sign_in_with_passkey(record, credential)
    except GatewayError as exc:  # passkey_refused, passkey_expired: one answer each
        return _form(record, exc.status, exc.code)
    return _signed_in(done)


@bp.route("/login/password", methods=["GET", "POST"])
def change_password():
    """The forced change after a correct issued or expired password; nothing is issued first."""
    try:
        record = _flow("change_password")
    except FlowError:
        return error_page("flow_expired", "flow_expired", 400)

    def page(status=200, errors=()):
        return render("change_password.html", status=status, flow=record.id,
                      csrf_token=csrf_token(), why=record.context.get("why"), errors=list(errors))

    if request.method == "GET":
        return page()
    if not csrf_ok():
        return page(400, ["csrf_failed"])
    form = request.form
    try:
        done = login_flow.change_password(
            record, form.get("current_password", ""), form.get("new_password", ""),
            form.get("confirm_password", ""), address=client_address())
    except IssuedPasswordExpiredError:
        return page(401, ["issued_password_expired"])
    except AuthenticationError:
        return page(401, ["invalid_current_password"])
    except (LockedError, ThrottledError) as exc:
        return page(429, [exc.code])
    except FlowError:
        return error_page("flow_expired", "flow_expired", 400)
    except ValidationError as exc:  # password_mismatch, or the rules (PasswordRejectedError)
        return page(400, getattr(exc, "violations", None) or [exc.code])
    return _signed_in(done)
