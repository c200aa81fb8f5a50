"""prompt, max_age and single sign-on (OIDC Core §3.1.2.1, §3.1.2.3): the browser session is
used when it may be, a new sign-in is forced when the client asks for one, and prompt=none
never shows a page."""

import pytest

from gateway.clock import FixedClock
from gateway.oidc.tokens import read_id_token
from tests.helpers import REDIRECT, csrf_of, exchange, get_code, login, new_account, new_client
from tests.helpers.oidc import assert_error_redirect, authorize, query_of, running


@pytest.fixture
def portal(app):
    new_account()
    return new_client()


def _id_claims(client, client_id, secret, **extra):
    """Signs in (or reuses the session) and returns the claims of the ID token issued."""
    result, verifier, _ = get_code(client, client_id, **extra)
    body = exchange(client, client_id, secret, result["code"], verifier).json
    return read_id_token(body["id_token"])


def test_prompt_none_without_session_is_login_required(client, app, portal):
    response = authorize(client, portal[0], prompt="none", state="pn")
    assert_error_redirect(response, "login_required", app, state="pn")


def test_prompt_none_with_a_dead_session_is_login_required(client, app, portal):
    get_code(client, portal[0])
    handle = client.get_cookie(app.config["SSO_COOKIE_NAME"]).value
    page = client.get("/logout")  # nothing ended yet: a confirmation page
    client.post("/logout", data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                 "confirm": "yes"})
    client.set_cookie(app.config["SSO_COOKIE_NAME"], handle)  # the old cookie, kept back
    response = authorize(client, portal[0], prompt="none", state="x")
    assert_error_redirect(response, "login_required", app, state="x")


def test_prompt_none_with_session_gives_a_code_without_ui(client, app, portal):
    client_id, secret = portal
    get_code(client, client_id)
    response = authorize(client, client_id, prompt="none", state="quiet")
    assert response.status_code == 302
    query = query_of(response.location)
    assert response.location.startswith(REDIRECT + "?")
    assert query["state"] == "quiet" and query["iss"] == app.config["ISSUER"] and query["code"]


def test_no_prompt_with_session_gives_a_code_without_ui(client, app, portal):
    get_code(client, portal[0])
    response = authorize(client, portal[0])
    assert response.status_code == 302 and response.location.startswith(REDIRECT + "?code=")


def test_prompt_login_with_session_shows_the_login_page_again(make_app):
    clock = FixedClock()
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        first = _id_claims(browser, client_id, secret)
        clock.advance(minutes=5)
        response = authorize(browser, client_id, prompt="login", state="again")
        assert response.status_code == 302 and response.location.startswith("/login?")
        after = login(browser, response.location)
        assert after.status_code == 302 and after.location.startswith("/authorize?")
        final = browser.get(after.location)
        assert final.status_code == 302 and final.location.startswith(REDIRECT + "?")
        query = query_of(final.location)
        assert query["state"] == "again" and query["code"]
        claims = read_id_token(exchange(browser, client_id, secret, query["code"],
                                        "v" * 43).json["id_token"])
        assert claims["auth_time"] == first["auth_time"] + 300
        assert claims["sid"] != first["sid"]


def test_prompt_login_cannot_be_satisfied_by_replaying_the_login_flow(client, portal):
    """The login_flow parameter is single use and bound to the new session."""
    client_id, _ = portal
    get_code(client, client_id)
    response = authorize(client, client_id, prompt="login")
    after = login(client, response.location)
    assert client.get(after.location).location.startswith(REDIRECT)
    replay = client.get(after.location)  # same /authorize?...&login_flow=... again
    assert replay.status_code == 302 and replay.location.startswith("/login?")


def test_prompt_login_with_a_foreign_login_flow_still_asks(client, app, portal):
    client_id, _ = portal
    get_code(client, client_id)
    response = authorize(client, client_id, prompt="login", login_flow="A" * 32)
    assert response.status_code == 302 and response.location.startswith("/login?")


