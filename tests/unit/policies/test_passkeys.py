"""policies.passkeys: names, the signature counter, and the last strong factor."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.passkeys import (
    NAME_MAX,
    RECENT_SIGN_IN,
    PasskeyNameError,
    clean_name,
    counter_went_back,
    registration_needs_password,
    removal_needs_password,
)


@pytest.mark.parametrize("value, kept", [
    ("  Điện   thoại\tcủa An ", "Điện thoại của An"),
    ("Đie\u0323\u0302n thoại", "Điện thoại"),  # NFD typed, NFC kept
    ("", "Mặc định"), (None, "Mặc định"), ("   ", "Mặc định"),
    ("x" * NAME_MAX, "x" * NAME_MAX),
])
def test_clean_name(value, kept):
    assert clean_name(value, "Mặc định") == kept


@pytest.mark.parametrize("value", ["x" * (NAME_MAX + 1), "a\x00b", "a\u202eb", "\x1b[31m"])
def test_refused_names(value):
    with pytest.raises(PasskeyNameError):
        clean_name(value, "d")


@pytest.mark.parametrize("stored, presented, cloned", [
    (0, 0, False),   # an authenticator without a counter (most synced passkeys)
    (0, 1, False), (5, 6, False), (5, 5, True), (5, 4, True), (5, 0, True), (0, 0, False)])
def test_counter_went_back(stored, presented, cloned):
    assert counter_went_back(stored, presented) is cloned


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_a_counter_is_accepted_only_when_it_grows_or_both_are_zero(stored, presented):
    assert (not counter_went_back(stored, presented)) == (
        presented > stored or stored == presented == 0)


def test_the_last_passkey_needs_the_password():
    assert removal_needs_password(0) and not removal_needs_password(1)


def test_adding_on_an_old_sign_in_needs_the_password():
    assert not registration_needs_password(0)
    assert not registration_needs_password(RECENT_SIGN_IN)
    assert registration_needs_password(RECENT_SIGN_IN + 1)
