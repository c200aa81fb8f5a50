"""Authorization codes: short-lived (≤ 60 s), single use, bound to the client and to the
redirect_uri; a second redemption revokes what the first one issued (RFC 6749 §4.1.2,
RFC 9700 §4.2.4)."""

import time

import pytest

from gateway.settings import ConfigError
from tests.helpers import REDIRECT, basic, exchange, get_code, new_account, new_client
from tests.helpers.oidc import bearer, dpop_post, introspect, refresh, running


@pytest.fixture
def portal(app):
    new_account()
    return new_client()


def test_code_lifetime_is_capped_at_60_seconds(make_app):
    for ttl in (0, 61, 3600):
        with pytest.raises(ConfigError, match="AUTHORIZATION_CODE_TTL"):
            make_app(AUTHORIZATION_CODE_TTL=ttl)
    assert make_app().config["AUTHORIZATION_CODE_TTL"] <= 60


def test_code_expires(make_app):
    app = make_app(AUTHORIZATION_CODE_TTL=1)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        result, verifier, _ = get_code(browser, client_id)
        # a fresh code from the same session still works right away
        fresh, fresh_verifier, _ = get_code(browser, client_id)
        ok = exchange(browser, client_id, secret, fresh["code"], fresh_verifier)
        assert ok.status_code == 200
        time.sleep(1.3)
        response = exchange(browser, client_id, secret, result["code"], verifier)
        assert response.status_code == 400
        assert response.json["error"] == "invalid_grant"


def test_second_redemption_fails_and_revokes_the_first_tokens(client, portal):
    client_id, secret = portal
    result, verifier, _ = get_code(client, client_id)
    first = exchange(client, client_id, secret, result["code"], verifier)
    assert first.status_code == 200
    tokens = first.json
    assert introspect(client, client_id, secret, tokens["access_token"]).json["active"] is True
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 200

    second = exchange(client, client_id, secret, result["code"], verifier)
    assert second.status_code == 400 and second.json["error"] == "invalid_grant"
    assert "access_token" not in second.json

    assert introspect(client, client_id, secret, tokens["access_token"]).json == {"active": False}
    assert introspect(client, client_id, secret, tokens["refresh_token"]).json == {"active": False}
    assert client.get("/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    again = refresh(client, client_id, secret, tokens["refresh_token"])
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"


def test_replay_revokes_tokens_already_refreshed(client, portal):
    client_id, secret = portal
    result, verifier, _ = get_code(client, client_id)
    tokens = exchange(client, client_id, secret, result["code"], verifier).json
    rotated = refresh(client, client_id, secret, tokens["refresh_token"]).json
    exchange(client, client_id, secret, result["code"], verifier)  # the replay
    assert introspect(client, client_id, secret, rotated["access_token"]).json["active"] is False
    assert refresh(client, client_id, secret, rotated["refresh_token"]).json["error"] == (
        "invalid_grant")


def test_replay_does_not_touch_other_grants(client, portal):
    client_id, secret = portal
    one, v1, _ = get_code(client, client_id)
    two, v2, _ = get_code(client, client_id)
    first = exchange(client, client_id, secret, one["code"], v1).json
    second = exchange(client, client_id, secret, two["code"], v2).json
    exchange(client, client_id, secret, one["code"], v1)  # replay of the first
    assert introspect(client, client_id, secret, first["access_token"]).json["active"] is False
    assert introspect(client, client_id, secret, second["access_token"]).json["active"] is True
    assert refresh(client, client_id, secret, second["refresh_token"]).status_code == 200


def test_code_of_client_a_cannot_be_redeemed_by_client_b(client, portal):
    a_id, a_secret = portal
    b_id, b_secret = new_client()
    result, verifier, _ = get_code(client, a_id)
    stolen = exchange(client, b_id, b_secret, result["code"], verifier)
    assert stolen.status_code == 400 and stolen.json["error"] == "invalid_grant"
    assert "access_token" not in stolen.json


def test_public_client_cannot_redeem_a_confidential_clients_code(client, app, portal):
    a_id, _ = portal
    app_id, _ = new_client(type="app")
    result, verifier, _ = get_code(client, a_id)
    response = dpop_post(client, app, "/token", {
        "grant_type": "authorization_code", "code": result["code"], "code_verifier": verifier,
        "redirect_uri": REDIRECT, "client_id": app_id})
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"
    # nor by naming the confidential client without its secret
    result, verifier, _ = get_code(client, a_id)
    response = client.post("/token", data={
        "grant_type": "authorization_code", "code": result["code"], "code_verifier": verifier,
        "redirect_uri": REDIRECT, "client_id": a_id})
    assert response.status_code == 401 and response.json["error"] == "invalid_client"


@pytest.mark.parametrize("sent", [
    "https://portal.example.vn/callback/", "https://portal.example.vn/other",
    "https://PORTAL.example.vn/callback", "https://evil.example/callback", None,
])
def test_redirect_uri_at_token_must_equal_the_authorization_one(client, portal, sent):
    client_id, secret = portal
    result, verifier, _ = get_code(client, client_id)
    data = {"grant_type": "authorization_code", "code": result["code"], "code_verifier": verifier}
    if sent is not None:
        data["redirect_uri"] = sent
    response = client.post("/token", data=data, headers=basic(client_id, secret))
    assert response.status_code == 400, response.json
    assert response.json["error"] in ("invalid_grant", "invalid_request")
    assert "access_token" not in response.json


def test_second_registered_uri_must_be_repeated_exactly(client, app):
    new_account()
    second = "https://portal.example.vn/callback2"
    client_id, secret = new_client(redirect_uris=(REDIRECT, second))
    result, verifier, _ = get_code(client, client_id, redirect_uri=second)
    wrong = exchange(client, client_id, secret, result["code"], verifier, redirect_uri=REDIRECT)
    assert wrong.json["error"] == "invalid_grant"
    result, verifier, _ = get_code(client, client_id, redirect_uri=second)
    assert exchange(client, client_id, secret, result["code"], verifier,
                    redirect_uri=second).status_code == 200


@pytest.mark.parametrize("code", ["", "x", "a" * 300, "not-a-code", "é" * 20])
def test_unknown_codes_are_invalid_grant(client, portal, code):
    client_id, secret = portal
    response = exchange(client, client_id, secret, code, "v" * 43)
    assert response.status_code == 400
    assert response.json["error"] in ("invalid_grant", "invalid_request")


def test_codes_are_long_random_and_distinct(client, portal):
    client_id, _ = portal
    codes = {get_code(client, client_id)[0]["code"] for _ in range(5)}
    assert len(codes) == 5 and all(len(c) >= 32 for c in codes)
