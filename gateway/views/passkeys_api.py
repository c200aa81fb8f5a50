"""The app's JSON API for the token's person's passkeys, under /api/v1/passkeys (nested in the
API blueprint, gateway/views/api.py: the same DPoP-bound access tokens and protocol errors).

    GET    /api/v1/passkeys                 the list
    POST   /api/v1/passkeys/options         navigator.credentials.create() options
    POST   /api/v1/passkeys                 {"credential": …, "name": …}: the passkey, 201
    PATCH  /api/v1/passkeys/<id>            {"name": …}
    DELETE /api/v1/passkeys/<id>            {"password": …} (required for the last one)

A registration's challenge is bound to the account and the token's session (``sid``). The
origin and RP ID checked are the issuer's (gateway/methods/webauthn.py): an app registers
through a web view of the gateway's origin or with a platform API that states it.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from gateway.clock import as_utc, clock
from gateway.methods import webauthn
from gateway.methods.password import check_password
from gateway.services import passkeys
from gateway.services.throttle import client_address
from gateway.views import api
from gateway.views.api import account_from_token, request_body, text_field

bp = Blueprint("passkeys", __name__, url_prefix="/passkeys")
# Nested once, at import (before any app registers the API blueprint): /api/v1/passkeys with
# the API's answers to missing or mis-bound tokens.
api.bp.register_blueprint(bp)


@bp.after_request
def _not_cached(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _binding(token, account) -> str:
    return f"api:{account.id}:{token.claims.get('sid') or token.claims.get('jti')}"


def _stamp(value):
    return as_utc(value).isoformat(timespec="seconds") if value else None


def _shown(passkey) -> dict:
    return {"id": passkey.id, "name": passkey.name, "created_at": _stamp(passkey.created_at),
            "last_used_at": _stamp(passkey.last_used_at), "aaguid": passkey.aaguid,
            "backup_eligible": passkey.backup_eligible, "transports": list(passkey.transports),
            "disabled_at": _stamp(passkey.disabled_at)}


@bp.get("")
def index():
    _, account = account_from_token()
    return jsonify(passkeys=[_shown(p) for p in passkeys.list_for(account)])


@bp.post("/options")
def options():
    token, account = account_from_token()
    age = clock().timestamp() - int(token.claims.get("auth_time") or 0)
    return jsonify(webauthn.registration_options(
        account, _binding(token, account), session_age=age,
        password=text_field(request_body(), "password"), address=client_address()))


@bp.post("")
def add():
    token, account = account_from_token()
    data = request_body()
    passkey = webauthn.register(account, _binding(token, account), data.get("credential"),
                                text_field(data, "name")[:200])
    return jsonify(_shown(passkey)), 201


@bp.patch("/<int:passkey_id>")
def rename(passkey_id: int):
    _, account = account_from_token()
    name = text_field(request_body(), "name")[:200]
    return jsonify(_shown(passkeys.rename(account, passkey_id, name)))


@bp.delete("/<int:passkey_id>")
def remove(passkey_id: int):
    """Removes the passkey; the last one only with the password (``password_required``)."""
    _, account = account_from_token()
    password = text_field(request_body(), "password")
    if password:
        check_password(account.bhxh, password, address=client_address())
    return jsonify(last=passkeys.remove(account, passkey_id, password_checked=bool(password)))
