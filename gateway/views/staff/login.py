"""Signing in to and out of the console: username, password and a TOTP code.

One answer for an unknown username, a wrong password, a wrong or reused code and a disabled
account (gateway/services/staff.py does the same work for each); a locked name says for how
long. The session is the console's own (session.py), started only after every check passed.
"""

from __future__ import annotations

from flask import g, redirect, request, url_for

from gateway.errors import AuthenticationError
from gateway.services import staff as staff_service
from gateway.services import staff_sessions
from gateway.services.throttle import LockedError, ThrottledError, client_address
from gateway.views.staff import bp
from gateway.views.staff.render import console_message, console_page
from gateway.views.staff.session import (
    COOKIE,
    clear_cookie,
    form_ok,
    set_cookie,
    staff_required,
)

# Why a session just ended, as the sign-in page says it (?why=...); anything else: nothing.
_NOTICES = {"idle_timeout": "staff_idle_timeout", "expired": "staff_expired",
            "signed_out": "staff_signed_out"}


def _form(status: int = 200, error: str | None = None, username: str = "", minutes: int = 0,
          notice: str | None = None):
    return console_page("staff/login.html", status, error=error, username=username,
                        minutes=minutes, notice=notice)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        found = staff_sessions.find(request.cookies.get(COOKIE))
        if found.staff is not None:
            return redirect(url_for("staff.home"), 302)
        return _form(notice=_NOTICES.get(request.args.get("why", "")))
    if not form_ok():
        return _form(400, "csrf_failed")
    username = request.form.get("username", "")[:64]
    try:
        staff = staff_service.check_sign_in(username, request.form.get("password", ""),
                                            request.form.get("totp", ""),
                                            address=client_address())
    except AuthenticationError:
        return _form(401, "staff_invalid_credentials", username)
    except (LockedError, ThrottledError) as exc:
        code = "staff_locked" if isinstance(exc, LockedError) else exc.code
        response = _form(429, code, username, minutes=-(-exc.retry_after // 60))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    handle = staff_sessions.start(staff, address=client_address())
    response = redirect(url_for("staff.home"), 302)
    set_cookie(response, handle)
    return response


@bp.route("/logout", methods=["POST"])
@staff_required()
def logout():
    if not form_ok():
        return console_message("csrf_failed", 400)
    staff_sessions.end(g.staff_session, "signed_out")
    response = redirect(url_for("staff.login", why="signed_out"), 302)
    clear_cookie(response)
    return response
