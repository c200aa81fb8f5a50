"""The authorization code flow end to end through the Flask test client."""

from gateway.oidc.tokens import read_access_token, read_id_token
from tests.helpers import basic, exchange, get_code, new_account, new_client


def test_code_flow_issues_tokens_and_userinfo(app, client):
    account = new_account()
    client_id, secret = new_client()
    result, verifier, params = get_code(client, client_id)
    assert result["state"] == params["state"]
    assert result["iss"] == app.config["ISSUER"]
    response = exchange(client, client_id, secret, result["code"], verifier)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["token_type"] == "Bearer"
    id_claims = read_id_token(body["id_token"])
    assert id_claims["sub"] == account.sub != account.bhxh
    assert id_claims["nonce"] == params["nonce"]
    assert id_claims["aud"] == client_id
    for claim in ("iss", "exp", "iat", "auth_time", "acr", "amr", "sid"):
        assert claim in id_claims
    at = read_access_token(body["access_token"])
    assert at["aud"] == app.config["ISSUER"] and at["sid"] == id_claims["sid"]
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200 and info.json["name"] == "Nguyễn Văn An"
    assert "bhxh_number" not in info.json
    refreshed = client.post("/token", data={"grant_type": "refresh_token",
                                            "refresh_token": body["refresh_token"]},
                            headers=basic(client_id, secret))
    assert refreshed.status_code == 200, refreshed.json
    assert refreshed.json["refresh_token"] != body["refresh_token"]


def test_metrics_count_logins_and_grants(app, client):
    new_account()
    client_id, secret = new_client()
    result, verifier, _ = get_code(client, client_id)
    exchange(client, client_id, secret, result["code"], verifier)
    exchange(client, client_id, secret, result["code"], verifier)  # replay: refused
    text = client.get("/metrics").get_data(as_text=True)
    assert 'gateway_logins_total{method="pwd",outcome="succeeded"}' in text
    assert 'gateway_token_grants_total{grant_type="authorization_code",outcome="issued"}' in text
    assert 'gateway_token_grants_total{grant_type="authorization_code",outcome="refused"}' in text


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"database": "ok", "store": "ok"}
