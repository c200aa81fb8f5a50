"""policies.assurance: the acr a sign-in earns (amr → acr), what an account can reach, and
when the login page leads with the passkey; with the real levels, through session_reuse."""

import pytest

from policies.assurance import (
    ACR_LEVEL_1,
    ACR_LEVEL_2,
    ACR_LEVEL_2_PHR,
    ACR_VALUES,
    acr_for,
    passkey_amr,
    reachable_acr,
    requires_passkey,
)
from policies.session_reuse import ISSUE, SIGN_IN, UNMET, Request, Session, decide


@pytest.mark.parametrize("level, amr, acr", [
    (1, ["pwd"], ACR_LEVEL_1),
    (1, ["hwk", "user"], ACR_LEVEL_1),       # a strong method, an unverified identity
    (2, ["pwd"], ACR_LEVEL_2),
    (2, ["pwd", "otp", "sms"], ACR_LEVEL_2),
    (2, ["vneid"], ACR_LEVEL_2),
    (2, ["hwk"], ACR_LEVEL_2),               # no user verification: not phishing-resistant
    (2, ["hwk", "user"], ACR_LEVEL_2_PHR),
    (2, ["swk", "user"], ACR_LEVEL_2_PHR),
    (2, [], ACR_LEVEL_1),
])
def test_acr_for(level, amr, acr):
    assert acr_for(level, amr) == acr


def test_passkey_amr_says_where_the_key_lives():
    assert passkey_amr(backup_eligible=False) == ["hwk", "user"]
    assert passkey_amr(backup_eligible=True) == ["swk", "user"]


def test_levels_are_ordered_weakest_first():
    assert ACR_VALUES == (ACR_LEVEL_1, ACR_LEVEL_2, ACR_LEVEL_2_PHR)


@pytest.mark.parametrize("level, has_passkey, reach", [
    (2, True, ACR_LEVEL_2_PHR), (2, False, ACR_LEVEL_2), (1, True, ACR_LEVEL_1)])
def test_reachable_acr(level, has_passkey, reach):
    assert reachable_acr(level, has_passkey=has_passkey) == reach


@pytest.mark.parametrize("values, expected", [
    ((ACR_LEVEL_2_PHR,), True), ((ACR_LEVEL_2, ACR_LEVEL_2_PHR), False), ((), False),
    (("urn:other", ACR_LEVEL_2_PHR), True), (("urn:other",), False)])
def test_requires_passkey(values, expected):
    assert requires_passkey(values) is expected


def _session(acr, reach, fresh=False):
    return Session(sub="a", age=10, acr=acr, reachable_acr=reach, fresh=fresh)


@pytest.mark.parametrize("current, expected", [
    (_session(ACR_LEVEL_2, reachable_acr(2, has_passkey=True)), SIGN_IN),   # step-up
    (_session(ACR_LEVEL_2, reachable_acr(2, has_passkey=False)), UNMET),    # none to use
    (_session(ACR_LEVEL_2, reachable_acr(2, has_passkey=True), fresh=True), UNMET),
    (_session(ACR_LEVEL_2_PHR, ACR_LEVEL_2_PHR), ISSUE),
])
def test_step_up_to_the_phishing_resistant_level(current, expected):
    assert decide(Request(acr_values=(ACR_LEVEL_2_PHR,)), current, ACR_VALUES) == expected
