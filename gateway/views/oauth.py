"""The protocol's HTTP endpoints. The decisions live in gateway.oidc and gateway.flows: whether
the browser's session answers an /authorize request (prompt, max_age, id_token_hint,
acr_values) is gateway.flows.login.decide; this module parses, calls and redirects."""

from __future__ import annotations

from urllib.parse import urlencode

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749.errors import InvalidClientError
from flask import Blueprint, current_app, jsonify, redirect, request

from gateway.errors import GatewayError
from gateway.flows import device_login, vneid_login
from gateway.flows import login as login_flow
from gateway.flows.record import FlowBindingError, FlowNotFoundError, FlowStateError
from gateway.flows.vneid_login import VneidSignInError
from gateway.i18n import LANG_COOKIE, LANGUAGES
from gateway.oidc import challenge as ch
from gateway.oidc.challenge import ChallengeError
from gateway.oidc.discovery import openid_configuration
from gateway.oidc.dpop import DPoPProofError
from gateway.oidc.dpop_binding import proof_from_headers
from gateway.oidc.grants import SignedIn
from gateway.oidc.keys import public_jwks
from gateway.oidc.parameters import DESCRIPTION, has_repeated_parameter
from gateway.oidc.server import authorization_server as server
from gateway.oidc.server import query_client
from gateway.services import sessions
from gateway.services.devices import DeviceChangedError
from gateway.services.throttle import client_address
from gateway.store.access import carrying
from gateway.views import vneid as vneid_views
from gateway.views.pages import (
    allow_form_redirect,
    browser_secret,
    csrf_ok,
    csrf_token,
    error_page,
    render,
)
from policies import session_reuse
from policies.identifiers import login_name

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


# /authorize checks in its grant, where a refusal can go back to a verified redirect_uri;
# /userinfo reads its token from the Authorization header only, never from parameters.
_ONE_VALUE_EACH = {"oauth.token", "oauth.introspect", "oauth.revoke",
                   "oauth.authorize_challenge", "oauth.logout"}


@bp.before_request
def _refuse_repeated_parameters():
    if request.endpoint not in _ONE_VALUE_EACH:
        return None
    if not has_repeated_parameter(request.values.lists()):
        return None
    if request.endpoint == "oauth.logout":
        return error_page("invalid_request", "invalid_request", 400)
    response = jsonify(error="invalid_request", error_description=DESCRIPTION)
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/authorize", methods=["GET", "POST"])
def authorize():
    session, account = sessions.current_session()
    try:
        grant = server.get_consent_grant(end_user=account)
    except OAuth2Error as error:
        return _redirect_error(error)
    data = grant.request.payload.data
    if grant.client.type == "app":  # the grant let it in with idp=vneid only
        return _app_with_vneid(grant, data)
    fresh = login_flow.returned(data.get("login_flow"), browser=browser_secret(create=False),
                                session=session)
    decision = login_flow.decide(data, session, account, fresh=fresh)
    if decision not in (session_reuse.ISSUE, session_reuse.SIGN_IN):
        error = OAuth2Error(error=decision, redirect_uri=grant.redirect_uri)
        error.state = data.get("state")
        return _redirect_error(error)
    if decision == session_reuse.SIGN_IN:
        query = [(k, v) for k, v in _params() if k != "login_flow"]
        new_flow = login_flow.start(query, browser=browser_secret())
        lang = data.get("lang")
        if not lang and LANG_COOKIE not in request.cookies:
            # The login page is another request: without this the client's ui_locales
            # (advertised in discovery) would be lost there. The person's own choice wins.
            ui = (data.get("ui_locales") or "").split()
            lang = next((x for x in ui if x in LANGUAGES), None)
        page = "/vneid/start?" if data.get("idp") == "vneid" else "/login?"
        target = page + urlencode({"flow": new_flow, **({"lang": lang} if lang else {})})
        return redirect(target, 302)
    return server.create_authorization_response(grant=grant,
                                                grant_user=SignedIn(account, session))


def _app_with_vneid(grant, data):
    """The app in the system browser (RFC 8252): VNeID every time — a browser's SSO session
    is never an app's — then, back from gateway.flows.vneid_login with its device rule
    applied, a code bound to the app's DPoP key. The return consumes the VNeID record once."""
    done = vneid_login.returned_app(data.get("vneid_flow"), browser=browser_secret(create=False),
                                    request=data)
    if done is None:
        query = [(k, v) for k, v in _params() if k != "vneid_flow"]
        try:
            return redirect(vneid_login.start_app(query, browser=browser_secret()), 302)
        except VneidSignInError as exc:
            return vneid_views.error_page(exc)
    decision = login_flow.decide(data, done.session, done.account, fresh=True)
    if decision != session_reuse.ISSUE:
        error = OAuth2Error(error=decision, redirect_uri=grant.redirect_uri)
        error.state = data.get("state")
        return _redirect_error(error)
    return server.create_authorization_response(grant=grant,
                                                grant_user=SignedIn(done.account, done.session))


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
        with carrying():  # the proof's jti claim and the steps' give-backs ride along
            proof = proof_from_headers(request.headers, method="POST",
                                       path="/authorize-challenge")
            if proof is None:
                raise DPoPProofError("proof_required", "DPoP proof: required here.")
            try:
                done = _device_login(form, client, proof.jkt)
            except GatewayError as exc:
                raise _challenge_answer(exc) from None
            code = ch.issue_code(done.session, client_id=done.client_id, jkt=done.jkt,
                                 scope=done.scope, code_challenge=done.code_challenge)
    except OAuth2Error as error:
        return server.handle_error_response(None, error)
    response = jsonify(authorization_code=code)
    response.headers["Cache-Control"] = "no-store"
    return response


def _device_login(form, client, jkt: str) -> device_login.SignedIn:
    address = client_address()
    if "auth_session" in form:
        steps = {name: form[name] for name in ("new_password", "otp") if name in form}
        if form.get("takeover") == "confirm":
            steps["takeover"] = "confirm"
        return device_login.resume(form.get("auth_session", ""), steps,
                                   client_id=client.client_id, jkt=jkt, address=address)
    device = device_login.Device(
        client_id=client.client_id, jkt=jkt, device_id=ch.device_id(form.get("device_id", "")),
        device_name=ch.device_name(form.get("device_name", "")), code_challenge=ch.pkce(form),
        scope=client.get_allowed_scope(form.get("scope", "")))
    return device_login.start(device, login_name(form.get("username", "")),
                              form.get("password", ""), address=address)


def _challenge_answer(exc: GatewayError) -> ch.ChallengeError:
    """The draft's answer (and the app's ``reason``) for what the device flow raised."""
    if isinstance(exc, device_login.InsufficientAuthorizationError):
        return ch.insufficient(exc.code, **exc.extra)
    if isinstance(exc, FlowBindingError):
        return ch.invalid_session("dpop_key_mismatch" if exc.part == "jkt" else "session_unknown")
    if isinstance(exc, FlowStateError):
        return ch.invalid_request("unexpected_step", "This step does not fit the auth_session.")
    if isinstance(exc, FlowNotFoundError):
        return ch.invalid_session("session_expired")
    if isinstance(exc, DeviceChangedError):
        return ch.invalid_session("device_changed")
    raise exc


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
        return render("logout.html", params=params, csrf_token=csrf_token(), done=False,
                      mismatch=end_request.hint_given)
    response = server.create_endpoint_response("end_session", end_request)
    if response is None:
        response = render("logout.html", done=True)
    sessions.clear_cookie(response)
    return response
