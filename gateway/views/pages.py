"""Rendering people's pages: language, CSRF token, and errors that never redirect blindly."""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import urlencode, urlsplit

from flask import g, make_response, render_template, request, session

from gateway.i18n import current_language, remember_language, t

CSRF_KEY = "csrf"
BROWSER_KEY = "browser"
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$")
_FORM_TARGETS = "gateway.form_targets"  # request.environ: origins this page's forms may end at


def allow_form_redirect(uri: str | None) -> None:
    """This page's form may end, through the gateway's redirects, at ``uri``'s origin.

    CSP ``form-action`` also governs the redirects that follow a form submission (Chromium
    enforces it): the login form's POST goes to /authorize, which redirects to the client.
    Only that one, already verified redirect URI's origin is allowed, never all of http(s);
    anything that is not a plain http(s) origin is not added (the browser then refuses).
    """
    if not uri:
        return
    parts = urlsplit(uri)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if "@" not in parts.netloc and _ORIGIN.match(origin):
        targets = request.environ.setdefault(_FORM_TARGETS, [])
        if origin not in targets:
            targets.append(origin)


def content_security_policy() -> str:
    """The CSP of this response: nothing from elsewhere, no <base>, no plugins, no framing,
    forms only to the gateway (and to the origins allow_form_redirect() named)."""
    form_action = " ".join(["'self'", *request.environ.get(_FORM_TARGETS, [])])
    return ("default-src 'self'; base-uri 'none'; object-src 'none'; "
            f"frame-ancestors 'none'; form-action {form_action}")


def csrf_token() -> str:
    token = session.get(CSRF_KEY)
    if not token:
        token = secrets.token_urlsafe(24)
        session[CSRF_KEY] = token
    return token


def browser_secret(*, create: bool = True) -> str | None:
    """A random value kept in this browser's signed session cookie: flows started here are
    bound to it (gateway.flows.login), so their ids are worth nothing in another browser."""
    value = session.get(BROWSER_KEY)
    if not value and create:
        value = secrets.token_urlsafe(32)
        session[BROWSER_KEY] = value
    return value or None


def csrf_ok() -> bool:
    sent = request.form.get("csrf_token", "")
    expected = session.get(CSRF_KEY, "")
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def render(template: str, status: int = 200, **context):
    lang = current_language()
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", "en" if lang == "vi" else "vi"))
    body = render_template(
        template, lang=lang, t=t, lang_switch_query=urlencode(args), **context
    )
    response = remember_language(make_response(body, status))
    response.headers["Cache-Control"] = "no-store"
    return response


def error_page(message: str, code: str, status: int = 400, retry_after: int | None = None):
    # A message that says how long to wait ("{minutes}") gets the whole minutes, rounded up.
    minutes = -(-retry_after // 60) if retry_after else 1
    return render("error.html", status=status, message=message, code=code, minutes=minutes,
                  request_id=g.get("request_id"))


def unavailable_page():
    """A short outage said as one, not as an error: the request was not carried out, try again
    in a moment. A GET can simply be repeated, so it gets a link to the same address (same
    path, same query: a relative "?…" link never leaves this page's path)."""
    retry = None
    if request.method == "GET":
        retry = "?" + request.query_string.decode("utf-8", "replace")
    return render("unavailable.html", status=503, retry=retry, request_id=g.get("request_id"))
