"""The linking rules carried out (gateway/services/links.py, link_reviews.py): each rule's
writes, the review queue, staff resolution, unlinking — and what must never be written."""

from __future__ import annotations

import pytest

from gateway.clock import utcnow
from gateway.errors import AuthenticationError, ConflictError, ValidationError
from gateway.extensions import db
from gateway.methods.password import check_password
from gateway.models import Account, Event, LinkReview, LoginSession, VneidLink
from gateway.services import audit, link_reviews, links
from gateway.services.passwords import change_password, change_required
from gateway.services.sessions import start_session
from policies.linking import Candidate, LinkDecision
from tests.helpers.links import (
    CCCD,
    DOB,
    NAME,
    account_for,
    audit_actions,
    events,
    identity,
    sms_templates,
)

CLI = audit.Actor("cli:links")
CLERK = audit.Actor("clerk1", "office_staff", "BHXH-001")


def _link_row(account_id):
    db.session.expire_all()
    return VneidLink.query.filter_by(account_id=account_id).first()


# --- the facts ---------------------------------------------------------------------------


def test_candidates_are_found_by_cccd_with_what_the_rules_need(app):
    level2 = account_for("0000000001", level=2)
    flagged = account_for("0000000002", level=1)
    flagged.population_verified_at = utcnow()
    plain = account_for("0000000003", level=1, name="Nguyễn Văn Ân")
    account_for("0000000004", cccd="001085099999")
    db.session.commit()
    links.link(identity("other-subject"), level2, how="auto", reason="auto_verified_match")
    assert links.candidates_for(identity()) == [
        Candidate(level2.id, NAME, DOB, True, "other-subject"),
        Candidate(flagged.id, NAME, DOB, True, None),
        Candidate(plain.id, "Nguyễn Văn Ân", DOB, False, None),
    ]
    assert links.candidates_for(identity(id_number=None)) == []


# --- rule 1 and rule 2 ---------------------------------------------------------------------


def test_rule2_links_raises_the_level_texts_the_phone_and_records_why(app):
    account = account_for(level=1)
    account.population_verified_at = utcnow()
    db.session.commit()
    result = links.settle(identity(), register_knows=True, bhxh="9999999999")
    assert result.decision == LinkDecision("link", "auto_verified_match", account.id)
    assert result.account.id == account.id and result.case is None
    row = _link_row(account.id)
    assert (row.subject, row.how, row.reason, row.level, row.level_before) == (
        "techid-0001", "auto", "auto_verified_match", 2, 1)
    assert db.session.get(Account, account.id).level == 2
    [raised] = events("account.level_raised")
    assert raised.account_id == account.id and raised.data == {
        "before": 1, "after": 2, "via": "vneid_link"}
    [linked] = events("vneid.linked")
    assert linked.account_id == account.id
    assert linked.data == {"how": "auto", "reason": "auto_verified_match", "level": 2,
                           "subject_ref": links.subject_ref("techid-0001"), "review_id": None}
    assert "techid" not in repr(linked.data)
    # To the account's registered phone, not to the number VNeID holds.
    assert sms_templates() == [("vneid_linked", "+84 9** *** *23")]
    assert audit_actions() == [("system:vneid", "vneid.linked", f"account:{account.id}")]
    assert audit.verify()[1] is None
    # The second sign-in is rule 1 and writes nothing.
    again = links.settle(identity(), register_knows=True, bhxh="9999999999")
    assert again.decision == LinkDecision("sign_in", "already_linked", account.id)
    assert again.account.id == account.id
    assert VneidLink.query.count() == 1 and len(sms_templates()) == 1


def test_rule2_on_a_level2_account_raises_nothing(app):
    account = account_for(level=2)
    links.settle(identity(), register_knows=False)
    assert _link_row(account.id).level_before == 2
    assert events("account.level_raised") == []


