"""Introspection (RFC 7662) and revocation (RFC 7009): only authenticated confidential clients
introspect, and only the token's own client or a service registered as a resource server for
its audience learns anything (§4); a revocation takes effect at once, for the access token, for
the refresh token's whole grant, and for everything of a session that was logged out."""

import pytest

from gateway.oidc.tokens import read_id_token
from tests.helpers import basic, new_account, new_client
from tests.helpers.oidc import bearer, introspect, public_tokens, refresh, tokens


@pytest.fixture
def world(app, client):
    account = new_account()
    client_id, secret = new_client()
    issued = tokens(client, client_id, secret)
    return {"account": account, "client_id": client_id, "secret": secret, "tokens": issued}


def revoke(client, world, token, hint=None, headers=None):
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return client.post("/revoke", data=data,
                       headers=headers or basic(world["client_id"], world["secret"]))


def test_active_access_token_is_described(client, app, world):
    info = introspect(client, world["client_id"], world["secret"],
                      world["tokens"]["access_token"]).json
    sid = read_id_token(world["tokens"]["id_token"])["sid"]
    assert info["active"] is True
    assert info["sub"] == world["account"].sub
    assert info["client_id"] == world["client_id"]
    assert set(info["scope"].split()) == {"openid", "profile", "offline_access"}
    assert info["aud"] == app.config["ISSUER"]
    assert info["iss"] == app.config["ISSUER"]
    assert info["sid"] == sid
    assert info["token_type"] == "Bearer"
    assert isinstance(info["exp"], int) and info["exp"] > info["iat"]
    assert "bhxh" not in str(info) and world["account"].bhxh not in str(info)


def test_active_refresh_token_is_described_to_its_client(client, world):
    info = introspect(client, world["client_id"], world["secret"],
                      world["tokens"]["refresh_token"], hint="refresh_token").json
    assert info["active"] is True
    assert info["client_id"] == world["client_id"] and info["sub"] == world["account"].sub
    assert info["sid"] == read_id_token(world["tokens"]["id_token"])["sid"]


def _resource_server(app, *resources):
    """A relying service registered as a resource server (`clients create --resource`)."""
    return new_client(type="service", resources=resources or (app.config["ISSUER"],))


def _unknown_answer(client, client_id, secret):
    return introspect(client, client_id, secret, "never-issued")


def assert_same_as_unknown(response, unknown):
    """RFC 7662 §4: refused is `{"active": false}` and nothing else, indistinguishable from a
    token that does not exist."""
    assert response.status_code == unknown.status_code == 200
    assert response.json == unknown.json == {"active": False}
    for name in ("Content-Type", "Cache-Control", "Pragma"):
        assert response.headers.get(name) == unknown.headers.get(name), name


def test_another_portal_cannot_introspect_the_tokens(client, world):
    """RFC 7662 §4: a client that is neither the token's client nor a resource server for its
    audience learns nothing — not `sub`, `sid`, `acr`, nor that the token is alive."""
    other_id, other_secret = new_client()
    unknown = _unknown_answer(client, other_id, other_secret)
    for token in (world["tokens"]["access_token"], world["tokens"]["refresh_token"]):
        for hint in (None, "access_token", "refresh_token"):
            assert_same_as_unknown(introspect(client, other_id, other_secret, token, hint),
                                   unknown)


def test_a_service_not_registered_for_the_audience_learns_nothing(client, app, world):
    unknown = None
    for service_id, secret in (new_client(type="service"),
                               _resource_server(app, "https://benhvien.example.vn/api")):
        unknown = _unknown_answer(client, service_id, secret)
        for token in (world["tokens"]["access_token"], world["tokens"]["refresh_token"]):
            assert_same_as_unknown(introspect(client, service_id, secret, token), unknown)


def test_a_resource_server_for_the_audience_sees_access_tokens_only(client, app, world):
    """The issuer itself is the default audience: a service registered for it verifies the
    access tokens presented to it. Refresh tokens stay their own client's."""
    service_id, secret = _resource_server(app, "https://benhvien.example.vn/api",
                                          app.config["ISSUER"])
    info = introspect(client, service_id, secret, world["tokens"]["access_token"]).json
    assert info["active"] is True and info["aud"] == app.config["ISSUER"]
    assert info["sub"] == world["account"].sub and info["client_id"] == world["client_id"]
    assert info["sid"] == read_id_token(world["tokens"]["id_token"])["sid"]
    assert_same_as_unknown(
        introspect(client, service_id, secret, world["tokens"]["refresh_token"]),
        _unknown_answer(client, service_id, secret))