@pytest.mark.parametrize("max_age", ["0", "60"])
def test_max_age_with_an_older_session_forces_a_new_login(make_app, max_age):
    clock = FixedClock()
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        first = _id_claims(browser, client_id, secret)
        clock.advance(seconds=120)
        response = authorize(browser, client_id, max_age=max_age)
        assert response.status_code == 302 and response.location.startswith("/login?")
        none = authorize(browser, client_id, max_age=max_age, prompt="none", state="m")
        assert_error_redirect(none, "login_required", app, state="m")
        claims = _id_claims(browser, client_id, secret, max_age=max_age)
        assert claims["auth_time"] == first["auth_time"] + 120


def test_max_age_zero_is_satisfied_by_the_sign_in_it_asked_for(make_app):
    """The return from the login page may cross a second boundary: the sign-in just made for
    this request still counts as fresh, or max_age=0 would send the person round again."""
    clock = FixedClock()
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        response = authorize(browser, client_id, max_age="0", state="z")
        after = login(browser, response.location)
        assert after.status_code == 302 and after.location.startswith("/authorize?")
        clock.advance(seconds=2)  # the browser takes its time following the redirect
        final = browser.get(after.location)
        assert final.status_code == 302, final.get_data(as_text=True)
        assert final.location.startswith(REDIRECT + "?code="), final.location
        # the next request with max_age=0 is not fresh any more: a new sign-in again
        again = authorize(browser, client_id, max_age="0")
        assert again.status_code == 302 and again.location.startswith("/login?")


def test_max_age_larger_than_the_session_age_keeps_sso(make_app):
    clock = FixedClock()
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        first = _id_claims(browser, client_id, secret)
        clock.advance(seconds=100)
        response = authorize(browser, client_id, max_age="3600", prompt="none")
        assert response.status_code == 302 and response.location.startswith(REDIRECT + "?code=")
        claims = _id_claims(browser, client_id, secret, max_age="3600")
        assert claims["auth_time"] == first["auth_time"]  # not a new sign-in


def test_session_expiry_follows_the_clock(make_app):
    clock = FixedClock()
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, _ = new_client()
        browser = app.test_client()
        get_code(browser, client_id)
        clock.advance(seconds=app.config["SESSION_TTL"] + 1)
        response = authorize(browser, client_id, prompt="none", state="e")
        assert_error_redirect(response, "login_required", app, state="e")


def test_second_client_signs_in_without_a_prompt(client, portal):
    a_id, a_secret = portal
    b_id, b_secret = new_client(redirect_uris=("https://thue.example.vn/cb",))
    first = _id_claims(client, a_id, a_secret)
    response = authorize(client, b_id, redirect_uri="https://thue.example.vn/cb", state="b")
    assert response.status_code == 302
    assert response.location.startswith("https://thue.example.vn/cb?code="), response.location
    # the same sign-in, shared: same session, same auth_time, same subject
    code = query_of(response.location)["code"]
    body = exchange(client, b_id, b_secret, code, "v" * 43,
                    redirect_uri="https://thue.example.vn/cb").json
    second = read_id_token(body["id_token"])
    assert (second["sid"], second["auth_time"], second["sub"]) == (
        first["sid"], first["auth_time"], first["sub"])
    assert second["aud"] == b_id


def test_other_browser_has_no_session(app, portal):
    one, two = app.test_client(), app.test_client()
    get_code(one, portal[0])
    response = authorize(two, portal[0], prompt="none", state="o")
    assert_error_redirect(response, "login_required", app, state="o")


@pytest.mark.parametrize("prompt", ["none login", "login none", "none consent", "none none"])
def test_prompt_none_cannot_be_combined(client, app, portal, prompt):
    response = authorize(client, portal[0], prompt=prompt, state="c")
    assert_error_redirect(response, "invalid_request", app, state="c")


def test_prompt_none_combination_refused_with_a_session_too(client, app, portal):
    get_code(client, portal[0])
    response = authorize(client, portal[0], prompt="none login", state="c")
    assert_error_redirect(response, "invalid_request", app, state="c")


def test_login_page_returns_to_the_exact_request(client, app, portal):
    """The parked request comes back unchanged (state, nonce, scope) after the login page."""
    client_id, secret = portal
    result, verifier, params = get_code(client, client_id, state="keep", nonce="n-1",
                                        scope="openid phone")
    assert result["state"] == "keep"
    body = exchange(client, client_id, secret, result["code"], verifier).json
    assert body["scope"] == "openid phone"
    assert read_id_token(body["id_token"])["nonce"] == "n-1"
