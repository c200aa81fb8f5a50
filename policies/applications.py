"""The life of an account application (a declaration), as a pure table: who may move it where.

Why a table: an application is a stored record that staff move by explicit decisions, and a
national register must be able to say, for any state and any role, exactly which decision is
allowed. The services (gateway/services/applications*) call `next_status` and store what it
returns; nothing else changes an application's status.

::

    submitted ──approve (office_staff, supervisor)───────────────► approved
        │    └──reject  (office_staff, supervisor)───────────────► rejected
        └──field_verified (post_office_agent)──► field_verified
                  ├──approve = confirm  (office_staff, supervisor) ► approved
                  └──reject  = overturn (office_staff, supervisor) ► rejected
    rejected ──(the applicant corrects and resubmits)──► a NEW application, linked to this
               one by ``previous_id``; the rejected one stays rejected.

``approved`` and ``rejected`` are final. A post-office agent only records that they saw the
person and the document; an office clerk must then confirm or overturn it, so an account is
never issued on the agent's word alone.
"""

from __future__ import annotations

SUBMITTED = "submitted"
FIELD_VERIFIED = "field_verified"
APPROVED = "approved"
REJECTED = "rejected"
STATUSES = (SUBMITTED, FIELD_VERIFIED, APPROVED, REJECTED)
OPEN_STATUSES = (SUBMITTED, FIELD_VERIFIED)
FINAL_STATUSES = (APPROVED, REJECTED)

OFFICE_STAFF = "office_staff"
POST_OFFICE_AGENT = "post_office_agent"
SUPERVISOR = "supervisor"
ROLES = (OFFICE_STAFF, POST_OFFICE_AGENT, SUPERVISOR)

APPROVE = "approve"
REJECT = "reject"
FIELD_VERIFY = "field_verified"
DECISIONS = (APPROVE, REJECT, FIELD_VERIFY)

# (status, decision) -> (new status, roles allowed)
_TABLE: dict[tuple[str, str], tuple[str, frozenset[str]]] = {
    (SUBMITTED, APPROVE): (APPROVED, frozenset({OFFICE_STAFF, SUPERVISOR})),
    (SUBMITTED, REJECT): (REJECTED, frozenset({OFFICE_STAFF, SUPERVISOR})),
    (SUBMITTED, FIELD_VERIFY): (FIELD_VERIFIED, frozenset({POST_OFFICE_AGENT})),
    (FIELD_VERIFIED, APPROVE): (APPROVED, frozenset({OFFICE_STAFF, SUPERVISOR})),
    (FIELD_VERIFIED, REJECT): (REJECTED, frozenset({OFFICE_STAFF, SUPERVISOR})),
}

# Why an application is rejected: stable codes (the SMS and the status page say them in
# Vietnamese and English from the message catalogue), then free text from the clerk.
REASON_CODES = (
    "identity_mismatch",     # the person in front of the clerk is not the one in the photos
    "document_invalid",      # the CCCD shown is expired, damaged or not genuine
    "photo_unusable",        # a portrait or document photo cannot be compared
    "data_mismatch",         # declared details differ from the document
    "account_exists",        # the social-insurance number already has an account
    "not_presented",         # the applicant did not come within the allowed time
    "other",
)


class DecisionRefused(Exception):
    """The table does not allow this decision: ``code`` says why, for the caller's answer."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def next_status(status: str, decision: str, role: str) -> str:
    """The status after `decision` by someone of `role`; DecisionRefused otherwise.

    Codes: ``unknown_decision``, ``application_closed`` (already approved or rejected),
    ``decision_not_allowed`` (the decision does not apply to this status),
    ``role_not_allowed`` (this role may not take it).
    """
    if decision not in DECISIONS:
        raise DecisionRefused("unknown_decision")
    if status in FINAL_STATUSES:
        raise DecisionRefused("application_closed")
    entry = _TABLE.get((status, decision))
    if entry is None:
        raise DecisionRefused("decision_not_allowed")
    new_status, roles = entry
    if role not in roles:
        raise DecisionRefused("role_not_allowed")
    return new_status


def verification_method(status_before: str) -> str:
    """How the person was verified, for the account: ``post_office`` when an agent saw them
    and a clerk confirmed, ``counter`` when a clerk saw them at the office."""
    return "post_office" if status_before == FIELD_VERIFIED else "counter"


def allowed_decisions(status: str, role: str) -> tuple[str, ...]:
    """The decisions someone of `role` may take on an application in `status`, in the order
    of DECISIONS: what the console offers (the service still asks `next_status`)."""
    allowed = []
    for decision in DECISIONS:
        try:
            next_status(status, decision, role)
        except DecisionRefused:
            continue
        allowed.append(decision)
    return tuple(allowed)


def reason_required(decision: str) -> bool:
    """A rejection (and so an overturn of a post-office verification) must say why, in a
    reason code and in the clerk's own words: the applicant reads both."""
    return decision == REJECT
