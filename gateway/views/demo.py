"""A demo relying party at /demo (never in production): signs in through the gateway with
code + PKCE using Authlib's client, over real HTTP, and shows the ID token and userinfo."""

from __future__ import annotations

import json
import os
import secrets
from urllib.parse import urlencode

from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from flask import Blueprint, abort, current_app, redirect, request, session, url_for

from gateway.oidc.tokens import read_id_token
from gateway.views.pages import error_page, render

bp = Blueprint("demo", __name__, url_prefix="/demo")
DEMO_FILE = "demo-client.json"


def client_file() -> str:
    """DEMO_CLIENT_FILE, else instance/demo-client.json: tests keep off the instance folder."""
    configured = current_app.config["DEMO_CLIENT_FILE"]
    return configured or os.path.join(current_app.instance_path, DEMO_FILE)


def _client_config() -> dict:
    try:
        with open(client_file(), encoding="utf-8") as fh:
            return json.load(fh)
    except OSError:
        abort(404)


def _oauth(cfg) -> OAuth2Session:
    issuer = current_app.config["ISSUER"]
    return OAuth2Session(
        cfg["client_id"], cfg["client_secret"], scope="openid profile phone",
        redirect_uri=f"{issuer}/demo/callback",
        token_endpoint_auth_method="client_secret_basic",  # noqa: S106
    )


@bp.before_request
def _only_outside_production():
    if not current_app.config["DEMO_ENABLED"]:
        abort(404)


@bp.route("/")
def home():
    shown = session.get("demo_result")
    return render("demo.html", id_claims=shown and shown["id_claims"],
                  userinfo=shown and shown["userinfo"])


@bp.route("/start")
def start():
    cfg = _client_config()
    verifier = secrets.token_urlsafe(48)
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    session["demo_flow"] = {"verifier": verifier, "state": state, "nonce": nonce}
    uri, _ = _oauth(cfg).create_authorization_url(
        f"{current_app.config['ISSUER']}/authorize", state=state, nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256",
    )
    return redirect(uri)


@bp.route("/callback")
def callback():
    cfg = _client_config()
    flow = session.pop("demo_flow", None)
    issuer = current_app.config["ISSUER"]
    if not flow or request.args.get("state") != flow["state"]:
        return error_page("invalid_request", "state_mismatch", 400)
    if request.args.get("error") or request.args.get("iss") != issuer:
        return error_page("invalid_request", request.args.get("error", "iss_mismatch"), 400)
    client = _oauth(cfg)
    token = client.fetch_token(f"{issuer}/token", code=request.args.get("code", ""),
                               code_verifier=flow["verifier"], timeout=10)
    claims = read_id_token(token.get("id_token", ""))
    if not claims or claims.get("nonce") != flow["nonce"] or claims.get("aud") != cfg["client_id"]:
        return error_page("invalid_request", "id_token_invalid", 400)
    info = client.get(f"{issuer}/userinfo", timeout=10).json()
    session["demo_result"] = {
        "id_claims": json.dumps(claims, ensure_ascii=False, indent=2),
        "userinfo": json.dumps(info, ensure_ascii=False, indent=2),
        "id_token": token["id_token"],
    }
    return redirect(url_for("demo.home"))


@bp.route("/logout")
def logout():
    shown = session.pop("demo_result", None) or {}
    issuer = current_app.config["ISSUER"]
    params = {"post_logout_redirect_uri": f"{issuer}/demo/"}
    if shown.get("id_token"):
        params["id_token_hint"] = shown["id_token"]
    return redirect(f"{issuer}/logout?{urlencode(params)}")
