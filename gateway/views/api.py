"""The JSON API for the app and the portal: password change, recovery, sign out everywhere,
and the registered phone's change on a recent level-2 VNeID sign-in (the token's session).

Accepts form-encoded or JSON bodies. Errors are `{"error": <stable code>, ...}` with the
HTTP status of the GatewayError, rendered as for the whole app (gateway/views/errors.py);
documented in docs/openapi.json. Routes that act for the token's person refuse a token with
no person (a client's `client_credentials` token) with 403 `insufficient_scope`
(RFC 6750 §3.1).
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, jsonify, request

from gateway.clock import as_utc
from gateway.flows import phone_change, recovery
from gateway.i18n import current_language
from gateway.methods.password import check_password
from gateway.oidc.dpop_binding import PersonTokenRequiredError
from gateway.oidc.server import resource_protector
from gateway.services import devices, passwords
from gateway.services.sign_out import sign_out_everywhere as sign_out_all
from gateway.services.throttle import client_address

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _body() -> dict:
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


def _text(data: dict, name: str) -> str:
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


@bp.errorhandler(OAuth2Error)
def protocol_error(error: OAuth2Error):
    """A missing, revoked or mis-bound access token: RFC 6750 / RFC 9449 answers."""
    response = jsonify(dict(error.get_body()))
    response.status_code = error.status_code or 400
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _account_from_token():
    """The token and its person; a client's own token (no person) is refused with 403."""
    token = resource_protector.acquire_token()
    account = token.get_user()
    if account is None:
        raise PersonTokenRequiredError(dpop=bool((token.claims.get("cnf") or {}).get("jkt")))
    return token, account


# The same readers for the API's other modules (gateway/views/passkeys_api.py, nested here).
account_from_token, request_body, text_field = _account_from_token, _body, _text


@bp.route("/password", methods=["POST"])
def change_password():
    """Change the password of the token's account; its other sessions are signed out."""
    token, account = _account_from_token()
    data = _body()
    current = _text(data, "current_password")
    check_password(account.bhxh, current, address=client_address())
    passwords.change_password(account, _text(data, "new_password"), reason="self_service",
                              current_password=current, keep_sid=token.claims.get("sid"))
    return "", 204


@bp.route("/sessions/revoke-all", methods=["POST"])
def sign_out_everywhere():
    """Lost phone: with the password, sign out every device and session of the account, and
    forget its active device."""
    _, account = _account_from_token()
    check_password(account.bhxh, _text(_body(), "password"), address=client_address())
    return jsonify(revoked=sign_out_all(account, by="user"))


@bp.route("/devices/active", methods=["GET"])
def active_device():
    """The account's one active app device, so the person can see where they are signed in."""
    token, account = _account_from_token()
    active = devices.active_device(account.id)
    if active is None:
        return jsonify(active_device=None)
    return jsonify(active_device={
        "name": active.device_name,
        "bound_at": as_utc(active.bound_at).isoformat(timespec="seconds"),
        "last_seen_at": as_utc(active.last_seen_at).isoformat(timespec="seconds"),
        "this_session": active.sid == token.claims.get("sid"),
    })


@bp.route("/recovery", methods=["POST"])
def start_recovery():
    data = _body()
    result = recovery.start(_text(data, "username"), _text(data, "phone"),
                            address=client_address(), locale=current_language())
    return jsonify(result), 202


@bp.route("/recovery/complete", methods=["POST"])
def complete_recovery():
    data = _body()
    recovery.complete(_text(data, "recovery_id"), _text(data, "otp"),
                      _text(data, "new_password"), address=client_address())
    return "", 204



@bp.route("/phone", methods=["POST"])
def start_phone_change():
    """A new registered phone for the token's account: only when the sign-in the token rests
    on (its ``sid``) is a recent level-2 VNeID sign-in to the linked account; a code goes to
    the new number (gateway/flows/phone_change.py)."""
    token, account = _account_from_token()
    session = phone_change.session_of(token.claims.get("sid"), account)
    record, sent = phone_change.start(session, account, _text(_body(), "phone"),
                                      locale=current_language())
    return jsonify(flow_id=record.id, otp_sent_to=sent.masked_phone,
                   expires_in=sent.expires_in, resend_after=sent.resend_after), 202


def _phone_flow(step: str):
    token, account = _account_from_token()
    data = _body()
    session = phone_change.session_of(token.claims.get("sid"), account)
    return data, session, account, phone_change.resume(_text(data, "flow_id"), session,
                                                       account, step=step)


@bp.route("/phone/resend", methods=["POST"])
def resend_phone_change():
    _, session, account, record = _phone_flow("resend")
    sent = phone_change.resend(record, session, account, locale=current_language())
    return jsonify(flow_id=record.id, otp_sent_to=sent.masked_phone,
                   expires_in=sent.expires_in, resend_after=sent.resend_after), 202


@bp.route("/phone/confirm", methods=["POST"])
def confirm_phone_change():
    """The code from the new number: the phone moves, and every session and token of the
    account ends (this one too)."""
    data, session, account, record = _phone_flow("confirm")
    old, new = phone_change.confirm(record, session, account, _text(data, "otp"),
                                    address=client_address())
    return jsonify(old=old, new=new)
