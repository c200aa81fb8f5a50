"""The health-insurance card QR (docs/health-card.md): the app asks for a presentation of
the person's card, a hospital's system verifies one online.

* ``POST /api/v1/health-card/presentation`` — `Authorization: DPoP <access token>` and its
  proof (RFC 9449): only the account's current active device gets a presentation. A Bearer
  token is answered 401 with a `DPoP` challenge (§7.1), a client's own token 403
  `insufficient_scope`, another device's token 403 `device_not_active`.
* ``POST /api/v1/health-card/verify`` — a verifier (a `service` client with the scope
  `health_card`) authenticated as at /introspect, the presentation in the form field
  `presentation`: the card if it is genuine, current, and its device still the active one.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Blueprint, jsonify, request

from gateway.oidc import health_card
from gateway.oidc.dpop_binding import DPoPTokenError, PersonTokenRequiredError
from gateway.oidc.endpoints import CONFIDENTIAL_METHODS
from gateway.oidc.server import authorization_server, resource_protector
from gateway.views.api import protocol_error

bp = Blueprint("health_card", __name__, url_prefix="/api/v1/health-card")
bp.register_error_handler(OAuth2Error, protocol_error)


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/presentation", methods=["POST"])
def presentation():
    token = resource_protector.acquire_token()
    bound = bool((token.claims.get("cnf") or {}).get("jkt"))
    account = token.get_user()
    if account is None:
        raise PersonTokenRequiredError(dpop=bound)
    if not bound:
        raise DPoPTokenError("invalid_token", "This resource needs a DPoP-bound access token.")
    issued = health_card.issue(account, token.claims)
    return _no_store(jsonify(presentation=issued.value, token_type=health_card.TYP,
                             expires_in=issued.expires_in))


@bp.route("/verify", methods=["POST"])
def verify():
    oauth_request = authorization_server.create_oauth2_request(request)
    client = authorization_server.authenticate_client(oauth_request, CONFIDENTIAL_METHODS,
                                                      "health_card_verify")
    health_card.check_verifier(client)
    value = request.form.get("presentation")
    checked = health_card.verify(value, verifier_id=client.client_id)
    claims = checked.claims
    valid_from, valid_to = claims["hcv"]
    return _no_store(jsonify(
        valid=True, device_active=True,
        card_valid_today=health_card.card_valid_today(claims),
        card={"number": claims["hcn"], "name": claims["name"],
              "birthdate": claims["birthdate"], "valid_from": valid_from,
              "valid_to": valid_to, "facility_code": claims["hcf"],
              "facility_name": checked.facility_name},
        sub=claims["sub"], jti=claims["jti"], exp=claims["exp"]))
