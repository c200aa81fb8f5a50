"""Authlib's own OAuth 2.0 client (requests integration) as the relying party, over real HTTP.

The person is a plain `requests.Session` filling in the login form; the relying party is
`OAuth2Session` with PKCE S256. The ID token is verified with joserfc against the JWKS the
gateway publishes, as any relying party without a full OIDC client library would.
"""

from __future__ import annotations

import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc6749 import MismatchingStateException
from joserfc import jwt
from joserfc.jwk import KeySet

pytestmark = pytest.mark.interop
TIMEOUT = 10


def _browser() -> requests.Session:
    browser = requests.Session()
    browser.trust_env = False  # loopback only: never a proxy from the environment
    browser.headers["Accept"] = "text/html"
    return browser


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"login page has no hidden input {name}"
    return unescape(match.group(1))


def sign_in(browser, authorization_url, live) -> str:
    """Drives /authorize and the login page; returns the Location pointing at redirect_uri."""
    response = browser.get(authorization_url, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302, response.text
    login_url = urljoin(authorization_url, response.headers["Location"])
    assert urlsplit(login_url).path == "/login"
    page = browser.get(login_url, timeout=TIMEOUT)
    assert page.status_code == 200
    response = browser.post(urljoin(login_url, "/login"), allow_redirects=False, timeout=TIMEOUT,
                            data={"csrf_token": _hidden(page.text, "csrf_token"),
                                  "flow": _hidden(page.text, "flow"),
                                  "username": live.username, "password": live.password})
    assert response.status_code == 302, response.text
    url = login_url
    for _ in range(10):
        location = urljoin(url, response.headers["Location"])
        if location.startswith(live.redirect_uri):
            return location
        assert location.startswith(live.base + "/"), location
        url = location
        response = browser.get(url, allow_redirects=False, timeout=TIMEOUT)
        assert response.status_code == 302, response.text
    raise AssertionError("no redirect to the client's redirect_uri")


def test_authlib_client_full_journey(live):
    meta = requests.get(f"{live.base}/.well-known/openid-configuration", timeout=TIMEOUT).json()
    assert meta["issuer"] == live.base
    assert "S256" in meta["code_challenge_methods_supported"]

    oauth = OAuth2Session(live.client_id, live.client_secret,
                          scope="openid profile offline_access",
                          redirect_uri=live.redirect_uri, code_challenge_method="S256",
                          token_endpoint_auth_method="client_secret_basic")
    oauth.trust_env = False
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    authorization_url, state = oauth.create_authorization_url(
        meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
    assert "code_challenge_method=S256" in authorization_url

    browser = _browser()
    callback = sign_in(browser, authorization_url, live)
    params = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert params["iss"] == live.base  # RFC 9207
    assert params["state"] == state

    # Authlib checks `state` against the one it generated; a wrong one must be refused.
    with pytest.raises(MismatchingStateException):
        oauth.fetch_token(meta["token_endpoint"], authorization_response=callback,
                          state="not-" + state, code_verifier=verifier, timeout=TIMEOUT)
    token = oauth.fetch_token(meta["token_endpoint"], authorization_response=callback,
                              state=state, code_verifier=verifier, timeout=TIMEOUT)
    assert token["token_type"].lower() == "bearer"
    assert token["refresh_token"] and token["id_token"]

    keys = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=TIMEOUT).json())
    id_token = jwt.decode(token["id_token"], keys,
                          algorithms=meta["id_token_signing_alg_values_supported"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": live.base},
        aud={"essential": True, "value": live.client_id},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True, "value": live.sub},
        exp={"essential": True}, iat={"essential": True},
    ).validate(id_token.claims)

    info = oauth.get(meta["userinfo_endpoint"], timeout=TIMEOUT)
    assert info.status_code == 200, info.text
    assert info.json()["sub"] == live.sub and info.json()["name"] == live.name

    first_refresh = token["refresh_token"]
    refreshed = oauth.refresh_token(meta["token_endpoint"], timeout=TIMEOUT)
    assert refreshed["refresh_token"] != first_refresh  # rotation
    assert refreshed["access_token"] != token["access_token"]

    live_at = oauth.introspect_token(meta["introspection_endpoint"],
                                     token=refreshed["access_token"], timeout=TIMEOUT).json()
    assert live_at["active"] is True and live_at["sub"] == live.sub
    assert live_at["client_id"] == live.client_id

    revoked = oauth.revoke_token(meta["revocation_endpoint"], token=refreshed["refresh_token"],
                                 token_type_hint="refresh_token", timeout=TIMEOUT)
    assert revoked.status_code == 200
    for value in (refreshed["refresh_token"], refreshed["access_token"]):
        answer = oauth.introspect_token(meta["introspection_endpoint"], token=value,
                                        timeout=TIMEOUT).json()
        assert answer == {"active": False}
    assert oauth.get(meta["userinfo_endpoint"], timeout=TIMEOUT).status_code == 401

    handle = browser.cookies.get("vssid_sso")
    assert handle
    logout_state = secrets.token_urlsafe(8)
    response = browser.get(meta["end_session_endpoint"], allow_redirects=False, timeout=TIMEOUT,
                           params={"id_token_hint": token["id_token"],
                                   "post_logout_redirect_uri": live.post_logout_redirect_uri,
                                   "state": logout_state})
    assert response.status_code == 302, response.text
    assert response.headers["Location"] == (
        f"{live.post_logout_redirect_uri}?state={logout_state}")
    assert browser.cookies.get("vssid_sso") is None

    # Ended on the server too: the old cookie, replayed, no longer signs anyone in.
    replay = _browser()
    replay.cookies.set("vssid_sso", handle, domain="127.0.0.1", path="/")
    silent, _ = oauth.create_authorization_url(meta["authorization_endpoint"],
                                               code_verifier=verifier, prompt="none")
    response = replay.get(silent, allow_redirects=False, timeout=TIMEOUT)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["error"] == ["login_required"]