# --- rule 3 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("account_level", "identity_level", "reason", "level_after"), [
    (1, 2, "account_unverified", 2),
    (2, 1, "identity_level_1", 2),
    (1, 1, "identity_level_1", 1),
])
def test_rule3_links_only_after_the_proof(app, account_level, identity_level, reason,
                                          level_after):
    account = account_for(level=account_level)
    person = identity(level=identity_level)
    result = links.settle(person, register_knows=True, bhxh="9999999999")
    assert result.decision == LinkDecision("prove", reason, account.id)
    assert VneidLink.query.count() == 0 and sms_templates() == [] and audit_actions() == []
    proven = links.link_proven(person, account.id)
    assert proven.decision.kind == "prove" and proven.account.id == account.id
    row = _link_row(account.id)
    assert (row.how, row.reason, row.level) == ("proof", reason, identity_level)
    assert db.session.get(Account, account.id).level == level_after
    assert sms_templates() == [("vneid_linked", "+84 9** *** *23")]


def test_a_proof_submitted_twice_links_once(app):
    account = account_for(level=1)
    links.link_proven(identity(), account.id)
    again = links.link_proven(identity(), account.id)
    assert again.decision == LinkDecision("sign_in", "already_linked", account.id)
    assert VneidLink.query.count() == 1 and len(events("vneid.linked")) == 1


def test_a_proof_for_an_account_linked_meanwhile_goes_to_review(app):
    account = account_for(level=1)
    links.link(identity("someone-else"), account, how="staff", reason="staff_review",
               actor=CLI)
    result = links.link_proven(identity(), account.id)
    assert result.decision == LinkDecision("review", "linked_elsewhere", None, (account.id,))
    assert _link_row(account.id).subject == "someone-else"
    assert result.case.reason == "linked_elsewhere"


def test_a_proof_never_links_an_account_whose_name_changed_meanwhile(app):
    account = account_for(level=1)
    account.full_name = "Trần Thị Bích"
    db.session.commit()
    result = links.link_proven(identity(), account.id)
    assert result.decision.kind == "review" and VneidLink.query.count() == 0


# --- rule 4 --------------------------------------------------------------------------------


def test_rule4_creates_a_passwordless_account_at_the_vneid_level(app):
    result = links.settle(identity(level=1), register_knows=True, bhxh="7912345678")
    assert result.decision == LinkDecision("create", "register_match")
    account = db.session.get(Account, result.account.id)
    assert (account.bhxh, account.cccd, account.full_name, account.dob, account.sex,
            account.phone, account.level) == ("7912345678", CCCD, NAME, DOB, "male",
                                              "+84987654321", 1)
    assert account.password_usable is False and not change_required(account)
    # A real Argon2id hash (a wrong password costs what it costs elsewhere) that nothing opens.
    assert account.password_hash.startswith("$argon2id$")
    row = _link_row(account.id)
    assert (row.how, row.reason, row.level_before) == ("created", "register_match", 1)
    assert [e.data["via"] for e in events("account.created")] == ["vneid"]
    assert sms_templates() == [("vneid_account_created", "+84 9** *** *21")]
    assert audit_actions() == [("system:vneid", "vneid.linked", f"account:{account.id}")]


def test_an_account_made_from_vneid_refuses_every_password_until_one_is_set(app):
    account = links.settle(identity(), register_knows=True, bhxh="7912345678").account
    for guess in ("", "Mật-khẩu-đủ-dài-2026", account.password_hash):
        with pytest.raises(AuthenticationError):
            check_password("7912345678", guess, address="127.0.0.1")
    # Even a hash that somehow matched would not open it while the flag says no password.
    from gateway.crypto.password_hashing import hash_password

    account.password_hash = hash_password("Mật-khẩu-đủ-dài-2026")
    db.session.commit()
    with pytest.raises(AuthenticationError):
        check_password("7912345678", "Mật-khẩu-đủ-dài-2026", address="127.0.0.1")
    # Recovery sets a password through the one path every change takes.
    change_password(account, "Một-mật-khẩu-mới-2027", reason="recovery")
    assert db.session.get(Account, account.id).password_usable is True
    assert check_password("7912345678", "Một-mật-khẩu-mới-2027",
                          address="127.0.0.1").id == account.id


