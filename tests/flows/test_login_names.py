"""One login name per account, on every path: the lock, the throttles and the look-up all key on
policies.identifiers.login_name, so no spelling of a number gets a fresh budget of guesses."""

import pytest

from examples.vssid_app_client import Challenge
from gateway.errors import AuthenticationError
from gateway.methods.password import check_password
from gateway.services.throttle import LockedError
from tests.helpers import PASSWORD, new_account, new_client, open_login_page, submit_login

# Each of these found the account before: the lock key was cut at 64 characters after one
# strip, and the look-up stripped again, so every padding length was a fresh lock key.
PADDED_THEN_SOMETHING = [
    "0123456789" + " " * 60 + "x",
    "0123456789" + " " * 54 + "\t" * 10 + "!",
    " " * 3 + "0123456789" + " " * 70 + "0",
]
WHITESPACE_ONLY = [" 0123456789", "0123456789\t", "\n0123456789 ", "0123456789" + " " * 80,
                   "\u00a00123456789"]


@pytest.mark.parametrize("username", PADDED_THEN_SOMETHING)
def test_app_sign_in_with_a_padded_name_is_an_unknown_account(world, username):
    phone = world.device("Điện thoại A")
    with pytest.raises(Challenge) as answer:
        phone.sign_in(username, world.password)
    assert answer.value.reason == "invalid_credentials"


def test_browser_login_with_a_padded_name_is_an_unknown_account(app, client):
    new_account()
    client_id, _ = new_client()
    for username in PADDED_THEN_SOMETHING:
        flow, csrf = open_login_page(client, client_id)
        response = submit_login(client, flow, csrf, username, PASSWORD)
        assert response.status_code == 401, username


def test_every_whitespace_spelling_shares_the_plain_numbers_lock(world):
    phone = world.device("Điện thoại A")
    for username in WHITESPACE_ONLY:
        with pytest.raises(Challenge) as answer:
            phone.sign_in(username, "wrong-password-1")
        assert answer.value.reason in ("invalid_credentials", "account_locked")
    with pytest.raises(Challenge) as answer:
        phone.sign_in("0123456789", world.password)
    assert answer.value.reason == "account_locked"


def test_whitespace_around_the_number_still_signs_in(world):
    tokens = world.device("Điện thoại A").sign_in("  0123456789\t", world.password)
    assert tokens.access_token


def test_malformed_names_never_touch_a_real_accounts_lock(app):
    new_account()
    for _ in range(8):
        with pytest.raises((AuthenticationError, LockedError)):
            check_password(None, "wrong-password", address="127.0.0.7")
    assert check_password("0123456789", PASSWORD, address="127.0.0.8").bhxh == "0123456789"


def test_check_password_refuses_a_name_nobody_normalised(app):
    new_account()
    with pytest.raises(ValueError):
        check_password(" 0123456789", PASSWORD, address="127.0.0.7")
