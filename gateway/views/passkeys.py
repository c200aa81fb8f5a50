"""The person's passkeys in the browser: /account/passkeys lists them, adds one (the page's
script runs navigator.credentials.create() with the options from /account/passkeys/options),
renames and removes them. CSRF-protected forms and same-origin fetches; the work is
gateway/methods/webauthn.py and gateway/services/passkeys.py, the same code the app's JSON API
calls (gateway/views/passkeys_api.py).

A registration's challenge is bound to the account and this very session: an options answer
is worth nothing in another session. Removing the last passkey asks for the password
(policies/passkeys.py says why).
"""

from __future__ import annotations

import json

from flask import Blueprint, jsonify, redirect, request, url_for

from gateway.clock import as_utc, utcnow
from gateway.errors import AuthenticationError, GatewayError
from gateway.extensions import db
from gateway.methods import webauthn
from gateway.methods.password import check_password
from gateway.services import passkeys, sessions
from gateway.services.throttle import client_address
from gateway.views.pages import csrf_ok, csrf_token, render
from policies.passkeys import registration_needs_password

bp = Blueprint("passkeys", __name__)


def _binding(account, session) -> str:
    return f"page:{account.id}:{session.sid}"


def _page(session, account, status=200, *, error=None, done=None):
    owned = passkeys.list_for(account)
    age = (utcnow() - as_utc(session.auth_time)).total_seconds()
    usable = [p.id for p in owned if p.disabled_at is None]
    return render("account_passkeys.html", status, csrf_token=csrf_token(), passkeys=owned,
                  error=error, done=done, last=usable[0] if len(usable) == 1 else None,
                  needs_password=registration_needs_password(age))


def _signed_in():
    session, account = sessions.current_session()
    if account is None:
        return None, None, render("message.html", 401, message="sign_in_first")
    return session, account, None


@bp.get("/account/passkeys")
def index():
    session, account, answer = _signed_in()
    if account is None:
        return answer
    return _page(session, account, done=request.args.get("done") if request.args.get("done") in (
        "passkey_added_done", "passkey_removed_done", "passkey_renamed_done") else None)


@bp.post("/account/passkeys/options")
def options():
    session, account, _ = _signed_in()
    if account is None:
        return jsonify(error="sign_in_first"), 401
    if not csrf_ok():
        return jsonify(error="csrf_failed"), 400
    age = (utcnow() - as_utc(session.auth_time)).total_seconds()
    try:
        return jsonify(webauthn.registration_options(
            account, _binding(account, session), session_age=age,
            password=request.form.get("password", ""), address=client_address()))
    except AuthenticationError:
        return jsonify(error="invalid_current_password"), 401
    except GatewayError as exc:
        response = jsonify(error=exc.code)
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response, exc.status


@bp.post("/account/passkeys")
def add():
    session, account, answer = _signed_in()
    if account is None:
        return answer
    if not csrf_ok():
        return _page(session, account, 400, error="csrf_failed")
    try:
        credential = json.loads(request.form.get("credential", "") or "null")
    except ValueError:
        credential = None
    try:
        webauthn.register(account, _binding(account, session), credential,
                          request.form.get("name", "")[:200])
    except GatewayError as exc:
        db.session.rollback()
        return _page(session, account, exc.status, error=exc.code)
    return redirect(url_for("passkeys.index", done="passkey_added_done"), 303)


@bp.post("/account/passkeys/<int:passkey_id>/rename")
def rename(passkey_id: int):
    session, account, answer = _signed_in()
    if account is None:
        return answer
    if not csrf_ok():
        return _page(session, account, 400, error="csrf_failed")
    try:
        passkeys.rename(account, passkey_id, request.form.get("name", "")[:200])
    except GatewayError as exc:
        db.session.rollback()
        return _page(session, account, exc.status, error=exc.code)
    return redirect(url_for("passkeys.index", done="passkey_renamed_done"), 303)


@bp.post("/account/passkeys/<int:passkey_id>/remove")
def remove(passkey_id: int):
    session, account, answer = _signed_in()
    if account is None:
        return answer
    if not csrf_ok():
        return _page(session, account, 400, error="csrf_failed")
    password = request.form.get("password", "")
    try:
        if password:
            check_password(account.bhxh, password, address=client_address())
        passkeys.remove(account, passkey_id, password_checked=bool(password))
    except AuthenticationError:
        return _page(session, account, 401, error="invalid_current_password")
    except GatewayError as exc:
        db.session.rollback()
        return _page(session, account, exc.status, error=exc.code)
    return redirect(url_for("passkeys.index", done="passkey_removed_done"), 303)
