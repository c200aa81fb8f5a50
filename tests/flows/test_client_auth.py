"""Client authentication at the token endpoint: each client only with the method it registered
(client_secret_basic, client_secret_post, private_key_jwt, or none for the app), and
private_key_jwt assertions checked strictly (RFC 7523 §3, OIDC Core §9): audience, lifetime,
nbf/iat, single-use jti. Plus client_credentials, scopes and resource indicators."""

import time

import pytest
from werkzeug.datastructures import MultiDict

from gateway.extensions import db
from gateway.services.clients import create_client
from tests.helpers import REDIRECT, basic, get_code, new_account, new_client
from tests.helpers.oidc import (
    app_code,
    assertion_form,
    client_assertion,
    dpop_post,
    ec_key,
    introspect,
    jwt_client,
    write_jwks,
)


def _code_form(code, verifier, **extra):
    return {"grant_type": "authorization_code", "code": code, "code_verifier": verifier,
            "redirect_uri": REDIRECT, **extra}


def assert_invalid_client(response, status=(400, 401)):
    assert response.json["error"] == "invalid_client", response.json
    assert response.status_code in ((status,) if isinstance(status, int) else status)
    assert "access_token" not in response.json
    if response.status_code == 401:
        assert response.headers.get("WWW-Authenticate", "").startswith("Basic")


@pytest.fixture
def account(app):
    return new_account()


# --- client secrets -----------------------------------------------------------------------

def test_client_secret_basic_client_only_with_basic(client, account):
    client_id, secret = new_client(token_endpoint_auth_method="client_secret_basic")
    result, verifier, _ = get_code(client, client_id)
    post = client.post("/token", data=_code_form(result["code"], verifier, client_id=client_id,
                                                 client_secret=secret))
    assert_invalid_client(post, 401)
    # the refused attempt did not consume the code: authentication comes first
    ok = client.post("/token", data=_code_form(result["code"], verifier),
                     headers=basic(client_id, secret))
    assert ok.status_code == 200, ok.json


def test_client_secret_post_client_only_with_post(client, account):
    client_id, secret = new_client(token_endpoint_auth_method="client_secret_post")
    result, verifier, _ = get_code(client, client_id)
    via_basic = client.post("/token", data=_code_form(result["code"], verifier),
                            headers=basic(client_id, secret))
    assert_invalid_client(via_basic, 401)
    ok = client.post("/token", data=_code_form(result["code"], verifier, client_id=client_id,
                                               client_secret=secret))
    assert ok.status_code == 200, ok.json


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_wrong_secret_is_refused(client, account, method):
    client_id, secret = new_client(token_endpoint_auth_method=method)
    other_id, other_secret = new_client(token_endpoint_auth_method=method)
    result, verifier, _ = get_code(client, client_id)
    for wrong in ("", "x", secret[:-1], secret + "x", secret.upper(), other_secret):
        if method == "client_secret_basic":
            response = client.post("/token", data=_code_form(result["code"], verifier),
                                   headers=basic(client_id, wrong))
        else:
            response = client.post("/token", data=_code_form(
                result["code"], verifier, client_id=client_id, client_secret=wrong))
        assert_invalid_client(response, 401)


def test_another_clients_secret_does_not_open_this_client(client, account):
    client_id, _ = new_client()
    _, other_secret = new_client()
    result, verifier, _ = get_code(client, client_id)
    assert_invalid_client(client.post("/token", data=_code_form(result["code"], verifier),
                                      headers=basic(client_id, other_secret)), 401)


def test_confidential_client_cannot_act_public(client, account):
    client_id, _ = new_client()
    result, verifier, _ = get_code(client, client_id)
    response = client.post("/token", data=_code_form(result["code"], verifier,
                                                     client_id=client_id))
    assert_invalid_client(response, 401)


def test_public_client_authenticates_with_its_id_only(client, app, account):
    app_id, secret = new_client(type="app")
    assert secret is None
    key = ec_key()
    code, verifier = app_code(client, app, app_id, key)
    response = dpop_post(client, app, "/token", _code_form(code, verifier, client_id=app_id),
                         key)
    assert response.status_code == 200, response.json
    # and cannot pretend to be confidential with an invented secret
    code, verifier = app_code(client, app, app_id, key)
    response = client.post("/token", data=_code_form(code, verifier),
                           headers=basic(app_id, "invented"))
    assert_invalid_client(response, 401)


