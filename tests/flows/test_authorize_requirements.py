"""What the client asks of the sign-in at /authorize is honoured, never silently dropped:
id_token_hint (OIDC Core §3.1.2.1/§3.1.2.2), acr_values (§5.5.1.1 and the Unmet
Authentication Requirements extension), max_age=0 within the same second, and one value per
parameter (RFC 6749 §3.1)."""

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from gateway.clock import FixedClock
from gateway.oidc.tokens import read_id_token
from policies.assurance import ACR_LEVEL_1, ACR_LEVEL_2
from tests.helpers import REDIRECT, exchange, get_code, login, new_account, new_client
from tests.helpers.oidc import assert_error_redirect, authorize, query_of, running, tokens

B_NUMBER = "7912345678"


@pytest.fixture
def two(app):
    """Accounts A (level 2) and B (level 1), a portal, and B's ID token from B's browser."""
    new_account()
    new_account(bhxh=B_NUMBER, phone="0987654321", level=1, name="Trần Thị Bình")
    client_id, secret = new_client()
    b_browser = app.test_client()
    b_id_token = tokens(b_browser, client_id, secret, username=B_NUMBER)["id_token"]
    return client_id, secret, b_id_token


def _signed_in_as_a(client, client_id, secret):
    return tokens(client, client_id, secret)["id_token"]


# --- id_token_hint ------------------------------------------------------------------------


def test_prompt_none_with_someone_elses_hint_is_login_required(client, app, two):
    client_id, secret, b_hint = two
    _signed_in_as_a(client, client_id, secret)
    response = authorize(client, client_id, prompt="none", id_token_hint=b_hint, state="h")
    assert_error_redirect(response, "login_required", app, state="h")


def test_someone_elses_hint_shows_the_login_form(client, app, two):
    client_id, secret, b_hint = two
    _signed_in_as_a(client, client_id, secret)
    response = authorize(client, client_id, id_token_hint=b_hint, state="h")
    assert response.status_code == 302 and response.location.startswith("/login?")
    # the person signs in as B, whom the client named: B's code
    after = login(client, response.location, username=B_NUMBER)
    final = client.get(after.location)
    code = query_of(final.location)["code"]
    claims = read_id_token(exchange(client, client_id, secret, code, "v" * 43).json["id_token"])
    assert claims["sub"] == read_id_token(b_hint)["sub"]


def test_signing_in_as_someone_else_than_the_hint_gives_no_code(client, app, two):
    client_id, secret, b_hint = two
    response = authorize(client, client_id, id_token_hint=b_hint, state="h")
    after = login(client, response.location)  # A signs in, though the client named B
    final = client.get(after.location)
    assert_error_redirect(final, "login_required", app, state="h")


def test_own_hint_keeps_sso_even_expired(make_app):
    clock = FixedClock()
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        a_hint = _signed_in_as_a(browser, client_id, secret)
        clock.advance(seconds=app.config["ID_TOKEN_TTL"] + 60)
        response = authorize(browser, client_id, prompt="none", id_token_hint=a_hint)
        assert response.status_code == 302
        assert response.location.startswith(REDIRECT + "?code="), response.location


def _foreign_id_token(sub: str, issuer: str) -> str:
    key = ECKey.generate_key("P-256", private=True)
    return jwt.encode({"alg": "ES256", "kid": "x"}, {"iss": issuer, "sub": sub, "aud": "c",
                                                     "iat": 1, "exp": 2**31}, key)


@pytest.mark.parametrize("make_hint", [
    lambda sub, iss: "garbage",
    lambda sub, iss: "a.b.c",
    _foreign_id_token,
])
def test_a_hint_we_did_not_issue_is_invalid_request(client, app, two, make_hint):
    client_id, secret, b_hint = two
    a_hint = _signed_in_as_a(client, client_id, secret)
    hint = make_hint(read_id_token(a_hint)["sub"], app.config["ISSUER"])
    for extra in ({}, {"prompt": "none"}):
        response = authorize(client, client_id, id_token_hint=hint, state="g", **extra)
        assert_error_redirect(response, "invalid_request", app, state="g")


def test_an_access_token_is_not_an_id_token_hint(client, app, two):
    client_id, secret, _ = two
    access = tokens(client, client_id, secret)["access_token"]
    response = authorize(client, client_id, id_token_hint=access, prompt="none", state="t")
    assert_error_redirect(response, "invalid_request", app, state="t")


# --- acr_values ---------------------------------------------------------------------------


def test_level_1_session_asked_for_level_2_gets_no_code(client, app, two):
    client_id, secret, _ = two
    tokens(client, client_id, secret, username=B_NUMBER)  # B is level 1
    for extra in ({}, {"prompt": "none"}, {"prompt": "login"}):
        response = authorize(client, client_id, acr_values=ACR_LEVEL_2, state="l", **extra)
        assert_error_redirect(response, "unmet_authentication_requirements", app, state="l")


def test_level_1_account_asked_for_level_2_at_the_login_page_gets_no_code(client, app, two):
    client_id, _, _ = two
    response = authorize(client, client_id, acr_values=ACR_LEVEL_2, state="l")
    assert response.location.startswith("/login?")
    after = login(client, response.location, username=B_NUMBER)
    assert_error_redirect(client.get(after.location), "unmet_authentication_requirements",
                          app, state="l")


@pytest.mark.parametrize("acr_values", [ACR_LEVEL_2, ACR_LEVEL_1, f"{ACR_LEVEL_2} {ACR_LEVEL_1}",
                                        "urn:unknown:loa", f"urn:unknown {ACR_LEVEL_1}"])
def test_met_or_unknown_acr_values_keep_sso_with_the_honest_acr(client, app, two, acr_values):
    client_id, secret, _ = two
    _signed_in_as_a(client, client_id, secret)  # A is level 2
    result, verifier, _ = get_code(client, client_id, acr_values=acr_values, prompt="none")
    claims = read_id_token(exchange(client, client_id, secret, result["code"],
                                    verifier).json["id_token"])
    assert claims["acr"] == ACR_LEVEL_2


def test_level_1_session_with_unknown_acr_values_gets_its_honest_acr(client, app, two):
    client_id, secret, _ = two
    tokens(client, client_id, secret, username=B_NUMBER)
    result, verifier, _ = get_code(client, client_id, acr_values="urn:unknown:loa")
    claims = read_id_token(exchange(client, client_id, secret, result["code"],
                                    verifier).json["id_token"])
    assert claims["acr"] == ACR_LEVEL_1


# --- max_age ------------------------------------------------------------------------------


def test_max_age_zero_forces_a_sign_in_within_the_same_second(make_app):
    clock = FixedClock()  # time stands still: the session is 0 s old
    app = make_app(clock=clock)
    with running(app):
        new_account()
        client_id, secret = new_client()
        browser = app.test_client()
        _signed_in_as_a(browser, client_id, secret)
        response = authorize(browser, client_id, max_age="0")
        assert response.status_code == 302 and response.location.startswith("/login?")
        none = authorize(browser, client_id, max_age="0", prompt="none", state="z")
        assert_error_redirect(none, "login_required", app, state="z")


@pytest.mark.parametrize("max_age", ["²", "٣", "１", "-1", "1.5", " 1", "1 ", "0x10", "1" * 10])
def test_max_age_is_ascii_digits(client, app, two, max_age):
    client_id, _, _ = two
    response = authorize(client, client_id, max_age=max_age, state="m")
    assert_error_redirect(response, "invalid_request", app, state="m")
