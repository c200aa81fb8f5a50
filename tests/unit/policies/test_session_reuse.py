"""policies.session_reuse: when the browser's session answers /authorize, table and properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.session_reuse import (
    ISSUE,
    LOGIN_REQUIRED,
    SIGN_IN,
    UNMET,
    Request,
    Session,
    acr_rank,
    decide,
)

L1, L2 = "urn:l1", "urn:l2"
LEVELS = (L1, L2)


def session(**kw):
    spec = dict(sub="a", age=100, acr=L2, reachable_acr=L2, fresh=False)
    spec.update(kw)
    return Session(**spec)


@pytest.mark.parametrize("request_, current, expected", [
    (Request(), None, SIGN_IN),
    (Request(prompts=frozenset({"none"})), None, LOGIN_REQUIRED),
    (Request(), session(), ISSUE),
    (Request(prompts=frozenset({"login"})), session(), SIGN_IN),
    (Request(prompts=frozenset({"login"})), session(fresh=True), ISSUE),
    (Request(max_age=0), session(age=0), SIGN_IN),
    (Request(max_age=0), session(age=0, fresh=True), ISSUE),
    (Request(max_age=100), session(age=100), ISSUE),
    (Request(max_age=99), session(age=100), SIGN_IN),
    (Request(max_age=99, prompts=frozenset({"none"})), session(age=100), LOGIN_REQUIRED),
    (Request(hint_sub="a"), session(), ISSUE),
    (Request(hint_sub="b"), session(), SIGN_IN),
    (Request(hint_sub="b", prompts=frozenset({"none"})), session(), LOGIN_REQUIRED),
    (Request(hint_sub="b"), session(fresh=True), LOGIN_REQUIRED),
    (Request(hint_sub="b"), None, SIGN_IN),
    (Request(acr_values=(L2,)), session(acr=L1, reachable_acr=L1), UNMET),
    (Request(acr_values=(L2,), prompts=frozenset({"none"})),
     session(acr=L1, reachable_acr=L1), UNMET),
    (Request(acr_values=(L2,)), session(acr=L1, reachable_acr=L2), SIGN_IN),
    (Request(acr_values=(L2,)), session(acr=L1, reachable_acr=L2, fresh=True), UNMET),
    (Request(acr_values=(L1,)), session(acr=L2), ISSUE),
    (Request(acr_values=(L2, L1)), session(acr=L1, reachable_acr=L1), ISSUE),
    (Request(acr_values=("urn:other",)), session(acr=L1, reachable_acr=L1), ISSUE),
])
def test_decide(request_, current, expected):
    assert decide(request_, current, LEVELS) == expected


def test_acr_rank():
    assert [acr_rank(x, LEVELS) for x in (L1, L2, "x")] == [0, 1, -1]


requests_ = st.builds(
    Request,
    prompts=st.frozensets(st.sampled_from(["none", "login", "consent"]), max_size=2),
    max_age=st.none() | st.integers(0, 10**6),
    acr_values=st.lists(st.sampled_from([L1, L2, "urn:x"]), max_size=3).map(tuple),
    hint_sub=st.none() | st.sampled_from(["a", "b"]),
)
sessions = st.none() | st.builds(
    Session, sub=st.sampled_from(["a", "b"]), age=st.integers(0, 10**6),
    acr=st.sampled_from(LEVELS), reachable_acr=st.sampled_from(LEVELS), fresh=st.booleans())


@given(requests_, sessions)
def test_prompt_none_never_asks_to_sign_in(request_, current):
    if "none" in request_.prompts:
        assert decide(request_, current, LEVELS) != SIGN_IN


@given(requests_, sessions)
def test_a_code_only_for_the_named_person_at_the_asked_level(request_, current):
    if decide(request_, current, LEVELS) != ISSUE:
        return
    assert current is not None
    assert request_.hint_sub in (None, current.sub)
    known = [acr_rank(v, LEVELS) for v in request_.acr_values if v in LEVELS]
    assert not known or acr_rank(current.acr, LEVELS) >= min(known)
    if not current.fresh:
        assert "login" not in request_.prompts
        assert request_.max_age is None or 0 < request_.max_age and (
            current.age <= request_.max_age)
