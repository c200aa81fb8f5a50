"""Algorithm and type confusion wherever the gateway accepts a JWT: access tokens at /userinfo and
/introspect, id_token_hint at /logout, client assertions at /token. Unsigned tokens (`alg:
none`), HS256 keyed with the gateway's (or the client's) public key, tokens signed by a foreign
key under a forged kid, and one kind of token presented as another are all refused."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from tests.helpers import REDIRECT, basic, get_code, new_account, new_client
from tests.helpers.oidc import (
    assertion_form,
    authorize,
    b64,
    bearer,
    client_assertion,
    decode_unverified,
    hmac_signed,
    introspect,
    jwt_client,
    tokens,
    unsigned,
)

BYE = "https://portal.example.vn/bye"


@pytest.fixture
def world(app, client):
    """A signed-in browser, a portal with its tokens, and the gateway's public key material."""
    new_account()
    client_id, secret = new_client(post_logout_redirect_uris=(BYE,))
    issued = tokens(client, client_id, secret, scope="openid profile phone offline_access")
    header, claims = decode_unverified(issued["access_token"])
    jwks_body = client.get("/jwks.json").get_data()
    jwk = next(k for k in json.loads(jwks_body)["keys"] if k["kid"] == header["kid"])
    public = (ECKey if jwk["kty"] == "EC" else RSAKey).import_key(jwk)
    secrets_ = [json.dumps(jwk).encode(), json.dumps(jwk, separators=(",", ":")).encode(),
                jwks_body, public.as_pem(private=False), public.as_der(private=False),
                jwk.get("x", jwk.get("n", "")).encode(), header["kid"].encode()]
    return {"client_id": client_id, "secret": secret, "tokens": issued, "header": header,
            "claims": claims, "hmac_secrets": secrets_, "kid": header["kid"]}


def _foreign(kid: str, alg: str):
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)
    return ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)


def forgeries(header: dict, claims: dict, hmac_secrets: list[bytes]) -> dict[str, str]:
    """Every way of making `claims` look signed by the gateway without its private key."""
    kid = header["kid"]
    out = {}
    for alg in ("none", "None", "NONE", "nOnE"):
        head, payload, _ = unsigned(header, claims).split(".")
        head = b64(json.dumps({**header, "alg": alg}).encode())
        out[f"alg-{alg}"] = f"{head}.{payload}."
        out[f"alg-{alg}-with-signature"] = f"{head}.{payload}.AAAA"
    for i, secret in enumerate(hmac_secrets):
        out[f"hs256-public-{i}"] = hmac_signed(header, claims, secret)
    for alg in ("ES256", "RS256"):
        key = _foreign(kid, alg)
        out[f"foreign-{alg}-forged-kid"] = jwt.encode({**header, "alg": alg}, claims, key,
                                                       algorithms=[alg])
    attacker = ECKey.generate_key("P-256", private=True)
    without_kid = {k: v for k, v in header.items() if k != "kid"} | {"alg": "ES256"}
    out["embedded-jwk"] = jwt.encode({**without_kid, "jwk": attacker.as_dict(private=False)},
                                     claims, attacker, algorithms=["ES256"])
    out["foreign-without-kid"] = jwt.encode(without_kid, claims, attacker, algorithms=["ES256"])
    return out


def _escalated_access_claims(world):
    claims = dict(world["claims"])
    claims.update(jti=secrets.token_urlsafe(8), scope="openid profile phone bhxh",
                  exp=int(time.time()) + 3600)
    return claims


def _access_forgeries(world, claims=None):
    claims = _escalated_access_claims(world) if claims is None else claims
    cases = forgeries(world["header"], claims, world["hmac_secrets"])
    real = world["tokens"]
    cases["id-token-as-access-token"] = real["id_token"]
    head, payload, _ = real["access_token"].split(".")
    cases["spliced-signature"] = ".".join([head, payload, real["id_token"].split(".")[2]])
    forged_payload = b64(json.dumps(_escalated_access_claims(world)).encode())
    cases["payload-swapped"] = ".".join([head, forged_payload, real["access_token"].split(".")[2]])
    cases["signature-stripped"] = f"{head}.{payload}."
    return cases


def test_the_genuine_tokens_work(client, world):
    """The control: everything below is refused for the forgery, not for the setup."""
    access = world["tokens"]["access_token"]
    assert client.get("/userinfo", headers=bearer(access)).status_code == 200
    info = introspect(client, world["client_id"], world["secret"], access).json
    assert info["active"] is True


def test_forged_access_tokens_are_refused_at_userinfo(client, world):
    for name, token in _access_forgeries(world).items():
        response = client.get("/userinfo", headers=bearer(token))
        assert response.status_code == 401, (name, response.status_code)
        challenge = response.headers.get("WWW-Authenticate", "")
        assert challenge.startswith("Bearer") and 'error="invalid_token"' in challenge, name
        assert "sub" not in (response.json or {})


def test_forged_access_tokens_are_inactive_at_introspection(client, world):
    for name, token in _access_forgeries(world).items():
        for hint in (None, "access_token", "refresh_token"):
            data = {"token": token, **({"token_type_hint": hint} if hint else {})}
            response = client.post("/introspect", data=data,
                                   headers=basic(world["client_id"], world["secret"]))
            assert response.status_code == 200, name
            assert response.json == {"active": False}, (name, response.json)


def test_revoking_a_forgery_changes_nothing(client, world):
    """Forgeries carrying the genuine token's jti and family: accepting one would revoke it."""
    for name, token in _access_forgeries(world, claims=world["claims"]).items():
        response = client.post("/revoke", data={"token": token},
                               headers=basic(world["client_id"], world["secret"]))
        assert response.status_code == 200, name
    access = world["tokens"]["access_token"]
    assert client.get("/userinfo", headers=bearer(access)).status_code == 200