def test_rule4_refuses_a_number_another_account_holds_and_opens_a_case(app):
    holder = account_for("7912345678", cccd=None)
    result = links.settle(identity(), register_knows=True, bhxh="7912345678")
    assert result.decision == LinkDecision("review", "register_number_in_use", None,
                                           (holder.id,))
    assert result.case.candidate_ids == [holder.id]
    assert Account.query.count() == 1 and VneidLink.query.count() == 0


def test_rule4_needs_the_registers_number(app):
    with pytest.raises(ValueError):
        links.settle(identity(), register_knows=True, bhxh=None)
    assert Account.query.count() == 0


@pytest.mark.parametrize(("register_knows", "changes", "reason"), [
    (False, {}, "not_in_register"),
    (True, {"phone": None}, "identity_incomplete"),
])
def test_declare_writes_nothing(app, register_knows, changes, reason):
    result = links.settle(identity(**changes), register_knows=register_knows, bhxh="7912345678")
    assert result == links.Settlement(LinkDecision("declare", reason))
    assert Account.query.count() == 0 and Event.query.count() == 0


def test_an_organisation_is_refused_and_nothing_is_written(app):
    account_for(level=2)
    result = links.settle(identity(account_type="2"), register_knows=True, bhxh="7912345678")
    assert result.decision == LinkDecision("refuse", "not_a_citizen")
    assert VneidLink.query.count() == 0 and LinkReview.query.count() == 0


# --- rule 5: the review queue --------------------------------------------------------------


def test_rule5_opens_one_case_per_subject_while_it_is_open(app):
    first = account_for("0000000001")
    second = account_for("0000000002")
    result = links.settle(identity(), register_knows=True, bhxh="7912345678")
    assert result.decision == LinkDecision("review", "several_candidates", None,
                                           (first.id, second.id))
    case = result.case
    assert (case.status, case.reason, case.candidate_ids) == (
        "open", "several_candidates", [first.id, second.id])
    assert case.claims == {"id_number": CCCD, "full_name": NAME, "birthdate": "1985-04-12",
                           "sex": "male", "phone": "+84 9** *** *21", "level": 2,
                           "account_type": "1"}
    again = links.settle(identity(), register_knows=True, bhxh="7912345678")
    assert again.case.id == case.id
    assert LinkReview.query.count() == 1 and len(events("link_review.opened")) == 1
    assert audit_actions() == [("system:vneid", "link_review.opened", f"link_review:{case.id}")]
    assert VneidLink.query.count() == 0 and sms_templates() == []


def test_a_case_shows_both_sides_masked(app):
    agreeing = account_for("0000000001")
    other = account_for("0000000002", name="Nguyễn Văn Ân", dob="1985-04-13")
    links.link(identity("someone-else"), other, how="auto", reason="auto_verified_match")
    case = links.settle(identity(), register_knows=False).case
    shown = link_reviews.describe(case)
    assert shown["vneid"] == {"id_number": "********2345", "full_name": NAME,
                              "birthdate": "1985-04-12", "sex": "male",
                              "phone": "+84 9** *** *21", "level": 2, "account_type": "1"}
    by_id = {c["account_id"]: c for c in shown["candidates"]}
    assert by_id[agreeing.id]["bhxh"] == "******0001"
    assert (by_id[agreeing.id]["name_agrees"], by_id[agreeing.id]["birthdate_agrees"],
            by_id[agreeing.id]["id_number_agrees"], by_id[agreeing.id]["linked"]) == (
        True, True, True, False)
    assert (by_id[other.id]["name_agrees"], by_id[other.id]["birthdate_agrees"],
            by_id[other.id]["linked"], by_id[other.id]["linked_to_this_subject"]) == (
        False, False, True, False)
    assert CCCD not in repr(shown) and "0000000001" not in repr(shown)


