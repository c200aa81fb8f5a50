"""A client's own token (client_credentials: no person behind it) at the account API: 403
insufficient_scope with a challenge in the token's scheme (RFC 6750 §3.1, RFC 9449 §7.1),
never a 500 — on every /api/v1 route that takes a token."""

import pytest
from joserfc.jwk import ECKey

from gateway.oidc.dpop import create_proof
from tests.helpers import basic, new_account, new_client

ISSUER = "http://127.0.0.1:8000"  # tests/conftest.py: proofs are checked against it


def _token_routes(app, client):
    """(method, path) of every /api/v1 route that answers 401 without a token (not those that
    authenticate a client instead, as /introspect does: 401 invalid_client)."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.arguments:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = client.open(rule.rule, method=method, json={})
            if answer.status_code == 401 and answer.json.get("error") != "invalid_client":
                found.append((method, rule.rule))
    return found


@pytest.fixture
def service_tokens(app, client):
    new_account()
    service_id, secret = new_client(type="service")
    bearer = client.post("/token", data={"grant_type": "client_credentials"},
                         headers=basic(service_id, secret))
    key = ECKey.generate_key("P-256", private=True)
    bound = client.post("/token", data={"grant_type": "client_credentials"},
                        headers={**basic(service_id, secret),
                                 "DPoP": create_proof(key, method="POST", url=f"{ISSUER}/token")})
    assert bearer.status_code == bound.status_code == 200, (bearer.json, bound.json)
    assert (bearer.json["token_type"], bound.json["token_type"]) == ("Bearer", "DPoP")
    return bearer.json["access_token"], bound.json["access_token"], key


def test_every_token_route_refuses_a_clients_own_token(app, client, service_tokens):
    bearer, bound, key = service_tokens
    routes = _token_routes(app, client)
    assert {("POST", "/api/v1/password"), ("POST", "/api/v1/sessions/revoke-all"),
            ("GET", "/api/v1/devices/active"),
            ("POST", "/api/v1/health-card/presentation")} <= set(routes)
    for method, path in routes:
        answer = client.open(path, method=method, json={"password": "x"},
                             headers={"Authorization": f"Bearer {bearer}"})
        assert answer.status_code == 403, (path, answer.status_code, answer.data)
        assert answer.json["error"] == "insufficient_scope"
        challenge = answer.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="insufficient_scope"')
        assert 'scope="openid"' in challenge

        proof = create_proof(key, method=method, url=f"{ISSUER}{path}", access_token=bound)
        answer = client.open(path, method=method, json={"password": "x"},
                             headers={"Authorization": f"DPoP {bound}", "DPoP": proof})
        assert answer.status_code == 403, (path, answer.status_code, answer.data)
        assert answer.json["error"] == "insufficient_scope"
        challenge = answer.headers["WWW-Authenticate"]
        assert challenge.startswith("DPoP ") and 'error="insufficient_scope"' in challenge
        assert 'scope="openid"' in challenge


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_userinfo_refuses_a_clients_own_token_with_a_challenge(client, service_tokens, method):
    """/userinfo needs scope openid: a token without it is 403 insufficient_scope, and RFC 6750
    §3 wants the challenge there too, naming the scope, in the token's own scheme."""
    bearer, bound, key = service_tokens
    answer = client.open("/userinfo", method=method,
                         headers={"Authorization": f"Bearer {bearer}"})
    assert answer.status_code == 403, answer.data
    assert answer.json["error"] == "insufficient_scope"
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert challenge.endswith('scope="openid"')

    proof = create_proof(key, method=method, url=f"{ISSUER}/userinfo", access_token=bound)
    answer = client.open("/userinfo", method=method,
                         headers={"Authorization": f"DPoP {bound}", "DPoP": proof})
    assert answer.status_code == 403, answer.data
    challenge = answer.headers["WWW-Authenticate"]
    assert challenge.startswith("DPoP ") and 'error="insufficient_scope"' in challenge
    assert challenge.endswith('scope="openid"')