def _id_forgeries(world):
    id_header, id_claims = decode_unverified(world["tokens"]["id_token"])
    cases = forgeries(id_header, {**id_claims, "exp": int(time.time()) + 3600},
                      world["hmac_secrets"])
    cases["access-token-as-id-token-hint"] = world["tokens"]["access_token"]
    head, payload, _ = world["tokens"]["id_token"].split(".")
    cases["signature-stripped"] = f"{head}.{payload}."
    return cases


def test_forged_id_token_hints_are_refused_at_logout(client, app, world):
    for name, token in _id_forgeries(world).items():
        for method in ("GET", "POST"):
            params = {"id_token_hint": token, "post_logout_redirect_uri": BYE, "state": "s"}
            response = (client.get("/logout", query_string=params) if method == "GET"
                        else client.post("/logout", data=params))
            assert response.status_code == 400, (name, method, response.status_code)
            assert "Location" not in response.headers, name
    # the session survived every attempt: a silent sign-in still works
    response = authorize(client, world["client_id"], prompt="none")
    assert response.status_code == 302, response.location
    assert response.location.startswith(REDIRECT + "?code="), response.location


def test_the_genuine_id_token_hint_logs_out_and_redirects(client, world):
    """The control for the logout forgeries."""
    response = client.get("/logout", query_string={
        "id_token_hint": world["tokens"]["id_token"], "post_logout_redirect_uri": BYE,
        "state": "s"})
    assert response.status_code == 302 and response.location == BYE + "?state=s"


@pytest.fixture
def jwt_portal(app, tmp_path):
    new_account()
    client_id, key = jwt_client(tmp_path)
    return client_id, key


def test_forged_client_assertions_are_invalid_client(client, app, jwt_portal):
    client_id, key = jwt_portal
    from gateway.models import Client

    registered = Client.query.filter_by(client_id=client_id).one().jwks["keys"][0]
    public = ECKey.import_key(registered)
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": app.config["ISSUER"] + "/token",
              "iat": now, "exp": now + 60}
    header = {"alg": "ES256", "kid": key.kid}
    secrets_ = [json.dumps(registered).encode(), public.as_pem(private=False),
                registered["x"].encode(), key.kid.encode()]
    cases = {}
    for name, token in forgeries(header, {**claims, "jti": "forged"}, secrets_).items():
        cases[name] = token
    # The control: a genuine assertion works. Then the gateway's own tokens, which are signed
    # by the gateway, not by the client, are no assertion of the client's.
    result, verifier, _ = get_code(client, client_id)
    genuine = client_assertion(client_id, key, app.config["ISSUER"])
    body = _redeem(client, result["code"], verifier, genuine)
    assert body.status_code == 200, body.json
    cases["gateway-id-token-as-assertion"] = body.json["id_token"]
    cases["gateway-access-token-as-assertion"] = body.json["access_token"]

    for name, token in cases.items():
        result, verifier, _ = get_code(client, client_id)
        response = _redeem(client, result["code"], verifier, token)
        assert response.json["error"] == "invalid_client", (name, response.json)
        assert response.status_code in (400, 401), name
    # the refused attempts did not burn the code: the real client still redeems the last one
    ok = _redeem(client, result["code"], verifier,
                 client_assertion(client_id, key, app.config["ISSUER"]))
    assert ok.status_code == 200, ok.json


def _redeem(client, code, verifier, assertion):
    return client.post("/token", data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": REDIRECT, **assertion_form(assertion)})


def test_forged_assertions_for_client_credentials(client, app, tmp_path):
    service_id, key = jwt_client(tmp_path, type="service", scopes=("phone",))
    now = int(time.time())
    claims = {"iss": service_id, "sub": service_id, "aud": app.config["ISSUER"], "iat": now,
              "exp": now + 60, "jti": "j-1"}
    for name, token in forgeries({"alg": "ES256", "kid": key.kid}, claims,
                                 [key.kid.encode()]).items():
        response = client.post("/token", data={"grant_type": "client_credentials",
                                               **assertion_form(token)})
        assert response.json["error"] == "invalid_client", name
    ok = client.post("/token", data={"grant_type": "client_credentials", **assertion_form(
        client_assertion(service_id, key, app.config["ISSUER"]))})
    assert ok.status_code == 200, ok.json


def test_gateway_never_signs_with_hs_or_none(client, world):
    for token in (world["tokens"]["access_token"], world["tokens"]["id_token"]):
        header, _ = decode_unverified(token)
        assert header["alg"] in ("ES256", "RS256") and header["kid"] == world["kid"]
    assert decode_unverified(world["tokens"]["access_token"])[0]["typ"] == "at+jwt"
    assert decode_unverified(world["tokens"]["id_token"])[0].get("typ") in (None, "JWT")


def test_access_token_from_exchange_and_refresh_share_the_checks(client, world):
    """A refreshed access token is as genuine as the first, and forgeries of it fail alike."""
    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": world["tokens"]["refresh_token"]},
                            headers=basic(world["client_id"], world["secret"])).json
    assert client.get("/userinfo", headers=bearer(refreshed["access_token"])).status_code == 200
    header, claims = decode_unverified(refreshed["access_token"])
    forged = hmac_signed(header, {**claims, "sub": "someone-else"}, world["hmac_secrets"][0])
    assert client.get("/userinfo", headers=bearer(forged)).status_code == 401

