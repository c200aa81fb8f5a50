"""The sandbox OP's HTTP endpoints, as a small Flask app of its own (``sandbox_app``).

    GET  /.well-known/openid-configuration     discovery
    GET  /jwks                                 its public keys (ES256 and RS256)
    GET  /authorize                            the page listing the synthetic citizens
    POST /authorize/choose, /authorize/cancel  the person's choice → back to the client
    POST /token                                code + PKCE + client authentication
    GET|POST /userinfo                         Bearer access token → the portal's claims

The gateway mounts it under ``{GATEWAY_ISSUER}/sandbox/vneid`` outside production
(gateway/__init__.py); tests also serve one alone on a loopback port. The page's forms carry
only a one-time ticket, bound to a cookie set when the request arrived, so a form cannot be
replayed from another browser.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import Flask, jsonify, make_response, redirect, render_template, request

from providers.vneid_sandbox.provider import SandboxError, SandboxProvider

COOKIE = "vneid_sandbox"


def _browser(create: bool = False) -> tuple[str, str | None]:
    """(the SHA-256 of this browser's sandbox cookie, a new cookie value to set or None)."""
    value = request.cookies.get(COOKIE, "")
    fresh = None
    if create and not value:
        value = fresh = secrets.token_urlsafe(24)
    return hashlib.sha256(value.encode()).hexdigest(), fresh


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(template: str, status: int = 200, **context):
    """No ``form-action``: Chromium applies it to every redirect after the form, and the
    person's choice travels on through the client's callback and its /authorize to the
    client's own client — origins an upstream cannot know."""
    nonce = secrets.token_urlsafe(12)
    response = make_response(render_template(template, nonce=nonce, **context), status)
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; base-uri 'none'; "
        "frame-ancestors 'none'")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    return _no_store(response)


def _oauth_error(exc: SandboxError):
    body = {"error": exc.error}
    if exc.description:
        body["error_description"] = exc.description
    response = jsonify(body)
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if (
            exc.error == "invalid_token") else 'Basic realm="vneid-sandbox"'
    return _no_store(response)


def sandbox_app(provider: SandboxProvider) -> Flask:
    app = Flask(__name__)
    app.extensions["vneid_sandbox"] = provider

    @app.get("/.well-known/openid-configuration")
    def discovery():
        return jsonify(provider.metadata())

    @app.get("/jwks")
    def jwks():
        return jsonify(provider.jwks())

    @app.get("/authorize")
    def authorize():
        browser, fresh = _browser(create=True)
        try:
            ticket, interaction = provider.begin(request.args, browser=browser)
        except SandboxError as exc:
            if exc.redirect:
                return _no_store(redirect(exc.redirect, 302))
            return _page("sandbox_error.html", 400, error=exc.error,
                         description=exc.description)
        response = _page("sandbox_authorize.html", ticket=ticket, client=interaction.client_id,
                         citizens=list(provider.citizens.values()))
        if fresh:
            response.set_cookie(COOKIE, fresh, httponly=True, samesite="Lax",
                                path=request.script_root or "/")
        return response

    def _decided(step):
        browser, _ = _browser()
        try:
            target = step(request.form.get("ticket", ""), browser)
        except SandboxError as exc:
            return _page("sandbox_error.html", 400, error=exc.error,
                         description=exc.description)
        return _no_store(redirect(target, 303))

    @app.post("/authorize/choose")
    def choose():
        return _decided(lambda ticket, browser: provider.choose(
            ticket, request.form.get("citizen", ""), browser=browser))

    @app.post("/authorize/cancel")
    def cancel():
        return _decided(lambda ticket, browser: provider.cancel(ticket, browser=browser))

    @app.post("/token")
    def token():
        try:
            return _no_store(jsonify(provider.token(request.form,
                                                    request.headers.get("Authorization"))))
        except SandboxError as exc:
            return _oauth_error(exc)

    @app.route("/userinfo", methods=["GET", "POST"])
    def userinfo():
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else None
        try:
            return _no_store(jsonify(provider.userinfo(token)))
        except SandboxError as exc:
            return _oauth_error(exc)

    return app
