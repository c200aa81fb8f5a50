"""Races and outages over real HTTP: a threaded server, `requests`, threads released together.

* one authorization code redeemed 20 times at once: exactly one token response;
* one refresh token presented 20 times at once: at most one new token, the family not forked;
* the store unreachable: /token, /authorize and /readyz fail closed with 503, never 500 and
  never a token.

Codes are obtained with the test client of the same app object the server runs: both share
the database and the store.
"""

from __future__ import annotations

import requests
from sqlalchemy import select

from gateway.extensions import db
from gateway.models import RefreshToken
from tests.helpers import REDIRECT, basic, exchange, get_code, new_account, new_client, race
from tests.helpers.network import serve

RACERS = 20
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"



def post_token(base, client_id, secret, data):
    response = requests.post(f"{base}/token", data=data, headers=basic(client_id, secret),
                             timeout=60)
    return response.status_code, response.json()


def outcome_summary(outcomes):
    return sorted((status, body.get("error")) for status, body in outcomes)


def test_one_code_redeemed_concurrently_yields_one_token_response(app, client):
    new_account()
    client_id, secret = new_client()
    result, verifier, _ = get_code(client, client_id)
    data = {"grant_type": "authorization_code", "code": result["code"],
            "code_verifier": verifier, "redirect_uri": REDIRECT}
    with serve(app) as base:
        outcomes = race(RACERS, lambda i: post_token(base, client_id, secret, data))
        summary = outcome_summary(outcomes)
        ok = [body for status, body in outcomes if status == 200]
        assert len(ok) == 1, summary
        assert ok[0]["access_token"] and ok[0]["id_token"]
        refused = [(status, body["error"]) for status, body in outcomes if status != 200]
        assert refused == [(400, "invalid_grant")] * (RACERS - 1), summary

        # the replays revoked what the one redemption received (RFC 6749 §4.1.2)
        info = requests.get(f"{base}/userinfo", timeout=10,
                            headers={"Authorization": f"Bearer {ok[0]['access_token']}"})
        assert info.status_code == 401, info.text
        status, body = post_token(base, client_id, secret, {
            "grant_type": "refresh_token", "refresh_token": ok[0]["refresh_token"]})
        assert (status, body["error"]) == (400, "invalid_grant"), body


def test_one_refresh_token_used_concurrently_does_not_fork_the_family(app, client):
    new_account()
    client_id, secret = new_client()
    result, verifier, _ = get_code(client, client_id)
    first = exchange(client, client_id, secret, result["code"], verifier)
    assert first.status_code == 200, first.json
    refresh = first.json["refresh_token"]
    family = db.session.execute(select(RefreshToken.family_id)).scalar_one()
    data = {"grant_type": "refresh_token", "refresh_token": refresh}
    with serve(app) as base:
        outcomes = race(RACERS, lambda i: post_token(base, client_id, secret, data))
        summary = outcome_summary(outcomes)
        ok = [body for status, body in outcomes if status == 200]
        assert len(ok) <= 1, summary
        refused = [(status, body["error"]) for status, body in outcomes if status != 200]
        assert refused == [(400, "invalid_grant")] * (RACERS - len(ok)), summary

        db.session.remove()  # read what the server's threads committed
        rows = db.session.execute(
            select(RefreshToken).where(RefreshToken.family_id == family)).scalars().all()
        live = [row for row in rows if row.used_at is None and row.revoked_at is None]
        assert len(live) <= 1, [(r.id, r.used_at, r.revoked_at) for r in rows]
        assert len(rows) == 1 + len(ok)  # the original, plus the winner's new token if any
        reused = any(row.revoked_reason == "refresh_reuse" for row in rows)
        if ok:
            new_refresh = ok[0]["refresh_token"]
            assert new_refresh != refresh
            again = post_token(base, client_id, secret,
                               {"grant_type": "refresh_token", "refresh_token": new_refresh})
            if reused:  # reuse detection revoked the family: the winner's token dies with it
                assert again[0] == 400 and again[1]["error"] == "invalid_grant", again
            else:
                assert again[0] == 200, again
        # the original token stays refused whatever happened
        replay = post_token(base, client_id, secret, data)
        assert replay[0] == 400 and replay[1]["error"] == "invalid_grant", replay


def test_readyz_is_ready_when_everything_is_up(app):
    with serve(app) as base:
        response = requests.get(f"{base}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready",
                               "checks": {"database": "ok", "store": "ok"}}


def test_unreachable_store_fails_closed(app, client, make_app):
    """Redis down: nothing is decided without it, so 503 everywhere it is needed, no token;
    and nothing is consumed either, so the client's retry works once the store is back."""
    new_account()
    client_id, secret = new_client()
    earlier, earlier_verifier, _ = get_code(client, client_id)
    tokens = exchange(client, client_id, secret, earlier["code"], earlier_verifier).json
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    result, verifier, params = get_code(client, client_id)  # issued while the store was up
    sso = client.get_cookie(app.config["SSO_COOKIE_NAME"])
    assert sso is not None
    broken = make_app(REDIS_URL=CLOSED_PORT_REDIS)
    with serve(broken) as base:
        status, body = post_token(base, client_id, secret, {
            "grant_type": "authorization_code", "code": result["code"],
            "code_verifier": verifier, "redirect_uri": REDIRECT})
        assert (status, body) == (503, {"error": "temporarily_unavailable"})
        assert post_token(base, client_id, secret, refresh) == (
            503, {"error": "temporarily_unavailable"})

        anonymous = requests.get(f"{base}/authorize", params=params, allow_redirects=False,
                                 timeout=10)
        signed_in = requests.get(f"{base}/authorize", params=params, allow_redirects=False,
                                 cookies={sso.key: sso.value}, timeout=10)
        for response in (anonymous, signed_in):
            assert response.status_code == 503, response.text[:500]
            assert "Location" not in response.headers  # no code, no redirect to the client
            assert "temporarily_unavailable" in response.text

        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 503, ready.text
        assert ready.json()["checks"] == {"database": "ok", "store": "unavailable"}

    # neither the code nor the refresh token was consumed by the outage
    healthy = exchange(client, client_id, secret, result["code"], verifier)
    assert healthy.status_code == 200, healthy.json
    retried = client.post("/token", data=refresh, headers=basic(client_id, secret))
    assert retried.status_code == 200, retried.json
