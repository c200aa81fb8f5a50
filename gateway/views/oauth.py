"""The protocol's HTTP endpoints. The decisions live in gateway.oidc; prompt, max_age and the
login hand-off live here, because they need the browser session."""

from __future__ import annotations

from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidClientError
from flask import Blueprint, current_app, jsonify, redirect, request

from gateway.clock import as_utc, clock
from gateway.flows import device_login
from gateway.flows import login as login_flow
from gateway.i18n import LANG_COOKIE, LANGUAGES
from gateway.oidc.challenge import ChallengeError
from gateway.oidc.discovery import openid_configuration
from gateway.oidc.dpop import DPoPProofError
from gateway.oidc.dpop_binding import proof_from_headers
from gateway.oidc.keys import public_jwks
from gateway.oidc.server import authorization_server as server
from gateway.oidc.server import query_client
from gateway.services import sessions
from gateway.services.throttle import client_address
from gateway.views.pages import allow_form_redirect, csrf_ok, csrf_token, error_page, render

bp = Blueprint("oauth", __name__)


def _params():
    source = request.args if request.method == "GET" else request.form
    return [(k, v) for k, v in source.items(multi=True)]


def _redirect_error(error: OAuth2Error):
    """Errors go back to the client only when its redirect_uri was verified; else a page."""
    if not error.redirect_uri:
        if isinstance(error, InvalidClientError):
            return error_page("invalid_client", error.error, 400)
        message = "invalid_redirect_uri" if "redirect" in (error.description or "").lower() else (
            "invalid_request")
        return error_page(message, error.error, 400)
    params = [("error", error.error)]
    if error.description:
        params.append(("error_description", error.description))
    if error.state:
        params.append(("state", error.state))
    params.append(("iss", current_app.config["ISSUER"]))
    return redirect(add_params_to_uri(error.redirect_uri, params), 302)


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    session, account = sessions.current_session()
    try:
        grant = server.get_consent_grant(end_user=account)
    except OAuth2Error as error:
        return _redirect_error(error)
    data = grant.request.payload.data
    prompts = set((data.get("prompt") or "").split())
    fresh = False
    flow_id = data.get("login_flow")
    if flow_id:
        record = login_flow.consume(flow_id)
        fresh = bool(record and session and record.get("sid") == session.sid)
    needs_login = account is None or ("login" in prompts and not fresh)
    max_age = data.get("max_age")
    if account is not None and max_age is not None and not fresh:
        age = clock().timestamp() - int(as_utc(session.auth_time).timestamp())
        needs_login = needs_login or age > int(max_age)
    if needs_login:
        if "none" in prompts:
            from authlib.oidc.core.errors import LoginRequiredError

            error = LoginRequiredError(redirect_uri=grant.redirect_uri)
            error.state = data.get("state")
            return _redirect_error(error)
        query = [(k, v) for k, v in _params() if k != "login_flow"]
        new_flow = login_flow.start(query)
        lang = data.get("lang")
        if not lang and LANG_COOKIE not in request.cookies:
            # The login page is another request: without this the client's ui_locales
            # (advertised in discovery) would be lost there. The person's own choice wins.
            ui = (data.get("ui_locales") or "").split()
            lang = next((x for x in ui if x in LANGUAGES), None)
        target = "/login?" + urlencode({"flow": new_flow, **({"lang": lang} if lang else {})})
        return redirect(target, 302)
    grant.request.login_session = session
    return server.create_authorization_response(grant=grant, grant_user=account)


@bp.route("/authorize-challenge", methods=["POST"])
def authorize_challenge():
    """draft-ietf-oauth-first-party-apps: the app's native sign-in (gateway.flows.device_login)."""
    form = request.form
    try:
        client = query_client(form.get("client_id"))
        if client is None:
            raise ChallengeError("invalid_client", "unknown_client", status=401)
        if client.type != "app":
            raise ChallengeError("unauthorized_client", "not_first_party")
        proof = proof_from_headers(request.headers, method="POST", path="/authorize-challenge")
        if proof is None:
            raise DPoPProofError("proof_required", "DPoP proof: required here.")
        context = {"client": client, "jkt": proof.jkt, "address": client_address()}
        if "auth_session" in form:
            code = device_login.resume(form, **context)
        else:
            code = device_login.start(form, **context)
    except OAuth2Error as error:
        return server.handle_error_response(None, error)
    response = jsonify(authorization_code=code)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/token", methods=["POST"])
def token():
    return server.create_token_response()


@bp.route("/introspect", methods=["POST"])
def introspect():
    return server.create_endpoint_response("introspection")


@bp.route("/revoke", methods=["POST"])
def revoke():
    return server.create_endpoint_response("revocation")


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo():
    return server.create_endpoint_response("userinfo")


@bp.route("/.well-known/openid-configuration")
def discovery():
    response = jsonify(openid_configuration())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/jwks.json")
def jwks():
    response = jsonify(public_jwks())
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    try:
        end_request = server.validate_endpoint_request("end_session")
    except OAuth2Error as error:
        return error_page("invalid_request", error.error, 400)
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes" and csrf_ok()
    if end_request.needs_confirmation and not confirmed:
        allow_form_redirect(end_request.redirect_uri)  # the confirmed POST ends there
        params = [(k, v) for k, v in _params() if k not in ("csrf_token", "confirm")]
        return render("logout.html", params=params, csrf_token=csrf_token(), done=False)
    response = server.create_endpoint_response("end_session", end_request)
    if response is None:
        response = render("logout.html", done=True)
    sessions.clear_cookie(response)
    return response