def test_a_resource_server_sees_revocation_at_once(client, app, world):
    service_id, secret = _resource_server(app)
    access = world["tokens"]["access_token"]
    assert introspect(client, service_id, secret, access).json["active"] is True
    revoke(client, world, access)
    assert introspect(client, service_id, secret, access).json == {"active": False}


def test_a_service_introspects_its_own_client_credentials_token(client, app):
    service_id, secret = new_client(type="service", scopes=("phone",))
    issued = client.post("/token", data={"grant_type": "client_credentials"},
                         headers=basic(service_id, secret)).json
    own = introspect(client, service_id, secret, issued["access_token"]).json
    assert own["active"] is True and own["client_id"] == own["sub"] == service_id
    stranger_id, stranger_secret = new_client(type="service")
    assert_same_as_unknown(
        introspect(client, stranger_id, stranger_secret, issued["access_token"]),
        _unknown_answer(client, stranger_id, stranger_secret))
    checker_id, checker_secret = _resource_server(app)
    assert introspect(client, checker_id, checker_secret,
                      issued["access_token"]).json["active"] is True


@pytest.mark.parametrize("headers", [
    {}, basic("nobody", "x"), {"Authorization": "Bearer whatever"},
])
def test_introspection_requires_client_authentication(client, world, headers):
    response = client.post("/introspect", data={"token": world["tokens"]["access_token"]},
                           headers=headers)
    assert response.status_code == 401 and response.json["error"] == "invalid_client"
    assert "active" not in response.json


def test_introspection_with_a_wrong_secret_is_refused(client, world):
    response = introspect(client, world["client_id"], "wrong", world["tokens"]["access_token"])
    assert response.status_code == 401 and "active" not in response.json


def test_public_client_cannot_introspect(client, world):
    app_id, _ = new_client(type="app")
    response = client.post("/introspect", data={"token": world["tokens"]["access_token"],
                                                "client_id": app_id})
    assert response.status_code in (400, 401) and response.json["error"] == "invalid_client"


def test_introspection_uses_the_registered_method_only(client, world):
    response = client.post("/introspect", data={
        "token": world["tokens"]["access_token"], "client_id": world["client_id"],
        "client_secret": world["secret"]})
    assert response.json["error"] == "invalid_client"


@pytest.mark.parametrize("token", ["", "unknown", "a.b.c", "x" * 9000])
def test_unknown_token_is_inactive(client, world, token):
    response = introspect(client, world["client_id"], world["secret"], token)
    assert response.status_code == 200 and response.json == {"active": False}


def test_missing_token_parameter_is_invalid_request(client, world):
    response = client.post("/introspect", data={},
                           headers=basic(world["client_id"], world["secret"]))
    assert response.status_code == 400 and response.json["error"] == "invalid_request"


def test_unsupported_hint_is_refused(client, world):
    response = introspect(client, world["client_id"], world["secret"],
                          world["tokens"]["access_token"], hint="id_token")
    # Authlib answers 401 (its ForbiddenError); a refusal either way, never an answer
    assert response.status_code in (400, 401)
    assert response.json["error"] == "unsupported_token_type" and "active" not in response.json


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_the_access_token(client, world, hint):
    access = world["tokens"]["access_token"]
    response = revoke(client, world, access, hint)
    assert response.status_code == 200
    assert introspect(client, world["client_id"], world["secret"], access).json == {
        "active": False}
    assert client.get("/userinfo", headers=bearer(access)).status_code == 401
    # one access token revoked, not the grant: the refresh token still works
    assert refresh(client, world["client_id"], world["secret"],
                   world["tokens"]["refresh_token"]).status_code == 200


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_the_refresh_token_revokes_the_grant(client, world, hint):
    first = world["tokens"]
    rotated = refresh(client, world["client_id"], world["secret"], first["refresh_token"]).json
    response = revoke(client, world, rotated["refresh_token"], hint)
    assert response.status_code == 200
    for access in (first["access_token"], rotated["access_token"]):
        assert introspect(client, world["client_id"], world["secret"], access).json == {
            "active": False}
        assert client.get("/userinfo", headers=bearer(access)).status_code == 401
    assert introspect(client, world["client_id"], world["secret"],
                      rotated["refresh_token"]).json == {"active": False}
    again = refresh(client, world["client_id"], world["secret"], rotated["refresh_token"])
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"


