"""Refresh tokens (RFC 9700 §4.14): rotated on every use, a reused one revokes the whole
family, bound to the client they were issued to, and bounded in time."""

import pytest

from gateway.clock import FixedClock
from gateway.extensions import db
from gateway.oidc.tokens import read_id_token
from tests.helpers import basic, new_account, new_client
from tests.helpers.oidc import bearer, introspect, refresh, running, tokens


@pytest.fixture
def world(app, client):
    new_account()
    client_id, secret = new_client()
    return {"client_id": client_id, "secret": secret,
            "tokens": tokens(client, client_id, secret)}


def _refresh(client, world, token, **extra):
    return client.post("/token", data={"grant_type": "refresh_token", "refresh_token": token,
                                       **extra},
                       headers=basic(world["client_id"], world["secret"]))


def test_rotation_issues_a_new_refresh_token_each_time(client, world):
    seen = {world["tokens"]["refresh_token"]}
    current = world["tokens"]["refresh_token"]
    for _ in range(3):
        response = _refresh(client, world, current)
        assert response.status_code == 200, response.json
        body = response.json
        assert body["refresh_token"] not in seen
        seen.add(body["refresh_token"])
        current = body["refresh_token"]
        assert client.get("/userinfo", headers=bearer(body["access_token"])).status_code == 200
        info = introspect(client, world["client_id"], world["secret"], body["access_token"]).json
        assert info["sid"] == read_id_token(world["tokens"]["id_token"])["sid"]


def test_reuse_of_a_rotated_token_kills_the_family(client, world):
    old = world["tokens"]["refresh_token"]
    newest = _refresh(client, world, old).json
    reused = _refresh(client, world, old)
    assert reused.status_code == 400 and reused.json["error"] == "invalid_grant"
    assert "access_token" not in reused.json
    # the thief or the client, whichever comes next, finds the newest token dead too
    after = _refresh(client, world, newest["refresh_token"])
    assert after.status_code == 400 and after.json["error"] == "invalid_grant"
    for access in (world["tokens"]["access_token"], newest["access_token"]):
        assert introspect(client, world["client_id"], world["secret"], access).json == {
            "active": False}
        assert client.get("/userinfo", headers=bearer(access)).status_code == 401


def test_reuse_after_several_rotations(client, world):
    chain = [world["tokens"]["refresh_token"]]
    for _ in range(3):
        chain.append(_refresh(client, world, chain[-1]).json["refresh_token"])
    assert _refresh(client, world, chain[1]).json["error"] == "invalid_grant"
    assert _refresh(client, world, chain[-1]).json["error"] == "invalid_grant"


def test_reuse_kills_only_its_own_family(client, world):
    second = tokens(client, world["client_id"], world["secret"])
    old = world["tokens"]["refresh_token"]
    _refresh(client, world, old)
    _refresh(client, world, old)  # reuse
    assert _refresh(client, world, second["refresh_token"]).status_code == 200


def test_refresh_token_is_bound_to_its_client(client, world):
    other_id, other_secret = new_client()
    token = world["tokens"]["refresh_token"]
    stolen = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": token},
                         headers=basic(other_id, other_secret))
    assert stolen.status_code == 400 and stolen.json["error"] == "invalid_grant"
    assert "access_token" not in stolen.json
    # the attempt neither used nor killed the token of its rightful client
    assert _refresh(client, world, token).status_code == 200


def test_public_client_refresh_bound_to_it(client, world):
    app_id, _ = new_client(type="app")
    for token in (world["tokens"]["refresh_token"],):
        stolen = client.post("/token", data={"grant_type": "refresh_token",
                                             "refresh_token": token, "client_id": app_id})
        assert stolen.status_code == 400 and stolen.json["error"] == "invalid_grant"
    unauthenticated = client.post("/token", data={
        "grant_type": "refresh_token", "refresh_token": world["tokens"]["refresh_token"],
        "client_id": world["client_id"]})
    assert unauthenticated.json["error"] == "invalid_client"
    assert _refresh(client, world, world["tokens"]["refresh_token"]).status_code == 200


def test_refresh_cannot_widen_the_scope(client, world):
    token = world["tokens"]["refresh_token"]
    wider = _refresh(client, world, token, scope="openid profile phone offline_access")
    assert wider.status_code == 400 and wider.json["error"] == "invalid_scope"
    narrower = _refresh(client, world, token, scope="openid")
    assert narrower.status_code == 200, narrower.json
    assert narrower.json["scope"] == "openid"


def test_refresh_with_another_resource_is_invalid_target_and_costs_nothing(client, app, world):
    token = world["tokens"]["refresh_token"]
    response = _refresh(client, world, token, resource="https://api.evil.example")
    assert response.status_code == 400 and response.json["error"] == "invalid_target"
    ok = _refresh(client, world, token, resource=app.config["ISSUER"])
    assert ok.status_code == 200, ok.json


@pytest.mark.parametrize("token", ["", "unknown", "x" * 300, "é"])
def test_unknown_refresh_tokens(client, world, token):
    response = _refresh(client, world, token)
    assert response.status_code == 400
    assert response.json["error"] in ("invalid_grant", "invalid_request")


def test_no_refresh_token_without_offline_access(client, world):
    body = tokens(client, world["client_id"], world["secret"], scope="openid profile")
    assert "refresh_token" not in body


