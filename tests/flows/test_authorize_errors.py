"""The authorization endpoint: only the code flow, errors back to the verified redirect_uri with
state and iss (RFC 6749 §4.1.2.1, RFC 9207), state and nonce carried, and only
`authorization_code`, `refresh_token` and `client_credentials` at the token endpoint."""

import pytest

from gateway.oidc.tokens import read_id_token
from tests.helpers import REDIRECT, basic, exchange, get_code, new_account, new_client
from tests.helpers.oidc import assert_error_redirect, authorize, query_of


@pytest.fixture
def portal(app):
    new_account()
    return new_client()


@pytest.mark.parametrize("response_type", [
    "token", "id_token", "code id_token", "code token", "id_token token", "code id_token token",
    "none", "CODE", "code code", "", "tokén", 'co"de', "code\\",
])
def test_only_the_code_flow(client, app, portal, response_type):
    response = authorize(client, portal[0], response_type=response_type, state="st-1")
    query = assert_error_redirect(response, "unsupported_response_type", app, state="st-1")
    assert query.keys() <= {"error", "error_description", "state", "iss"}


def test_implicit_never_issues_a_token_even_with_a_session(client, app, portal):
    get_code(client, portal[0])  # signed in
    for response_type in ("token", "id_token", "code id_token", "code token"):
        response = authorize(client, portal[0], response_type=response_type, state="s")
        query = assert_error_redirect(response, "unsupported_response_type", app, state="s")
        assert "#" not in response.location
        assert not {"access_token", "id_token", "code"} & query.keys()


def test_missing_response_type_gets_no_token(client, app, portal):
    response = authorize(client, portal[0], response_type=None, state="s")
    assert_error_redirect(response, "unsupported_response_type", app, state="s")


@pytest.mark.parametrize(("grant_type", "error"), [
    ("password", "unsupported_grant_type"),
    ("implicit", "unsupported_grant_type"),
    ("urn:ietf:params:oauth:grant-type:jwt-bearer", "unsupported_grant_type"),
    ("urn:ietf:params:oauth:grant-type:device_code", "unsupported_grant_type"),
    ("urn:ietf:params:oauth:grant-type:token-exchange", "unsupported_grant_type"),
    ("AUTHORIZATION_CODE", "unsupported_grant_type"),
    ("", "unsupported_grant_type"),
])
def test_only_supported_grants_at_token(client, portal, grant_type, error):
    client_id, secret = portal
    response = client.post("/token", data={"grant_type": grant_type, "username": "0123456789",
                                           "password": "Mật-khẩu-đủ-dài-2026", "scope": "openid"},
                           headers=basic(client_id, secret))
    assert response.status_code == 400, response.json
    assert response.json["error"] == error
    assert "access_token" not in response.json
    assert response.headers["Cache-Control"] == "no-store"


def test_token_endpoint_refuses_get(client, portal):
    response = client.get("/token?grant_type=authorization_code")
    assert response.status_code == 405


def test_success_carries_state_and_iss_and_nonce(client, app, portal):
    client_id, secret = portal
    state, nonce = "state-é-ü ~!*()'", "nonce-ß-😀"
    result, verifier, _ = get_code(client, client_id, state=state, nonce=nonce)
    assert result["state"] == state
    assert result["iss"] == app.config["ISSUER"]
    assert set(result) == {"code", "state", "iss"}
    body = exchange(client, client_id, secret, result["code"], verifier).json
    assert read_id_token(body["id_token"])["nonce"] == nonce


def test_success_without_state_or_nonce(client, app, portal):
    client_id, secret = portal
    result, verifier, _ = get_code(client, client_id, state=None, nonce=None)
    assert "state" not in result and result["iss"] == app.config["ISSUER"]
    body = exchange(client, client_id, secret, result["code"], verifier).json
    assert "nonce" not in read_id_token(body["id_token"])


def test_redirect_uri_query_is_kept(client, app):
    new_account()
    uri = "https://portal.example.vn/cb?tenant=vss"
    client_id, _ = new_client(redirect_uris=(uri,))
    result, _, _ = get_code(client, client_id, redirect_uri=uri)
    # get_code reads the query of the final redirect, which must keep the registered one
    assert result["tenant"] == "vss" and "code" in result


@pytest.mark.parametrize(("extra", "error"), [
    ({"code_challenge": None}, "invalid_request"),  # more in test_pkce.py
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"response_mode": "form_post"}, "invalid_request"),
    ({"max_age": "-1"}, "invalid_request"),
    ({"max_age": "ten"}, "invalid_request"),
    ({"max_age": "9" * 12}, "invalid_request"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"request": "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9."}, "request_not_supported"),
    ({"request_uri": "https://evil.example/r"}, "request_uri_not_supported"),
    ({"resource": "https://api.evil.example/"}, "invalid_target"),
    ({"prompt": "none"}, "login_required"),
])
def test_errors_go_back_with_state_and_iss(client, app, portal, extra, error):
    response = authorize(client, portal[0], state="keep-me", **extra)
    assert_error_redirect(response, error, app, state="keep-me")


def test_errors_after_sign_in_carry_iss(client, app, portal):
    get_code(client, portal[0])
    for extra, error in [({"code_challenge": None}, "invalid_request"),
                         ({"response_type": "token"}, "unsupported_response_type"),
                         ({"resource": "urn:other"}, "invalid_target")]:
        assert_error_redirect(authorize(client, portal[0], state="z", **extra), error, app, "z")


def test_service_client_cannot_use_the_authorization_endpoint(client, app):
    service_id, _ = new_client(type="service")
    response = authorize(client, service_id, state="s")
    assert response.status_code == 400 and "Location" not in response.headers


def test_scope_is_limited_to_the_clients(client, app, portal):
    client_id, secret = portal
    result, verifier, _ = get_code(client, client_id, scope="openid profile bhxh admin")
    body = exchange(client, client_id, secret, result["code"], verifier).json
    assert set(body["scope"].split()) == {"openid", "profile"}


def test_post_authorization_request_works_like_get(client, app, portal):
    from tests.helpers import authorize_params

    params = authorize_params(portal[0], "v" * 43, state="p")
    response = client.post("/authorize", data=params)
    assert response.status_code == 302 and response.location.startswith("/login?")
    params["response_type"] = "token"
    query = query_of(client.post("/authorize", data=params).location)
    assert query["error"] == "unsupported_response_type" and query["state"] == "p"


def test_error_redirect_keeps_the_registered_uri_exactly(client, app, portal):
    response = authorize(client, portal[0], response_type="token", state="s")
    assert response.location.split("?")[0] == REDIRECT
