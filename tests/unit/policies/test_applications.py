"""The application status table (policies/applications.py): every (status, decision, role)
is either one allowed move or a refusal with a stable code."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies import applications as A

ALLOWED = {
    (A.SUBMITTED, A.APPROVE, A.OFFICE_STAFF): A.APPROVED,
    (A.SUBMITTED, A.APPROVE, A.SUPERVISOR): A.APPROVED,
    (A.SUBMITTED, A.REJECT, A.OFFICE_STAFF): A.REJECTED,
    (A.SUBMITTED, A.REJECT, A.SUPERVISOR): A.REJECTED,
    (A.SUBMITTED, A.FIELD_VERIFY, A.POST_OFFICE_AGENT): A.FIELD_VERIFIED,
    (A.FIELD_VERIFIED, A.APPROVE, A.OFFICE_STAFF): A.APPROVED,
    (A.FIELD_VERIFIED, A.APPROVE, A.SUPERVISOR): A.APPROVED,
    (A.FIELD_VERIFIED, A.REJECT, A.OFFICE_STAFF): A.REJECTED,
    (A.FIELD_VERIFIED, A.REJECT, A.SUPERVISOR): A.REJECTED,
}


@pytest.mark.parametrize(("status", "decision", "role"), sorted(ALLOWED))
def test_the_allowed_moves(status, decision, role):
    assert A.next_status(status, decision, role) == ALLOWED[(status, decision, role)]


@given(st.sampled_from(A.STATUSES), st.sampled_from((*A.DECISIONS, "approve ", "APPROVE", "")),
       st.sampled_from((*A.ROLES, "admin", "")))
def test_everything_else_is_refused_with_a_stable_code(status, decision, role):
    if (status, decision, role) in ALLOWED:
        return
    with pytest.raises(A.DecisionRefused) as refused:
        A.next_status(status, decision, role)
    assert refused.value.code in {"unknown_decision", "application_closed",
                                  "decision_not_allowed", "role_not_allowed"}


def test_an_agent_never_approves_and_a_clerk_never_field_verifies():
    with pytest.raises(A.DecisionRefused, match="role_not_allowed"):
        A.next_status(A.SUBMITTED, A.APPROVE, A.POST_OFFICE_AGENT)
    with pytest.raises(A.DecisionRefused, match="role_not_allowed"):
        A.next_status(A.SUBMITTED, A.FIELD_VERIFY, A.OFFICE_STAFF)
    with pytest.raises(A.DecisionRefused, match="decision_not_allowed"):
        A.next_status(A.FIELD_VERIFIED, A.FIELD_VERIFY, A.POST_OFFICE_AGENT)


@pytest.mark.parametrize("final", A.FINAL_STATUSES)
def test_a_decided_application_is_closed(final):
    for decision in A.DECISIONS:
        with pytest.raises(A.DecisionRefused, match="application_closed"):
            A.next_status(final, decision, A.SUPERVISOR)


def test_the_verification_method_follows_who_saw_the_person():
    assert A.verification_method(A.FIELD_VERIFIED) == "post_office"
    assert A.verification_method(A.SUBMITTED) == "counter"


@given(st.sampled_from((*A.STATUSES, "unknown")), st.sampled_from((*A.ROLES, "admin")))
def test_allowed_decisions_are_exactly_what_next_status_accepts(status, role):
    offered = A.allowed_decisions(status, role)
    assert offered == tuple(d for d in A.DECISIONS if (status, d, role) in ALLOWED)


def test_what_the_console_offers_each_role():
    assert A.allowed_decisions(A.SUBMITTED, A.OFFICE_STAFF) == (A.APPROVE, A.REJECT)
    assert A.allowed_decisions(A.SUBMITTED, A.POST_OFFICE_AGENT) == (A.FIELD_VERIFY,)
    assert A.allowed_decisions(A.FIELD_VERIFIED, A.SUPERVISOR) == (A.APPROVE, A.REJECT)
    assert A.allowed_decisions(A.FIELD_VERIFIED, A.POST_OFFICE_AGENT) == ()
    assert A.allowed_decisions(A.APPROVED, A.SUPERVISOR) == ()


def test_only_a_rejection_requires_a_reason():
    assert [d for d in A.DECISIONS if A.reason_required(d)] == [A.REJECT]