def test_refresh_token_expires(make_app):
    clock = FixedClock()
    app = make_app(clock=clock, REFRESH_TOKEN_TTL=3600)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        issued = tokens(browser, client_id, secret)
        clock.advance(seconds=1800)
        rotated = refresh(browser, client_id, secret, issued["refresh_token"])
        assert rotated.status_code == 200, rotated.json
        # each token lives REFRESH_TOKEN_TTL from its own issue (docs/configuration.md)
        clock.advance(seconds=3601)
        expired = refresh(browser, client_id, secret, rotated.json["refresh_token"])
        assert expired.status_code == 400 and expired.json["error"] == "invalid_grant"
        assert introspect(browser, client_id, secret,
                          rotated.json["refresh_token"]).json == {"active": False}


def test_refresh_after_the_account_is_disabled(client, world):
    from gateway.models import Account

    account = Account.query.one()
    account.status = "disabled"
    db.session.commit()
    response = _refresh(client, world, world["tokens"]["refresh_token"])
    assert response.status_code == 400 and response.json["error"] == "invalid_grant"
    assert introspect(client, world["client_id"], world["secret"],
                      world["tokens"]["access_token"]).json == {"active": False}


def _family_and_sid(token):
    from sqlalchemy import select

    from gateway.crypto.secrets import hash_secret
    from gateway.models import RefreshToken

    db.session.remove()  # read what the request committed
    return db.session.execute(select(RefreshToken.family_id, RefreshToken.sid, RefreshToken.used_at)
                              .where(RefreshToken.token_hash == hash_secret(token))).one()


@pytest.mark.parametrize("marker", ["fam", "sid"])
def test_a_revocation_marker_refuses_without_burning_the_token(client, world, marker):
    """The store's marker is read after the claim on PostgreSQL (before it on SQLite): a
    refusal there must leave the token exactly as it was, its claim rolled back."""
    from gateway.store.access import store

    token = world["tokens"]["refresh_token"]
    family, sid, _ = _family_and_sid(token)
    key = f"rv:{marker}:{family if marker == 'fam' else sid}"
    store().put(key, "logout", 60)
    refused = _refresh(client, world, token)
    assert refused.status_code == 400 and refused.json["error"] == "invalid_grant"
    assert _family_and_sid(token).used_at is None  # not consumed, not left locked either
    store().delete(key)  # (a marker is never lifted in production; here it shows the token)
    again = _refresh(client, world, token)
    assert again.status_code == 200, again.json


def test_refusals_after_the_claim_leave_the_row_unlocked(client, world):
    """A refused refresh ends its transaction before answering: another transaction can take
    the row's lock at once (a claim left open would hold it until the session's teardown)."""
    from sqlalchemy import text

    token = world["tokens"]["refresh_token"]
    wider = _refresh(client, world, token, scope="openid profile phone offline_access")
    assert wider.status_code == 400 and wider.json["error"] == "invalid_scope"
    with db.engine.connect() as other:
        if other.dialect.name == "postgresql":
            other.execute(text("SET lock_timeout = '1s'"))
            row = other.execute(text(
                "SELECT used_at FROM refresh_tokens WHERE used_at IS NULL FOR UPDATE")).all()
        else:
            row = other.execute(text(
                "SELECT used_at FROM refresh_tokens WHERE used_at IS NULL")).all()
        assert len(row) == 1
        other.rollback()
    assert _refresh(client, world, token).status_code == 200


def test_sql_work_per_refresh(app, client, world):
    """Exact counters, the regression guard of the refresh's cost (its speed is measured in
    bench/): on PostgreSQL the claim (with the account) and the new token's INSERT, one
    commit; SQLite looks the token up first and commits its claim at once."""
    from sqlalchemy import event

    counts = {"statements": [], "commits": 0}

    def statement(_conn, _cursor, sql, *_args):
        counts["statements"].append(sql.split(None, 1)[0].upper())

    def commit(_conn):
        counts["commits"] += 1

    token = _refresh(client, world, world["tokens"]["refresh_token"]).json["refresh_token"]
    db.session.remove()
    event.listen(db.engine, "before_cursor_execute", statement)
    event.listen(db.engine, "commit", commit)
    try:
        response = _refresh(client, world, token)
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
        event.remove(db.engine, "commit", commit)
    assert response.status_code == 200, response.json
    if db.engine.dialect.name == "postgresql":
        assert counts == {"statements": ["WITH"], "commits": 1}
    else:
        assert counts == {"statements": ["SELECT", "UPDATE", "INSERT"], "commits": 2}


def test_a_narrowed_refresh_keeps_the_narrowed_scope(client, world):
    """The new refresh token (inserted with the claim on PostgreSQL) carries the scope the
    request narrowed to, and cannot be widened back."""
    token = world["tokens"]["refresh_token"]
    narrowed = _refresh(client, world, token, scope="openid offline_access")
    assert narrowed.status_code == 200, narrowed.json
    assert narrowed.json["scope"] == "openid offline_access"
    new = narrowed.json["refresh_token"]
    info = introspect(client, world["client_id"], world["secret"], new,
                      hint="refresh_token").json
    assert info["active"] is True and info["scope"] == "openid offline_access"
    wider = _refresh(client, world, new, scope="openid profile offline_access")
    assert wider.status_code == 400 and wider.json["error"] == "invalid_scope"
    plain = _refresh(client, world, new)
    assert plain.status_code == 200 and plain.json["scope"] == "openid offline_access"
