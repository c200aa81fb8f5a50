"""PKCE (RFC 7636) as RFC 9700 wants it: S256 only, required from every client, checked at the
token endpoint; a failed check burns the code."""

import secrets

import pytest

from tests.helpers import REDIRECT, exchange, get_code, new_account, new_client, s256
from tests.helpers.oidc import app_code, assert_error_redirect, authorize, dpop_post, ec_key


@pytest.fixture
def portal(app):
    new_account()
    return new_client()


@pytest.mark.parametrize("extra", [
    {"code_challenge": None},
    {"code_challenge": None, "code_challenge_method": None},
    {"code_challenge": ""},
    {"code_challenge_method": "plain"},
    {"code_challenge_method": None},            # the RFC 7636 default would be plain
    {"code_challenge_method": "s256"},
    {"code_challenge_method": "S512"},
    {"code_challenge": "too-short"},
    {"code_challenge": "a" * 129},
    {"code_challenge": "bad challenge with spaces and more than 43 characters!!"},
])
def test_authorization_without_a_proper_s256_challenge_is_refused(client, app, portal, extra):
    response = authorize(client, portal[0], state="pk", **extra)
    assert_error_redirect(response, "invalid_request", app, state="pk")


def test_refused_for_public_clients_too(client, app):
    new_account()
    app_id, _ = new_client(type="app")
    assert_error_redirect(authorize(client, app_id, state="a", code_challenge=None),
                          "invalid_request", app, state="a")
    assert_error_redirect(authorize(client, app_id, state="a", code_challenge_method="plain"),
                          "invalid_request", app, state="a")


def test_challenge_is_required_even_with_a_session(client, app, portal):
    get_code(client, portal[0])
    assert_error_redirect(authorize(client, portal[0], state="s", code_challenge=None),
                          "invalid_request", app, state="s")


def _code(client, client_id):
    verifier = secrets.token_urlsafe(48)
    result, _, _ = get_code(client, client_id, verifier=verifier)
    return result["code"], verifier


@pytest.mark.parametrize("wrong", [
    lambda v: secrets.token_urlsafe(48),          # another verifier
    lambda v: v[:-1] + ("A" if v[-1] != "A" else "B"),
    lambda v: s256(v),                            # the challenge itself (plain downgrade)
    lambda v: v.upper() if v.upper() != v else v.lower(),
])
def test_wrong_verifier_is_invalid_grant_and_burns_the_code(client, portal, wrong):
    client_id, secret = portal
    code, verifier = _code(client, client_id)
    response = exchange(client, client_id, secret, code, wrong(verifier))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_grant"
    assert "access_token" not in response.json
    # a stolen code cannot be tried again with other guesses, nor by the legitimate client
    retry = exchange(client, client_id, secret, code, verifier)
    assert retry.status_code == 400 and retry.json["error"] == "invalid_grant"


@pytest.mark.parametrize("verifier", ["", "short", "a" * 42, "a" * 129, "é" * 50,
                                      "has spaces in it and is long enough to pass 43 chars"])
def test_malformed_verifier_is_refused(client, portal, verifier):
    client_id, secret = portal
    code, _ = _code(client, client_id)
    response = exchange(client, client_id, secret, code, verifier)
    assert response.status_code == 400
    assert response.json["error"] in ("invalid_request", "invalid_grant")


def test_omitted_verifier_is_refused(client, portal):
    client_id, secret = portal
    code, verifier = _code(client, client_id)
    from tests.helpers import basic

    response = client.post("/token", data={"grant_type": "authorization_code", "code": code,
                                           "redirect_uri": REDIRECT},
                           headers=basic(client_id, secret))
    assert response.status_code == 400
    assert response.json["error"] == "invalid_request"
    assert "access_token" not in response.json


def test_public_client_needs_the_verifier(client, app):
    new_account()
    app_id, _ = new_client(type="app")
    key = ec_key()
    code, verifier = app_code(client, app, app_id, key)
    data = {"grant_type": "authorization_code", "code": code,
            "client_id": app_id, "code_verifier": secrets.token_urlsafe(48)}
    assert dpop_post(client, app, "/token", data, key).json["error"] == "invalid_grant"
    code, verifier = app_code(client, app, app_id, key)
    ok = dpop_post(client, app, "/token", {**data, "code": code, "code_verifier": verifier},
                   key)
    assert ok.status_code == 200, ok.json
    assert "id_token" in ok.json


def test_right_verifier_works(client, portal):
    client_id, secret = portal
    code, verifier = _code(client, client_id)
    response = exchange(client, client_id, secret, code, verifier)
    assert response.status_code == 200, response.json


def test_challenge_method_sent_at_token_is_ignored(client, portal):
    """The method is the one stored with the code; a client cannot downgrade it at /token."""
    client_id, secret = portal
    code, verifier = _code(client, client_id)
    from tests.helpers import basic

    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": s256(verifier), "code_challenge_method": "plain"},
        headers=basic(client_id, secret))
    assert response.json["error"] == "invalid_grant"