def test_revocation_leaves_other_grants_alone(client, world):
    second = tokens(client, world["client_id"], world["secret"])
    revoke(client, world, world["tokens"]["refresh_token"])
    assert introspect(client, world["client_id"], world["secret"],
                      second["access_token"]).json["active"] is True
    assert refresh(client, world["client_id"], world["secret"],
                   second["refresh_token"]).status_code == 200


def test_logout_makes_the_sessions_tokens_inactive(client, world):
    response = client.get("/logout", query_string={"id_token_hint": world["tokens"]["id_token"]})
    assert response.status_code == 200
    for token in (world["tokens"]["access_token"], world["tokens"]["refresh_token"]):
        assert introspect(client, world["client_id"], world["secret"], token).json == {
            "active": False}


def test_unknown_token_revocation_is_200(client, world):
    assert revoke(client, world, "never-issued").status_code == 200


def test_revocation_requires_client_authentication(client, world):
    for headers in ({"X": "1"}, basic(world["client_id"], "wrong"), basic("nobody", "x")):
        response = revoke(client, world, world["tokens"]["access_token"], headers=headers)
        assert response.status_code in (400, 401) and response.json["error"] == "invalid_client"
    # a confidential client cannot be named without its secret
    response = client.post("/revoke", data={"token": world["tokens"]["refresh_token"],
                                            "client_id": world["client_id"]})
    assert response.json["error"] == "invalid_client"
    assert introspect(client, world["client_id"], world["secret"],
                      world["tokens"]["access_token"]).json["active"] is True


def test_revoking_another_clients_tokens_is_refused(client, world):
    other_id, other_secret = new_client()
    for token in (world["tokens"]["access_token"], world["tokens"]["refresh_token"]):
        response = client.post("/revoke", data={"token": token},
                               headers=basic(other_id, other_secret))
        assert response.status_code == 400, response.json
        assert "error" in response.json
    assert introspect(client, world["client_id"], world["secret"],
                      world["tokens"]["access_token"]).json["active"] is True
    assert refresh(client, world["client_id"], world["secret"],
                   world["tokens"]["refresh_token"]).status_code == 200


def test_public_client_revokes_its_own_tokens_with_its_id(client, app, world):
    app_id, _ = new_client(type="app")
    issued = public_tokens(client, app, app_id)
    response = client.post("/revoke", data={"token": issued["refresh_token"],
                                            "client_id": app_id})
    assert response.status_code == 200
    checker_id, checker_secret = _resource_server(app)
    assert introspect(client, checker_id, checker_secret,
                      issued["access_token"]).json == {"active": False}
    again = client.post("/token", data={"grant_type": "refresh_token", "client_id": app_id,
                                        "refresh_token": issued["refresh_token"]})
    assert again.json["error"] == "invalid_grant"


def test_public_client_cannot_revoke_others_tokens(client, world):
    app_id, _ = new_client(type="app")
    for token in (world["tokens"]["access_token"], world["tokens"]["refresh_token"]):
        response = client.post("/revoke", data={"token": token, "client_id": app_id})
        assert response.status_code == 400
    assert introspect(client, world["client_id"], world["secret"],
                      world["tokens"]["access_token"]).json["active"] is True


def test_another_public_client_cannot_revoke_the_apps_tokens(client, app, world):
    app_id, _ = new_client(type="app")
    other_app, _ = new_client(type="app")
    issued = public_tokens(client, app, app_id)
    response = client.post("/revoke", data={"token": issued["access_token"],
                                            "client_id": other_app})
    assert response.status_code == 400
    checker_id, checker_secret = _resource_server(app)
    assert introspect(client, checker_id, checker_secret,
                      issued["access_token"]).json["active"] is True


def test_introspection_and_revocation_responses_are_not_cached(client, world):
    for response in (introspect(client, world["client_id"], world["secret"], "x"),
                     revoke(client, world, "x")):
        assert "no-store" in response.headers.get("Cache-Control", "")
