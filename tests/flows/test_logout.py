"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): redirect only to a registered
post_logout_redirect_uri and only with a valid id_token_hint; without one, a CSRF-protected
confirmation; the SSO session ends on the server, its cookie is cleared, and its tokens die."""

import pytest

from gateway.clock import FixedClock
from gateway.oidc.tokens import read_id_token
from tests.flows.oidc_support import (
    REDIRECT,
    assert_error_redirect,
    authorize,
    bearer,
    csrf_of,
    introspect,
    refresh,
    running,
    tokens,
)
from tests.helpers import new_account, new_client

BYE = "https://portal.example.vn/bye"
OTHER_BYE = "https://thue.example.vn/bye"


@pytest.fixture
def world(app, client):
    new_account()
    client_id, secret = new_client(post_logout_redirect_uris=(BYE, BYE + "?from=vss"))
    other_id, other_secret = new_client(redirect_uris=("https://thue.example.vn/cb",),
                                        post_logout_redirect_uris=(OTHER_BYE,))
    issued = tokens(client, client_id, secret)
    return {"client_id": client_id, "secret": secret, "tokens": issued, "other_id": other_id,
            "other_secret": other_secret,
            "cookie": client.get_cookie(app.config["SSO_COOKIE_NAME"]).value}


def assert_signed_out(app, client, world):
    """The session is over: for this browser, for a copy of its cookie, and for its tokens."""
    assert client.get_cookie(app.config["SSO_COOKIE_NAME"]) is None
    response = authorize(client, world["client_id"])
    assert response.status_code == 302 and response.location.startswith("/login?")
    thief = app.test_client()
    thief.set_cookie(app.config["SSO_COOKIE_NAME"], world["cookie"])
    assert_error_redirect(authorize(thief, world["client_id"], prompt="none", state="t"),
                          "login_required", app, state="t")
    access, refresh_token = world["tokens"]["access_token"], world["tokens"]["refresh_token"]
    assert introspect(client, world["client_id"], world["secret"], access).json == {
        "active": False}
    assert client.get("/userinfo", headers=bearer(access)).status_code == 401
    assert refresh(client, world["client_id"], world["secret"], refresh_token).json[
        "error"] == "invalid_grant"


def assert_still_signed_in(app, client, world):
    response = authorize(client, world["client_id"], prompt="none")
    assert response.status_code == 302 and response.location.startswith(REDIRECT + "?code=")
    info = introspect(client, world["client_id"], world["secret"],
                      world["tokens"]["access_token"]).json
    assert info["active"] is True


def test_valid_hint_and_registered_uri_redirect_with_state(client, app, world):
    response = client.get("/logout", query_string={
        "id_token_hint": world["tokens"]["id_token"], "post_logout_redirect_uri": BYE,
        "state": "bye-state"})
    assert response.status_code == 302
    assert response.location == BYE + "?state=bye-state"
    assert_signed_out(app, client, world)


def test_registered_uri_with_a_query_keeps_it(client, world):
    response = client.get("/logout", query_string={
        "id_token_hint": world["tokens"]["id_token"],
        "post_logout_redirect_uri": BYE + "?from=vss"})
    assert response.status_code == 302 and response.location == BYE + "?from=vss"


def test_post_form_logout_works_like_get(client, app, world):
    response = client.post("/logout", data={
        "id_token_hint": world["tokens"]["id_token"], "post_logout_redirect_uri": BYE})
    assert response.status_code == 302 and response.location == BYE
    assert_signed_out(app, client, world)


@pytest.mark.parametrize("uri", [
    "https://evil.example/bye", BYE + "/", BYE + "?x=1", "https://PORTAL.example.vn/bye",
    "https://portal.example.vn@evil.example/bye", REDIRECT, OTHER_BYE, BYE + "#f",
])
def test_unregistered_uri_is_not_redirected_to(client, app, world, uri):
    response = client.get("/logout", query_string={
        "id_token_hint": world["tokens"]["id_token"], "post_logout_redirect_uri": uri,
        "state": "s"})
    assert "Location" not in response.headers
    assert response.status_code == 200
    # a valid hint still ends the session; only the redirect is withheld
    assert_signed_out(app, client, world)


def test_client_id_must_match_the_hint(client, app, world):
    response = client.get("/logout", query_string={
        "id_token_hint": world["tokens"]["id_token"], "client_id": world["other_id"],
        "post_logout_redirect_uri": OTHER_BYE})
    assert response.status_code == 400 and "Location" not in response.headers
    assert_still_signed_in(app, client, world)


def test_without_hint_a_registered_uri_is_not_redirected_to(client, app, world):
    response = client.get("/logout", query_string={
        "client_id": world["client_id"], "post_logout_redirect_uri": BYE, "state": "s"})
    assert response.status_code == 200 and "Location" not in response.headers
    html = response.get_data(as_text=True)
    assert 'name="csrf_token"' in html and 'name="confirm"' in html  # asks first
    assert_still_signed_in(app, client, world)
    done = client.post("/logout", data={
        "client_id": world["client_id"], "post_logout_redirect_uri": BYE, "state": "s",
        "confirm": "yes", "csrf_token": csrf_of(html)})
    assert done.status_code == 200 and "Location" not in done.headers
    assert_signed_out(app, client, world)


def test_confirmation_without_csrf_does_nothing(client, app, world):
    page = client.get("/logout")
    assert page.status_code == 200
    for data in ({"confirm": "yes"}, {"confirm": "yes", "csrf_token": "forged"},
                 {"confirm": "no", "csrf_token": csrf_of(page.get_data(as_text=True))},
                 {"csrf_token": csrf_of(page.get_data(as_text=True))}):
        response = client.post("/logout", data=data)
        assert response.status_code == 200
        assert 'name="confirm"' in response.get_data(as_text=True)  # asked again
        assert_still_signed_in(app, client, world)
    # nor does a GET carrying confirm=yes
    client.get("/logout", query_string={"confirm": "yes", "csrf_token": "x"})
    assert_still_signed_in(app, client, world)


def test_cross_site_post_cannot_log_out(client, app, world):
    """Another site's form can carry the browser's cookies but not its CSRF token."""
    attacker_page = app.test_client()
    token = csrf_of(attacker_page.get("/logout").get_data(as_text=True))  # the attacker's own
    client.post("/logout", data={"confirm": "yes", "csrf_token": token})
    assert_still_signed_in(app, client, world)


def test_confirmed_logout_clears_the_cookie(client, app, world):
    html = client.get("/logout").get_data(as_text=True)
    response = client.post("/logout", data={"confirm": "yes", "csrf_token": csrf_of(html)})
    assert response.status_code == 200
    cookies = response.headers.getlist("Set-Cookie")
    sso = [c for c in cookies if c.startswith(app.config["SSO_COOKIE_NAME"] + "=")]
    assert sso and ("Max-Age=0" in sso[0] or "1970" in sso[0])
    assert_signed_out(app, client, world)


def test_hint_from_another_browser_ends_the_named_session(client, app, world):
    """The relying party may end the session its ID token names, from wherever it calls."""
    elsewhere = app.test_client()
    response = elsewhere.get("/logout", query_string={
        "id_token_hint": world["tokens"]["id_token"], "post_logout_redirect_uri": BYE})
    assert response.status_code == 302 and response.location == BYE
    response = authorize(client, world["client_id"], prompt="none", state="x")
    assert_error_redirect(response, "login_required", app, state="x")


def test_logout_ends_sso_for_every_client(client, app, world):
    sid = read_id_token(world["tokens"]["id_token"])["sid"]
    other = tokens(client, world["other_id"], world["other_secret"],
                   redirect_uri="https://thue.example.vn/cb")
    assert read_id_token(other["id_token"])["sid"] == sid  # one SSO session
    client.get("/logout", query_string={"id_token_hint": world["tokens"]["id_token"]})
    assert introspect(client, world["other_id"], world["other_secret"],
                      other["access_token"]).json == {"active": False}
    response = authorize(client, world["other_id"], redirect_uri="https://thue.example.vn/cb")
    assert response.location.startswith("/login?")


def test_logout_without_a_session_is_harmless(app, world):
    fresh = app.test_client()
    page = fresh.get("/logout")
    assert page.status_code == 200
    done = fresh.post("/logout", data={"confirm": "yes",
                                       "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert done.status_code == 200 and "Location" not in done.headers


def test_expired_hint_is_still_accepted(make_app):
    """RP-Initiated Logout §2: an expired ID token is still a good hint."""
    clock = FixedClock()
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, secret = new_client(post_logout_redirect_uris=(BYE,))
        browser = app.test_client()
        issued = tokens(browser, client_id, secret)
        clock.advance(seconds=app.config["ID_TOKEN_TTL"] + 60)
        assert read_id_token(issued["id_token"]) is None  # expired
        response = browser.get("/logout", query_string={
            "id_token_hint": issued["id_token"], "post_logout_redirect_uri": BYE})
        assert response.status_code == 302 and response.location == BYE