def test_staff_link_a_case_with_a_reason(app):
    account = account_for("0000000001", level=1)
    account_for("0000000002")
    case = links.settle(identity(), register_knows=False).case
    resolved = links.resolve_case(case.id, actor=CLERK, reason="Đã đối chiếu CCCD tại quầy",
                                  bhxh="0000000001")
    assert (resolved.status, resolved.resolution, resolved.resolved_account_id,
            resolved.resolved_by, resolved.resolution_reason, resolved.open_subject) == (
        "resolved", "linked", account.id, "clerk1", "Đã đối chiếu CCCD tại quầy", None)
    row = _link_row(account.id)
    assert (row.subject, row.how, row.reason, row.review_id) == (
        "techid-0001", "staff", "staff_review", case.id)
    assert db.session.get(Account, account.id).level == 2
    assert audit_actions()[-2:] == [
        ("clerk1", "link_review.resolved", f"link_review:{case.id}"),
        ("clerk1", "vneid.linked", f"account:{account.id}")]
    assert audit.verify()[1] is None
    with pytest.raises(ConflictError) as refused:
        links.resolve_case(case.id, actor=CLI, reason="again", reject=True)
    assert refused.value.code == "case_not_open"
    # The person's next sign-in is rule 1.
    assert links.settle(identity(), register_knows=False).decision.kind == "sign_in"


def test_staff_reject_a_case_and_a_later_sign_in_opens_a_new_one(app):
    account_for("0000000001")
    account_for("0000000002")
    case = links.settle(identity(), register_knows=False).case
    resolved = links.resolve_case(case.id, actor=CLI, reason="Không đủ căn cứ", reject=True)
    assert (resolved.resolution, resolved.resolved_account_id) == ("rejected", None)
    assert VneidLink.query.count() == 0
    [event] = events("link_review.resolved")
    assert event.data == {"case_id": case.id, "resolution": "rejected", "by": "cli:links"}
    later = links.settle(identity(), register_knows=False).case
    assert later.id != case.id and later.status == "open"


def test_a_staff_link_the_one_to_one_rule_refuses_leaves_the_case_open(app):
    account = account_for("0000000001")
    account_for("0000000002")
    case = links.settle(identity(), register_knows=False).case
    links.link(identity("someone-else"), account, how="auto", reason="auto_verified_match")
    before = audit_actions()
    with pytest.raises(links.AlreadyLinkedError) as refused:
        links.resolve_case(case.id, actor=CLI, reason="x", bhxh="0000000001")
    assert refused.value.code == "account_already_linked"
    assert link_reviews.get_case(case.id).status == "open"
    assert audit_actions() == before and events("link_review.resolved") == []


@pytest.mark.parametrize(("kwargs", "code"), [
    ({"reason": "  ", "reject": True}, "reason_required"),
    ({"reason": "x" * 2001, "reject": True}, "reason_too_long"),
    ({"reason": "x"}, "account_or_reject"),
    ({"reason": "x", "reject": True, "bhxh": "0000000001"}, "account_or_reject"),
    ({"reason": "x", "bhxh": "0000000009"}, "unknown_account"),
    ({"reason": "x", "bhxh": "not-a-number"}, "unknown_account"),
])
def test_resolving_refuses_bad_input_and_changes_nothing(app, kwargs, code):
    account_for("0000000001")
    account_for("0000000002")
    case = links.settle(identity(), register_knows=False).case
    with pytest.raises(ValidationError) as refused:
        links.resolve_case(case.id, actor=CLI, **kwargs)
    assert refused.value.code == code
    assert link_reviews.get_case(case.id).status == "open"


def test_an_unknown_case_is_named(app):
    with pytest.raises(ValidationError) as refused:
        links.resolve_case(12345, actor=CLI, reason="x", reject=True)
    assert refused.value.code == "unknown_case"