def test_unknown_client_is_invalid_client(client, account):
    assert_invalid_client(client.post("/token", data={"grant_type": "client_credentials"},
                                      headers=basic("nobody", "nothing")), 401)
    assert_invalid_client(client.post("/token", data={"grant_type": "client_credentials",
                                                      "client_id": "nobody"}), 401)


# --- private_key_jwt ------------------------------------------------------------------------

@pytest.fixture
def jwt_portal(app, account, tmp_path):
    return jwt_client(tmp_path)


def _redeem_with(client, client_id, form_extra):
    result, verifier, _ = get_code(client, client_id)
    return client.post("/token", data=_code_form(result["code"], verifier, **form_extra))


@pytest.mark.parametrize("aud", ["{issuer}", "{issuer}/token", ["{issuer}", "https://x"]])
def test_private_key_jwt_accepted(client, app, jwt_portal, aud):
    client_id, key = jwt_portal
    issuer = app.config["ISSUER"]
    aud = [a.format(issuer=issuer) for a in aud] if isinstance(aud, list) else aud.format(
        issuer=issuer)
    response = _redeem_with(client, client_id,
                            assertion_form(client_assertion(client_id, key, aud)))
    assert response.status_code == 200, response.json
    assert response.json["id_token"]


def test_private_key_jwt_replayed_jti_is_refused(client, app, jwt_portal):
    client_id, key = jwt_portal
    assertion = client_assertion(client_id, key, app.config["ISSUER"])
    assert _redeem_with(client, client_id, assertion_form(assertion)).status_code == 200
    assert_invalid_client(_redeem_with(client, client_id, assertion_form(assertion)))
    # the same jti in a new assertion is a replay too
    jti_again = client_assertion(client_id, key, app.config["ISSUER"], jti="fixed-jti")
    assert _redeem_with(client, client_id, assertion_form(jti_again)).status_code == 200
    again = client_assertion(client_id, key, app.config["ISSUER"] + "/token", jti="fixed-jti",
                             now=int(time.time()) + 1)
    assert_invalid_client(_redeem_with(client, client_id, assertion_form(again)))


@pytest.mark.parametrize("claims", [
    {"aud": "https://evil.example/token"},
    {"aud": "{issuer}/userinfo"},
    {"aud": "{issuer}/"},
    {"aud": None},
    {"exp": "{now}-120"},                # expired beyond the leeway
    {"exp": None},                       # exp is required
    {"exp": "{now}+3600"},               # lives too long (> CLIENT_ASSERTION_MAX_AGE)
    {"exp": "{now}+305"},                # (a few seconds of margin for slow runs)
    {"nbf": "{now}+120"},                # not yet valid
    {"iat": "{now}+120"},                # issued in the future
    {"jti": None},                       # jti is required
    {"jti": ""},
    {"jti": "j" * 300},
    {"iss": "someone-else"},             # iss must equal sub
    {"iss": None},
    {"exp": "soon"},
    {"nbf": "later"},
])
def test_private_key_jwt_bad_claims_are_refused(client, app, jwt_portal, claims):
    client_id, key = jwt_portal
    now, issuer = int(time.time()), app.config["ISSUER"]
    values = {}
    for name, value in claims.items():
        if isinstance(value, str) and "{now}" in value:
            value = eval(value.format(now=now))  # noqa: S307 - test arithmetic on literals
        elif isinstance(value, str):
            value = value.format(issuer=issuer)
        values[name] = value
    aud = values.pop("aud", issuer) if "aud" in claims else issuer
    assertion = client_assertion(client_id, key, aud, now=now, **values)
    assert_invalid_client(_redeem_with(client, client_id, assertion_form(assertion)))


