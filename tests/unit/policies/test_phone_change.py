"""Who may change their own phone number (policies/phone_change.py): only a recent level-2
VNeID sign-in to the account linked to it — never a password, a level-1 identity, a stale
sign-in, or a link younger than the session."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import phone_change as P
from policies.assurance import ACR_LEVEL_1, ACR_LEVEL_2

OK = dict(amr=["vneid"], acr=ACR_LEVEL_2, auth_age=30, link_level=2, link_age=3600)


def test_a_recent_level2_vneid_sign_in_may():
    assert P.refusal(**OK) is None
    assert P.refusal(**{**OK, "auth_age": P.MAX_AUTH_AGE}) is None
    assert P.refusal(**{**OK, "link_age": 30}) is None  # linked in this very sign-in


@pytest.mark.parametrize(("changes", "code"), [
    ({"amr": ["pwd"]}, "phone_change_needs_vneid"),
    ({"amr": ["pwd", "otp", "sms"]}, "phone_change_needs_vneid"),
    ({"amr": []}, "phone_change_needs_vneid"),
    ({"link_level": None, "link_age": None}, "phone_change_not_linked"),
    ({"link_age": 10}, "phone_change_not_linked"),  # linked after the session began
    ({"acr": ACR_LEVEL_1}, "phone_change_needs_level2"),
    # a level-1 identity that proved a level-2 account: acr says 2, the link says 1
    ({"amr": ["vneid", "pwd", "otp", "sms"], "link_level": 1}, "phone_change_needs_level2"),
    ({"auth_age": P.MAX_AUTH_AGE + 1}, "phone_change_reauth"),
    ({"auth_age": -P.CLOCK_SKEW - 1}, "phone_change_reauth"),
])
def test_refusals(changes, code):
    assert P.refusal(**{**OK, **changes}) == code


@given(amr=st.lists(st.sampled_from(["vneid", "pwd", "otp", "sms", "hwk"]), max_size=4),
       acr=st.sampled_from([ACR_LEVEL_1, ACR_LEVEL_2, None, ""]),
       auth_age=st.floats(-1e6, 1e6), link_level=st.sampled_from([None, 1, 2]),
       link_age=st.one_of(st.none(), st.floats(0, 1e7)))
def test_only_the_one_combination_may(amr, acr, auth_age, link_level, link_age):
    answer = P.refusal(amr=amr, acr=acr, auth_age=auth_age, link_level=link_level,
                       link_age=link_age)
    allowed = ("vneid" in amr and acr == ACR_LEVEL_2 and link_level == 2
               and link_age is not None and link_age >= auth_age
               and -P.CLOCK_SKEW <= auth_age <= P.MAX_AUTH_AGE)
    assert (answer is None) == allowed
    assert answer is None or answer in P.REFUSALS