def test_cases_are_listed_oldest_first_by_status(app, clock):
    account_for("0000000001")
    account_for("0000000002")
    first = links.settle(identity("s1"), register_knows=False).case
    second = links.settle(identity("s2"), register_knows=False).case
    links.resolve_case(first.id, actor=CLI, reason="x", reject=True)
    assert [c.id for c in link_reviews.list_cases()] == [first.id, second.id]
    assert [c.id for c in link_reviews.list_cases("open")] == [second.id]
    assert [c.id for c in link_reviews.list_cases("resolved")] == [first.id]
    with pytest.raises(ValidationError):
        link_reviews.list_cases("closed")


# --- unlinking -----------------------------------------------------------------------------


def test_unlink_gives_back_the_level_texts_the_phone_and_ends_the_sessions(app):
    account = account_for(level=1)
    links.link_proven(identity(), account.id)
    start_session(db.session.get(Account, account.id), amr=["vneid"])
    done = links.unlink(db.session.get(Account, account.id), actor=CLI,
                        reason="Liên kết nhầm người")
    assert done == {"account_id": account.id, "how": "proof", "level": 1, "revoked": 1}
    assert VneidLink.query.count() == 0
    db.session.expire_all()
    assert db.session.get(Account, account.id).level == 1
    assert LoginSession.query.filter_by(account_id=account.id).one().revoked_at is not None
    assert [t for t, _ in sms_templates()] == ["vneid_linked", "vneid_unlinked"]
    [lowered] = events("account.level_lowered")
    assert lowered.data == {"before": 2, "after": 1, "via": "vneid_unlink"}
    [unlinked] = events("vneid.unlinked")
    assert unlinked.data == {"how": "proof", "by": "cli:links",
                             "subject_ref": links.subject_ref("techid-0001")}
    assert audit_actions()[-1] == ("cli:links", "vneid.unlinked", f"account:{account.id}")
    assert audit.verify()[1] is None
    # Both ends are free again: the rules decide afresh.
    assert links.settle(identity(), register_knows=False).decision.kind == "prove"


def test_unlink_keeps_a_level_the_link_did_not_add(app):
    account = account_for(level=2)
    links.settle(identity(), register_knows=False)
    links.unlink(account, actor=CLI, reason="Theo yêu cầu của chủ tài khoản")
    assert db.session.get(Account, account.id).level == 2
    assert events("account.level_lowered") == []


def test_unlink_of_an_unlinked_account_and_without_reason(app):
    account = account_for()
    with pytest.raises(ConflictError) as refused:
        links.unlink(account, actor=CLI, reason="x")
    assert refused.value.code == "not_linked"
    with pytest.raises(ValidationError) as refused:
        links.unlink(account, actor=CLI, reason="")
    assert refused.value.code == "reason_required"
    assert audit_actions() == [] and sms_templates() == []


# --- what the linking services must never write ---------------------------------------------


def test_a_refused_link_leaves_no_sms_event_or_audit(app):
    account = account_for()
    links.link(identity("someone-else"), account, how="auto", reason="auto_verified_match")
    before = (sms_templates(), audit_actions(), Event.query.count())
    with pytest.raises(links.AlreadyLinkedError) as refused:
        links.link(identity(), account, how="auto", reason="auto_verified_match")
    assert refused.value.code == "account_already_linked"
    assert (sms_templates(), audit_actions(), Event.query.count()) == before
    other = account_for("0000000002", cccd=None)
    with pytest.raises(links.AlreadyLinkedError) as refused:
        links.link(identity("someone-else"), other, how="staff", reason="staff_review")
    assert refused.value.code == "subject_already_linked"


def test_reminders_never_ask_to_rotate_a_password_that_does_not_exist(make_app, clock):
    from gateway.jobs.password_reminders import send_reminders

    app = make_app(clock=clock)
    with app.app_context():
        links.settle(identity(), register_knows=True, bhxh="7912345678")
        account_for("0000000001", cccd=None)
        clock.advance(days=170)
        assert send_reminders()["sent"] == 1
        assert [t for t, _ in sms_templates()] == ["vneid_account_created",
                                                   "password_expiry_reminder"]
        clock.advance(days=30)
        account = Account.query.filter_by(bhxh="7912345678").one()
        assert not change_required(account)
        db.session.remove()

