"""The console's own session in the browser: its cookie, the sign-in guard, and form tokens.

Isolation from the citizens' side is the point. The console never reads or writes the SSO
cookie (``vssid_sso``) nor Flask's session cookie (``vssid_ui``): it has one cookie of its own,
``vssid_staff`` — Path=/staff, HttpOnly, SameSite=Strict, Secure when the issuer is https —
holding a random handle of a server-side session (gateway/services/staff_sessions.py). So a
citizen's session never opens the console, a console session never signs anyone in as a
citizen, and a page elsewhere on the origin cannot even see the console's cookie.

CSRF: every console form carries a token that is an HMAC, under a key of its own, of the
session handle (signed in) or of a random pre-sign-in cookie ``vssid_staff_form`` (the sign-in
form). A token from another session or browser does not match; SameSite=Strict is a second
fence, not the only one.

Public surface (what the console's pages use)::

    staff_required(*roles)   decorator: g.staff (StaffAccount), g.staff_session; else the
                             sign-in page (302) or, for a role not listed, 403
    current_actor()          audit.Actor of the signed-in staff member
    form_token(), form_ok()  the CSRF token of this page's forms, and its check on POST
    view_ticket(id), view_ticket_ok(id, ticket)   an account page opened by a look-up
    set_cookie(response, handle), clear_cookie(response)
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets

from flask import current_app, g, redirect, request, url_for

from gateway.crypto.secrets import derive_key
from gateway.services import audit, staff_sessions

COOKIE = "vssid_staff"
FORM_COOKIE = "vssid_staff_form"
PATH = "/staff"
_NEW_FORM_COOKIE = "staff_new_form_cookie"  # g: a pre-sign-in cookie value to set
# Everything the console keeps in ``g`` for one request (emptied before each).
REQUEST_STATE = ("staff", "staff_session", "staff_handle", _NEW_FORM_COOKIE)


def _secure() -> bool:
    return current_app.config["ISSUER"].startswith("https://")


def set_cookie(response, handle: str) -> None:
    # No Max-Age: a browser session cookie; the server ends the session on time either way.
    response.set_cookie(COOKIE, handle, httponly=True, samesite="Strict", secure=_secure(),
                        path=PATH)


def clear_cookie(response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="Strict",
                           secure=_secure())


def _mac(purpose: str, value: str) -> str:
    key = derive_key(b"vssid-gateway staff forms v1", encryption=False)
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def form_token() -> str:
    """The CSRF token of this page's forms: bound to the console session when signed in,
    to this browser's pre-sign-in cookie otherwise (made now if it has none)."""
    handle = g.get("staff_handle")
    if handle:
        return _mac("session", handle)
    value = request.cookies.get(FORM_COOKIE)
    if not value or len(value) > 64:
        value = g.get(_NEW_FORM_COOKIE) or secrets.token_urlsafe(32)
        g.setdefault(_NEW_FORM_COOKIE, value)
    return _mac("form", value)


def view_ticket(account_id: int) -> str:
    """What lets this console session open one account's page: handed out by an audited
    look-up (gateway/services/counter.look_up), worth nothing in another session, so an
    account's page cannot be reached by walking ids."""
    return _mac("view", f"{g.staff_handle}:{account_id}")


def view_ticket_ok(account_id: int, ticket: str) -> bool:
    return isinstance(ticket, str) and hmac.compare_digest(
        ticket.encode(), view_ticket(account_id).encode())


def form_ok() -> bool:
    sent = request.form.get("csrf_token", "")
    handle = g.get("staff_handle")
    if handle:
        expected = _mac("session", handle)
    else:
        value = request.cookies.get(FORM_COOKIE, "")
        if not value or len(value) > 64:
            return False
        expected = _mac("form", value)
    return hmac.compare_digest(sent.encode(), expected.encode())


def set_form_cookie(response):
    """After a request: the pre-sign-in cookie a form token was made from, if it is new."""
    value = g.get(_NEW_FORM_COOKIE)
    if value:
        response.set_cookie(FORM_COOKIE, value, httponly=True, samesite="Strict",
                            secure=_secure(), path=PATH)
    return response


def staff_required(*roles: str):
    """Only for a signed-in staff member (of one of ``roles``, when given).

    Signed out, timed out or disabled: 302 to the sign-in page (saying why a session just
    ended), and the dead cookie is cleared. A role not listed: 403, and nothing is done.
    """

    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            handle = request.cookies.get(COOKIE)
            found = staff_sessions.find(handle)
            if found.staff is None:
                target = url_for("staff.login", why=found.ended) if found.ended \
                    else url_for("staff.login")
                response = redirect(target, 302)
                if handle:
                    clear_cookie(response)
                return response
            g.staff, g.staff_session, g.staff_handle = found.staff, found.session, handle
            if roles and found.staff.role not in roles:
                from gateway.views.staff.render import console_message

                return console_message("staff_forbidden", 403)
            return view(*args, **kwargs)

        return guarded

    return decorate


def current_actor() -> audit.Actor:
    """Who is acting, for the audit trail: the signed-in staff member, role and office."""
    return audit.Actor.staff(g.staff)
