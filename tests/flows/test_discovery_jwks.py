"""Discovery (OIDC Discovery 1.0, RFC 8414) says what is really wired; JWKS publishes public
keys only; key rotation keeps old tokens verifiable until they have expired; private keys are
encrypted at rest under KEY_ENCRYPTION_KEY."""

import json
from urllib.parse import urlsplit

import pytest
from authlib.oauth2 import rfc9207
from authlib.oidc import discovery, rpinitiated
from cryptography.exceptions import InvalidTag

from gateway.clock import FixedClock
from gateway.models import SigningKey
from gateway.oidc import keys
from gateway.oidc.tokens import read_access_token, read_id_token
from tests.helpers import new_account, new_client
from tests.helpers.oidc import bearer, decode_unverified, introspect, running, tokens


def _metadata(client):
    response = client.get("/.well-known/openid-configuration")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.json


@pytest.mark.parametrize("issuer", [None, "https://id.baohiemxahoi.example"])
def test_discovery_document_validates(make_app, issuer):
    app = make_app(**({"ISSUER": issuer} if issuer else {}))
    with running(app):
        doc = _metadata(app.test_client())
    issuer = app.config["ISSUER"]
    metadata = discovery.OpenIDProviderMetadata(doc)
    metadata.validate(metadata_classes=[rfc9207.AuthorizationServerMetadata,
                                        rpinitiated.OpenIDProviderMetadata])
    assert doc["issuer"] == issuer
    for name, path in [("authorization_endpoint", "/authorize"), ("token_endpoint", "/token"),
                       ("userinfo_endpoint", "/userinfo"), ("jwks_uri", "/jwks.json"),
                       ("introspection_endpoint", "/introspect"),
                       ("revocation_endpoint", "/revoke"), ("end_session_endpoint", "/logout")]:
        assert doc[name] == issuer + path
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert doc["response_modes_supported"] == ["query"]
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert set(doc["grant_types_supported"]) == {"authorization_code", "refresh_token",
                                                 "client_credentials"}
    assert "implicit" not in doc["grant_types_supported"]
    assert "password" not in doc["grant_types_supported"]
    assert doc["subject_types_supported"] == ["public"]
    for key in ("id_token_signing_alg_values_supported",
                "token_endpoint_auth_signing_alg_values_supported"):
        assert not {"none", "HS256", "HS384", "HS512"} & set(doc[key])
    assert "none" not in doc["introspection_endpoint_auth_methods_supported"]
    assert doc["request_parameter_supported"] is False
    assert doc["request_uri_parameter_supported"] is False
    assert "openid" in doc["scopes_supported"]


def test_every_advertised_endpoint_exists(client, app):
    doc = _metadata(client)
    for name in ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri",
                 "introspection_endpoint", "revocation_endpoint", "end_session_endpoint"):
        path = urlsplit(doc[name]).path
        response = client.open(path, method="POST" if name in (
            "token_endpoint", "introspection_endpoint", "revocation_endpoint") else "GET")
        assert response.status_code != 404, name


def test_advertised_auth_methods_are_the_wired_ones(client, app):
    from gateway.oidc.server import authorization_server

    doc = _metadata(client)
    wired = set(authorization_server._client_auth._methods)
    assert set(doc["token_endpoint_auth_methods_supported"]) <= wired
    assert set(doc["revocation_endpoint_auth_methods_supported"]) <= wired


def test_jwks_has_public_keys_only(client, app):
    new_account()
    client_id, secret = new_client()
    issued = tokens(client, client_id, secret)  # ensures a signing key exists
    response = client.get("/jwks.json")
    assert response.status_code == 200
    body = response.json
    assert body["keys"]
    private_members = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
    for jwk in body["keys"]:
        assert not private_members & set(jwk), jwk
        assert jwk["use"] == "sig" and jwk["alg"] in ("ES256", "RS256") and jwk["kid"]
        assert jwk["kty"] in ("EC", "RSA")
    kid = decode_unverified(issued["access_token"])[0]["kid"]
    assert kid in {k["kid"] for k in body["keys"]}
    assert b'"d"' not in response.get_data()


def test_private_keys_are_encrypted_at_rest(app):
    keys.ensure_signing_key()
    alg, private = keys.signing_key()
    d = private.as_dict(private=True)["d"]
    for row in SigningKey.query.all():
        blob = bytes(row.private_encrypted)
        assert b'"d"' not in blob and b"kty" not in blob
        assert "d" not in row.public_jwk
    row = keys.current_key_row()
    blob = bytes(row.private_encrypted)
    assert d.encode() not in blob
    # the right key-encryption key opens it; the kid is bound as associated data
    plain = json.loads(keys._kek().decrypt(blob[:12], blob[12:], row.kid.encode()))
    assert plain["d"] == d
    with pytest.raises(InvalidTag):
        keys._kek().decrypt(blob[:12], blob[12:], b"another-kid")


