"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): redirect only to a registered
post_logout_redirect_uri and only with a valid id_token_hint; without one, or with one for any
session but this browser's, a CSRF-protected confirmation that ends only this browser's session;
the SSO session ends on the server, its cookie is cleared, and its tokens die."""

import pytest

from gateway.clock import FixedClock
from gateway.oidc.tokens import GrantContext, mint_id_token, read_id_token
from tests.helpers import REDIRECT, csrf_of, new_account, new_client
from tests.helpers.oidc import (
    assert_error_redirect,
    authorize,
    bearer,
    introspect,
    refresh,
    running,
    tokens,
)

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


def test_hint_from_another_browser_asks_and_ends_nothing_there(client, app, world):
    """A third party holding someone's ID token (an old one, a leaked one) cannot end that
    person's session from its own browser: it is asked, and its confirmation ends only its
    own browser's session, never the one the hint names."""
    elsewhere = app.test_client()
    query = {"id_token_hint": world["tokens"]["id_token"], "post_logout_redirect_uri": BYE,
             "state": "s"}
    page = elsewhere.get("/logout", query_string=query)
    assert page.status_code == 200 and "Location" not in page.headers
    html = page.get_data(as_text=True)
    assert 'name="confirm"' in html
    assert_still_signed_in(app, client, world)
    done = elsewhere.post("/logout", data={**query, "confirm": "yes",
                                           "csrf_token": csrf_of(html)})
    # a valid hint and a registered URI: the relying party still gets its browser back
    assert done.status_code == 302 and done.location == BYE + "?state=s"
    assert_still_signed_in(app, client, world)


def _stranger(app, world):
    """Another person, signed in through the other portal in a browser of their own."""
    new_account(bhxh="0987654321", phone="0912345699")
    browser = app.test_client()
    issued = tokens(browser, world["other_id"], world["other_secret"],
                    redirect_uri="https://thue.example.vn/cb", username="0987654321")
    return browser, issued


def _alive(browser, client_id, secret, issued, redirect_uri):
    response = authorize(browser, client_id, prompt="none", redirect_uri=redirect_uri)
    assert response.status_code == 302 and response.location.startswith(redirect_uri + "?code=")
    assert introspect(browser, client_id, secret, issued["access_token"]).json["active"] is True


def test_someone_elses_hint_asks_before_ending_this_browsers_session(client, app, world):
    """An attacker's link carrying the attacker's own ID token does not sign the victim out:
    the victim is asked; and the attacker's session, named by the hint, is left alone."""
    stranger, theirs = _stranger(app, world)
    query = {"id_token_hint": theirs["id_token"], "post_logout_redirect_uri": OTHER_BYE,
             "state": "s"}
    for response in (client.get("/logout", query_string=query),
                     client.post("/logout", data=query)):
        assert response.status_code == 200 and "Location" not in response.headers
        html = response.get_data(as_text=True)
        assert 'name="csrf_token"' in html and 'name="confirm"' in html
        assert "không khớp" in html  # says why it asks (Vietnamese first)
        assert_still_signed_in(app, client, world)
    _alive(stranger, world["other_id"], world["other_secret"], theirs,
           "https://thue.example.vn/cb")

    # The victim confirms: this browser's session ends; the stranger's does not.
    done = client.post("/logout", data={**query, "confirm": "yes", "csrf_token": csrf_of(html)})
    assert done.status_code == 302 and done.location == OTHER_BYE + "?state=s"
    assert_signed_out(app, client, world)
    _alive(stranger, world["other_id"], world["other_secret"], theirs,
           "https://thue.example.vn/cb")


def test_hint_of_an_earlier_session_of_the_same_person_asks(client, app, world):
    """A hint naming another session (here an ended one) is not this browser's session."""
    old = world["tokens"]["id_token"]
    client.get("/logout", query_string={"id_token_hint": old})  # matches: no question
    assert client.get_cookie(app.config["SSO_COOKIE_NAME"]) is None
    again = tokens(client, world["client_id"], world["secret"])
    assert read_id_token(again["id_token"])["sid"] != read_id_token(old)["sid"]
    page = client.get("/logout", query_string={"id_token_hint": old})
    assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
    assert introspect(client, world["client_id"], world["secret"],
                      again["access_token"]).json["active"] is True
    client.post("/logout", data={"id_token_hint": old, "confirm": "yes",
                                 "csrf_token": csrf_of(page.get_data(as_text=True))})
    assert introspect(client, world["client_id"], world["secret"],
                      again["access_token"]).json == {"active": False}


def test_hint_without_sid_matches_on_the_person(client, app, world):
    """OIDC Core makes `sid` optional: a hint without one matches when its `sub` is the person
    signed in here, and only then."""
    claims = read_id_token(world["tokens"]["id_token"])
    ctx = GrantContext(auth_time=claims["auth_time"], acr=claims["acr"], amr=claims["amr"])
    other = new_account(bhxh="0987654321", phone="0912345699")
    for_someone_else = mint_id_token(client_id=world["client_id"], sub=other.sub, ctx=ctx,
                                     extra={})
    page = client.get("/logout", query_string={"id_token_hint": for_someone_else})
    assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
    assert_still_signed_in(app, client, world)
    for_this_person = mint_id_token(client_id=world["client_id"], sub=claims["sub"], ctx=ctx,
                                    extra={})
    assert "sid" not in read_id_token(for_this_person)
    response = client.get("/logout", query_string={"id_token_hint": for_this_person,
                                                   "post_logout_redirect_uri": BYE})
    assert response.status_code == 302 and response.location == BYE
    assert_signed_out(app, client, world)


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