def test_private_key_jwt_small_skew_is_accepted(client, app, jwt_portal):
    client_id, key = jwt_portal
    now, issuer = int(time.time()), app.config["ISSUER"]
    leeway = app.config["CLIENT_ASSERTION_LEEWAY"]
    for claims in ({"iat": now + 10, "nbf": now + 10},        # the client's clock runs ahead
                   {"iat": now - 70, "exp": now - 10},        # or behind, expired within leeway
                   {"exp": now + app.config["CLIENT_ASSERTION_MAX_AGE"]},
                   {"nbf": now + leeway - 5}):
        assertion = client_assertion(client_id, key, issuer, now=now, **claims)
        response = _redeem_with(client, client_id, assertion_form(assertion))
        assert response.status_code == 200, (claims, response.json)


def test_private_key_jwt_client_cannot_use_a_secret(client, jwt_portal):
    client_id, _ = jwt_portal
    response = _redeem_with(client, client_id, {"client_id": client_id,
                                                "client_secret": "anything"})
    assert_invalid_client(response)
    result, verifier, _ = get_code(client, client_id)
    response = client.post("/token", data=_code_form(result["code"], verifier),
                           headers=basic(client_id, "anything"))
    assert_invalid_client(response)


def test_secret_client_cannot_use_an_assertion(client, app, account, tmp_path):
    """A client registered for client_secret_basic has no keys, so no assertion can be its."""
    client_id, _ = new_client()
    key = ec_key()
    assertion = client_assertion(client_id, key, app.config["ISSUER"])
    assert_invalid_client(_redeem_with(client, client_id, assertion_form(assertion)))


def test_assertion_signed_by_another_clients_key_is_refused(client, app, jwt_portal, tmp_path):
    client_id, _ = jwt_portal
    other_id, other_key = jwt_client(tmp_path, type="web")
    assertion = client_assertion(client_id, other_key, app.config["ISSUER"])
    assert_invalid_client(_redeem_with(client, client_id, assertion_form(assertion)))


def test_assertion_for_another_client_id_cannot_authenticate_this_one(client, app, jwt_portal,
                                                                       tmp_path):
    """sub names the client: an assertion of client B redeems nothing of client A."""
    a_id, _ = jwt_portal
    b_id, b_key = jwt_client(tmp_path, type="web")
    result, verifier, _ = get_code(client, a_id)
    assertion = client_assertion(b_id, b_key, app.config["ISSUER"])
    response = client.post("/token", data=_code_form(result["code"], verifier,
                                                     **assertion_form(assertion)))
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"
    # and naming A as client_id beside B's assertion does not help
    result, verifier, _ = get_code(client, a_id)
    assertion = client_assertion(b_id, b_key, app.config["ISSUER"])
    response = client.post("/token", data=_code_form(result["code"], verifier, client_id=a_id,
                                                     **assertion_form(assertion)))
    assert response.status_code == 400 and "access_token" not in response.json


def test_private_key_jwt_refuses_a_private_jwks_at_registration(app, tmp_path):
    import json

    from gateway.errors import ValidationError

    key = ec_key()
    path = tmp_path / "private.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    with pytest.raises(ValidationError):
        create_client(name="x", type="web", redirect_uris=(REDIRECT,),
                      token_endpoint_auth_method="private_key_jwt", jwks_file=str(path))
    db.session.rollback()


# --- client credentials -------------------------------------------------------------------

def _service(tmp_path, method, scopes=("phone", "profile")):
    if method == "private_key_jwt":
        key = ec_key()
        client, _ = create_client(name="service", type="service", scopes=scopes,
                                  token_endpoint_auth_method=method,
                                  jwks_file=write_jwks(tmp_path, key))
        db.session.commit()
        return client.client_id, None, key
    client_id, secret = new_client(type="service", scopes=scopes,
                                   token_endpoint_auth_method=method)
    return client_id, secret, None


def _cc(client, app, method, client_id, secret, key, **data):
    data = {"grant_type": "client_credentials", **data}
    if method == "client_secret_basic":
        return client.post("/token", data=data, headers=basic(client_id, secret))
    if method == "client_secret_post":
        return client.post("/token", data={**data, "client_id": client_id,
                                           "client_secret": secret})
    assertion = client_assertion(client_id, key, app.config["ISSUER"] + "/token")
    return client.post("/token", data={**data, **assertion_form(assertion)})


METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]


@pytest.mark.parametrize("method", METHODS)
def test_client_credentials_with_each_method(client, app, tmp_path, method):
    client_id, secret, key = _service(tmp_path, method)
    response = _cc(client, app, method, client_id, secret, key, scope="phone")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["scope"] == "phone" and "refresh_token" not in body and "id_token" not in body
    checker_id, checker_secret = new_client(type="service", resources=(app.config["ISSUER"],))
    info = introspect(client, checker_id, checker_secret, body["access_token"]).json
    assert info["active"] is True
    assert info["sub"] == info["client_id"] == client_id
    assert info["aud"] == app.config["ISSUER"]
    # no person behind it: userinfo has nothing to say
    assert client.get("/userinfo", headers={
        "Authorization": f"Bearer {body['access_token']}"}).status_code in (401, 403)


@pytest.mark.parametrize("method", METHODS)
def test_client_credentials_scope_the_service_lacks(client, app, tmp_path, method):
    client_id, secret, key = _service(tmp_path, method)
    for scope in ("bhxh", "phone bhxh", "openid", "offline_access", "admin"):
        response = _cc(client, app, method, client_id, secret, key, scope=scope)
        assert response.status_code == 400, (scope, response.json)
        assert response.json["error"] == "invalid_scope"


@pytest.mark.parametrize("method", METHODS)
def test_client_credentials_resource_must_be_the_issuer(client, app, tmp_path, method):
    client_id, secret, key = _service(tmp_path, method)
    ok = _cc(client, app, method, client_id, secret, key, resource=app.config["ISSUER"])
    assert ok.status_code == 200, ok.json
    for resource in ("https://api.evil.example", app.config["ISSUER"] + "/",
                     "urn:vss:other"):
        response = _cc(client, app, method, client_id, secret, key, resource=resource)
        assert response.status_code == 400 and response.json["error"] == "invalid_target"


def test_two_resources_are_invalid_target(client, app, tmp_path):
    client_id, secret, _ = _service(tmp_path, "client_secret_basic")
    response = client.post("/token", data=MultiDict([("grant_type", "client_credentials"),
                                                     ("resource", app.config["ISSUER"]),
                                                     ("resource", app.config["ISSUER"])]),
                           headers=basic(client_id, secret))
    assert response.json["error"] == "invalid_target"


def test_resource_at_the_code_grant(client, app, account):
    client_id, secret = new_client()
    response = _redeem_with(client, client_id, {"resource": "https://api.evil.example"})
    assert response.status_code in (400, 401)
    result, verifier, _ = get_code(client, client_id)
    response = client.post("/token", data=_code_form(result["code"], verifier,
                                                     resource="https://api.evil.example"),
                           headers=basic(client_id, secret))
    assert response.status_code == 400 and response.json["error"] == "invalid_target"


def test_web_client_cannot_use_client_credentials(client, app, account):
    client_id, secret = new_client()
    response = client.post("/token", data={"grant_type": "client_credentials"},
                           headers=basic(client_id, secret))
    assert response.status_code == 400 and response.json["error"] == "unauthorized_client"


def test_public_client_cannot_use_client_credentials(client, app, account):
    app_id, _ = new_client(type="app")
    response = client.post("/token", data={"grant_type": "client_credentials",
                                           "client_id": app_id})
    assert response.json["error"] == "invalid_client"  # public clients may not use it at all
    assert "access_token" not in response.json


def test_service_cannot_redeem_codes_or_refresh(client, app, tmp_path):
    client_id, secret, _ = _service(tmp_path, "client_secret_basic")
    for data in ({"grant_type": "authorization_code", "code": "x", "code_verifier": "v" * 43,
                  "redirect_uri": REDIRECT},
                 {"grant_type": "refresh_token", "refresh_token": "x"}):
        response = client.post("/token", data=data, headers=basic(client_id, secret))
        assert response.status_code == 400
        assert response.json["error"] == "unauthorized_client"