def test_another_key_encryption_key_cannot_open_the_keys(app, make_app):
    keys.ensure_signing_key()
    row = keys.current_key_row()
    blob = bytes(row.private_encrypted)
    other = make_app(KEY_ENCRYPTION_KEY="another-key-encryption-key-of-32-chars!")
    with running(other):
        with pytest.raises(InvalidTag):
            keys._kek().decrypt(blob[:12], blob[12:], row.kid.encode())
        saved = dict(keys._private_cache)
        keys._private_cache.clear()
        try:
            with pytest.raises(InvalidTag):
                keys.signing_key()  # cannot sign with a key it cannot open
        finally:
            keys._private_cache.update(saved)
    same_secret = make_app(KEY_ENCRYPTION_KEY=app.config["KEY_ENCRYPTION_KEY"])
    with running(same_secret):
        assert json.loads(keys._kek().decrypt(blob[:12], blob[12:], row.kid.encode()))["d"]


def test_explicit_key_encryption_key_differs_from_secret_key(make_app):
    """KEY_ENCRYPTION_KEY, when set, is the only secret: SECRET_KEY alone opens nothing."""
    kek = "explicit-key-encryption-key-0123456789"
    sealed_app = make_app(KEY_ENCRYPTION_KEY=kek)
    with running(sealed_app):
        row = keys.create_key(sealed_app.config["SIGNING_ALG"])
        blob = bytes(row.private_encrypted)
        assert keys._kek().decrypt(blob[:12], blob[12:], row.kid.encode())
    plain_app = make_app()
    with running(plain_app):
        with pytest.raises(InvalidTag):
            keys._kek().decrypt(blob[:12], blob[12:], row.kid.encode())
        # leave the shared database with a key the suite's apps can open
        keys.create_key(plain_app.config["SIGNING_ALG"])


def test_key_rotation(make_app):
    clock = FixedClock()
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        old = tokens(browser, client_id, secret)
        old_kid = decode_unverified(old["access_token"])[0]["kid"]

        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        new_kid = json.loads(result.output)["kid"]
        assert new_kid != old_kid

        # published first, signing only after KEY_PUBLISH_LEAD: cached key sets learn it first
        assert new_kid in {k["kid"] for k in browser.get("/jwks.json").json["keys"]}
        early = tokens(browser, client_id, secret)
        assert decode_unverified(early["access_token"])[0]["kid"] == old_kid
        clock.advance(seconds=app.config["KEY_PUBLISH_LEAD"] - 1)
        old = tokens(browser, client_id, secret)  # the old key's last tokens
        assert decode_unverified(old["id_token"])[0]["kid"] == old_kid
        clock.advance(seconds=1)

        new = tokens(browser, client_id, secret)
        assert decode_unverified(new["access_token"])[0]["kid"] == new_kid
        assert decode_unverified(new["id_token"])[0]["kid"] == new_kid

        # tokens signed with the old key still verify everywhere
        published = {k["kid"] for k in browser.get("/jwks.json").json["keys"]}
        assert {old_kid, new_kid} <= published
        assert browser.get("/userinfo", headers=bearer(old["access_token"])).status_code == 200
        assert introspect(browser, client_id, secret, old["access_token"]).json["active"]
        assert read_id_token(old["id_token"])["sub"]

        # until every token it signed has expired: then it leaves JWKS
        longest = max(app.config["ACCESS_TOKEN_TTL"], app.config["ID_TOKEN_TTL"])
        clock.advance(seconds=longest - 5)
        assert old_kid in {k["kid"] for k in browser.get("/jwks.json").json["keys"]}
        clock.advance(seconds=10)
        published = {k["kid"] for k in browser.get("/jwks.json").json["keys"]}
        assert old_kid not in published and new_kid in published
        assert read_access_token(old["access_token"]) is None
        # the new key keeps working
        fresh = tokens(browser, client_id, secret)
        assert browser.get("/userinfo", headers=bearer(fresh["access_token"])).status_code == 200


def test_rotation_can_change_algorithm(make_app):
    app = make_app()
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        for alg in ("RS256", "ES256"):
            row = keys.create_key(alg)
            issued = tokens(browser, client_id, secret)
            header, _ = decode_unverified(issued["access_token"])
            assert (header["alg"], header["kid"]) == (alg, row.kid)
            assert browser.get("/userinfo",
                               headers=bearer(issued["access_token"])).status_code == 200


def test_keys_list_shows_published_keys(make_app):
    app = make_app()
    with running(app):
        keys.ensure_signing_key()
        result = app.test_cli_runner().invoke(args=["keys", "list"])
        assert result.exit_code == 0
        listed = json.loads(result.output)["keys"]
        assert sum(1 for k in listed if k["signing"]) == 1
        assert all(set(k) == {"kid", "alg", "signing", "created_at", "active_from", "retired_at"}
                       for k in listed)
