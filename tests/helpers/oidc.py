"""Drivers for the protocol and attacker tests (beyond the common ones in tests.helpers): a
signed-in browser, whole token grants, DPoP, private_key_jwt assertions and forged JWTs."""

from __future__ import annotations

import base64
import json
import secrets
import time
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.services.clients import create_client
from tests.helpers import PASSWORD, REDIRECT, authorize_params, basic, exchange, get_code, s256


@contextmanager
def running(app):
    """The context of an extra app (own clock or settings). Its pooled connections are closed
    on the way out: PostgreSQL's connection limit is shared by the whole suite."""
    from gateway.extensions import db

    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def query_of(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(client, client_id, verifier="v" * 43, **extra):
    """One GET /authorize with the standard parameters (None removes one)."""
    return client.get("/authorize?" + urlencode(authorize_params(client_id, verifier, **extra)))


def assert_no_redirect(response, status=400):
    """An error page for the person, never a redirect to an unverified place."""
    assert response.status_code == status, (response.status_code, response.location)
    assert "Location" not in response.headers
    assert response.mimetype == "text/html"


def assert_error_redirect(response, error, app, state=None):
    """The error went back to the verified redirect_uri, with state and iss (RFC 9207)."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.location
    assert location.startswith(REDIRECT + "?"), location
    query = query_of(location)
    assert query["error"] == error, query
    assert query["iss"] == app.config["ISSUER"]
    if state is not None:
        assert query["state"] == state
    assert "code" not in query
    return query


def sign_in(client, client_id, **extra):
    """A browser that signed in through `client_id`; returns the code exchange inputs."""
    return get_code(client, client_id, **extra)


def tokens(client, client_id, secret, **extra) -> dict:
    """The whole code flow: sign in (or reuse the session) and redeem the code."""
    result, verifier, params = get_code(client, client_id, **extra)
    response = exchange(client, client_id, secret, result["code"], verifier,
                        redirect_uri=params["redirect_uri"])
    assert response.status_code == 200, response.json
    return response.json


def refresh(client, client_id, secret, refresh_token):
    return client.post("/token", data={"grant_type": "refresh_token",
                                       "refresh_token": refresh_token},
                       headers=basic(client_id, secret))


def introspect(client, client_id, secret, token, hint=None):
    data = {"token": token, **({"token_type_hint": hint} if hint else {})}
    return client.post("/introspect", data=data, headers=basic(client_id, secret))


def dpop_post(client, app, path: str, data: dict, key: ECKey | None = None):
    """A POST carrying a DPoP proof (RFC 9449), as the public app must at /token."""
    from gateway.oidc.dpop import create_proof

    key = key or ECKey.generate_key("P-256", private=True)
    proof = create_proof(key, method="POST", url=app.config["ISSUER"] + path)
    return client.post(path, data=data, headers={"DPoP": proof})


def app_code(client, app, app_id, key: ECKey, *, username="0123456789", password=PASSWORD,
             device_id="test-device-0001", scope="openid profile offline_access"):
    """An authorization code for the public app client, the only way it gets one: the
    challenge endpoint, bound to the device key `key`. Returns (code, verifier)."""
    verifier = secrets.token_urlsafe(48)
    response = dpop_post(client, app, "/authorize-challenge", {
        "client_id": app_id, "username": username, "password": password, "scope": scope,
        "device_id": device_id, "device_name": "Test phone", "code_challenge": s256(verifier),
        "code_challenge_method": "S256"}, key)
    assert response.status_code == 200, response.json
    return response.json["authorization_code"], verifier


def public_tokens(client, app, app_id, key: ECKey | None = None, **extra) -> dict:
    """The whole sign-in for the public app client: PKCE, client_id only, DPoP proofs."""
    key = key or ec_key()
    code, verifier = app_code(client, app, app_id, key, **extra)
    response = dpop_post(client, app, "/token", {
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "client_id": app_id}, key)
    assert response.status_code == 200, response.json
    return response.json


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


# --- keys and JWTs ------------------------------------------------------------------------

def ec_key(kid: str | None = None) -> ECKey:
    if kid is None:
        return ECKey.generate_key("P-256", private=True, auto_kid=True)
    return ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)


def write_jwks(tmp_path, key: ECKey) -> str:
    path = tmp_path / f"jwks-{secrets.token_hex(4)}.json"
    path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    return str(path)


def jwt_client(tmp_path, type="web", **kw):
    """A client authenticating with private_key_jwt; returns (client_id, private key)."""
    from gateway.extensions import db

    key = ec_key()
    redirect_uris = (REDIRECT,) if type != "service" else ()
    client, _ = create_client(name=f"{type} jwt client", type=type, redirect_uris=redirect_uris,
                              token_endpoint_auth_method="private_key_jwt",
                              jwks_file=write_jwks(tmp_path, key), **kw)
    db.session.commit()
    return client.client_id, key


def client_assertion(client_id, key, aud, *, now=None, alg="ES256", header=None, **claims):
    now = int(time.time()) if now is None else now
    body = {"iss": client_id, "sub": client_id, "aud": aud, "iat": now, "exp": now + 60,
            "jti": secrets.token_urlsafe(12)}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    head = {"alg": alg, "kid": key.kid, **(header or {})}
    return jwt.encode(head, body, key, algorithms=[alg])


def assertion_form(assertion: str, **extra) -> dict:
    return {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion, **extra}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict, claims: dict) -> str:
    """`alg: none`: a JWT anyone can write."""
    return ".".join([b64(json.dumps({**header, "alg": "none"}).encode()),
                     b64(json.dumps(claims).encode()), ""])


def hmac_signed(header: dict, claims: dict, secret: bytes) -> str:
    """HS256 with a public value as the secret: the classic RS/ES→HS confusion."""
    import hashlib
    import hmac

    head = b64(json.dumps({**header, "alg": "HS256"}).encode())
    payload = b64(json.dumps(claims).encode())
    mac = hmac.new(secret, f"{head}.{payload}".encode(), hashlib.sha256).digest()
    return f"{head}.{payload}.{b64(mac)}"


def decode_unverified(token: str) -> tuple[dict, dict]:
    head, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (json.loads(base64.urlsafe_b64decode(pad(head))),
            json.loads(base64.urlsafe_b64decode(pad(payload))))
