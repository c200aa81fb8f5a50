"""RFC 6749 §3.1/§3.2: a parameter sent twice is refused at every protocol endpoint, never
read as its first value (a proxy and the gateway would read one request two ways)."""

from urllib.parse import urlencode

import pytest

from tests.helpers import PASSWORD, REDIRECT, authorize_params, basic, new_account, new_client, s256
from tests.helpers.oidc import assert_error_redirect, assert_no_redirect, dpop_post, ec_key, tokens


@pytest.fixture
def portal(app):
    new_account()
    return new_client()


def _authorize_with(client, client_id, *pairs):
    base = list(authorize_params(client_id, "v" * 43, state="r").items())
    return client.get("/authorize?" + urlencode(base + list(pairs)))


@pytest.mark.parametrize("pairs", [
    [("prompt", "none"), ("prompt", "login")],
    [("nonce", "one"), ("nonce", "two")],
    [("max_age", "0"), ("max_age", "3600")],
    [("acr_values", "a"), ("acr_values", "b")],
    [("ui_locales", "vi"), ("ui_locales", "en")],
    [("code_challenge_method", "S256")],  # already in the base once
])
def test_authorize_refuses_a_repeated_parameter_to_the_client(client, app, portal, pairs):
    response = _authorize_with(client, portal[0], *pairs)
    query = assert_error_redirect(response, "invalid_request", app)
    assert "code" not in query


def test_authorize_repeated_parameter_with_a_session_too(client, app, portal):
    tokens(client, *portal)
    response = _authorize_with(client, portal[0], ("prompt", "none"), ("prompt", "login"))
    assert_error_redirect(response, "invalid_request", app)


@pytest.mark.parametrize("pairs", [[("redirect_uri", REDIRECT)], [("client_id", "x")]])
def test_authorize_repeated_redirect_uri_or_client_is_a_page(client, portal, pairs):
    assert_no_redirect(_authorize_with(client, portal[0], *pairs))


def test_query_and_body_count_together(client, app, portal):
    params = authorize_params(portal[0], "v" * 43, state="r")
    response = client.post("/authorize?" + urlencode({"nonce": "q"}),
                           data={**params, "nonce": "b"})
    assert_error_redirect(response, "invalid_request", app)


def _assert_invalid_request(response):
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "invalid_request"
    assert "access_token" not in response.json and "active" not in response.json


def test_token_endpoint_refuses_repeats(client, portal):
    client_id, secret = portal
    issued = tokens(client, client_id, secret)
    body = urlencode([("grant_type", "refresh_token"), ("refresh_token", issued["refresh_token"]),
                      ("refresh_token", "other")])
    response = client.post("/token", data=body, headers=basic(client_id, secret),
                           content_type="application/x-www-form-urlencoded")
    _assert_invalid_request(response)
    # the refused request did not cost the client its refresh token
    again = client.post("/token", data={"grant_type": "refresh_token",
                                        "refresh_token": issued["refresh_token"]},
                        headers=basic(client_id, secret))
    assert again.status_code == 200, again.json


@pytest.mark.parametrize("path", ["/introspect", "/revoke"])
def test_introspect_and_revoke_refuse_repeats(client, portal, path):
    client_id, secret = portal
    issued = tokens(client, client_id, secret)
    body = urlencode([("token", issued["access_token"]), ("token", issued["access_token"])])
    response = client.post(path, data=body, headers=basic(client_id, secret),
                           content_type="application/x-www-form-urlencoded")
    _assert_invalid_request(response)


def test_challenge_endpoint_refuses_repeats(client, app, portal):
    app_id, _ = new_client(type="app")
    body = {"client_id": app_id, "username": ["0123456789", "0123456789"], "password": PASSWORD,
            "device_id": "device-00001", "device_name": "A", "code_challenge": s256("v" * 43),
            "code_challenge_method": "S256"}
    response = dpop_post(client, app, "/authorize-challenge", body, ec_key())
    _assert_invalid_request(response)
    assert "authorization_code" not in response.json


def test_logout_refuses_repeats_with_a_page(client, portal):
    response = client.get("/logout?" + urlencode([("state", "a"), ("state", "b")]))
    assert_no_redirect(response)


def test_resource_may_repeat_and_is_then_invalid_target(client, app, portal):
    """RFC 8707 lets a client name several resources; we serve one, so: invalid_target."""
    response = _authorize_with(client, portal[0], ("resource", app.config["ISSUER"]),
                               ("resource", app.config["ISSUER"]))
    assert_error_redirect(response, "invalid_target", app)
