"""Deciding applications (gateway/services/application_decisions.py): every decision path of
the table for every role, the reasons a rejection needs, the approval as one transaction
(everything or nothing), ``account_exists``, and two decisions racing for one application."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from gateway.clock import FixedClock, as_utc
from gateway.crypto.password_hashing import verify_password
from gateway.errors import ConflictError, ValidationError
from gateway.extensions import db
from gateway.models import Account, Application, AuditRecord, Event, OutboxMessage
from gateway.services import audit
from gateway.services.application_decisions import DecisionRefusedError, decide
from gateway.services.application_queue import ApplicationNotFoundError
from gateway.services.outbox import deliver_pending
from policies import applications as rules
from providers.email import EmailFileProvider
from providers.sms import OutboxFileProvider
from tests.helpers import new_account, race
from tests.helpers.applications import OFFICE, OTHER_OFFICE, new_application, new_staff

START = datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
EMAIL = "nguyen.van.an@example.vn"
WORDS = "Ngày sinh trên tờ khai khác CCCD: 12/04/1985 và 21/04/1985."


@pytest.fixture
def gw(make_app, tmp_path):
    """An app on a fixed clock with outboxes of its own (context pushed)."""
    clock = FixedClock(START)
    app = make_app(clock=clock, SMS_OUTBOX=str(tmp_path / "sms.jsonl"),
                   EMAIL_OUTBOX=str(tmp_path / "email.jsonl"))
    with app.app_context():
        app.clock = clock
        yield app
        db.session.remove()


def sent(app) -> tuple[list[dict], list[dict]]:
    """(SMS, e-mails) delivered so far: what the outbox held is delivered first."""
    deliver_pending()
    return (OutboxFileProvider(app.config["SMS_OUTBOX"]).messages(),
            EmailFileProvider(app.config["EMAIL_OUTBOX"]).messages())


def names(model, **filters) -> list:
    db.session.expire_all()
    return model.query.filter_by(**filters).all()


def decision_records() -> list[AuditRecord]:
    """The audit records of decisions (creating staff accounts appends records too)."""
    db.session.expire_all()
    return (AuditRecord.query.filter(AuditRecord.action.like("application.%"))
            .order_by(AuditRecord.seq).all())


def state() -> dict:
    """Counts of everything a decision may write."""
    db.session.expire_all()
    return {"accounts": Account.query.count(), "audit": len(decision_records()),
            "outbox": OutboxMessage.query.count(),
            "events": Event.query.filter(Event.name.like("application.%")
                                         | (Event.name == "account.created")).count(),
            "statuses": sorted(a.status for a in Application.query.all())}


# ------------------------------------------------------------------------- approval


def test_a_clerk_approves_at_the_counter(gw):
    application = new_application(email=EMAIL, full_name="Nguyễn Văn An")
    clerk = new_staff(rules.OFFICE_STAFF)
    done = decide(clerk, application.reference, "approve")
    assert done.status == rules.APPROVED
    db.session.expire_all()
    account = db.session.get(Account, done.account.id)
    application = db.session.get(Application, application.id)
    # the account: level 2, the application's details, verified at the counter by this clerk
    assert (account.bhxh, account.full_name, account.dob, account.sex, account.cccd,
            account.phone, account.email) == (
        application.bhxh, "Nguyễn Văn An", date(1985, 4, 12), "male", application.cccd,
        "+84912345623", EMAIL)
    assert account.level == 2 and account.status == "active"
    assert (as_utc(account.verified_at), account.verified_by, account.verified_office,
            account.verification_method) == (START, clerk.id, OFFICE, "counter")
    assert account.must_change_password
    assert as_utc(account.issued_password_expires_at) == START + timedelta(days=14)
    # the application: approved by the clerk, linked to its account
    assert (application.status, application.account_id, application.decided_by) == (
        rules.APPROVED, account.id, clerk.id)
    assert as_utc(application.decided_at) == START
    # the SMS and the e-mail carry the login name and the one-time password
    sms, mails = sent(gw)
    [text] = [m for m in sms if m["template"] == "account_issued"]
    assert text["to"] == "+84912345623" and account.bhxh in text["text"]
    password = re.search(r"mot lan: ([0-9a-f-]+),", text["text"])[1]
    assert verify_password(account.password_hash, password).ok
    [mail] = mails
    assert mail["to"] == EMAIL and password in mail["text"] and account.bhxh in mail["text"]
    assert "Nguyễn Văn An" in mail["text"] and application.reference in mail["text"]
    # the audit record and the events: no number in clear, no password anywhere
    [record] = decision_records()
    assert (record.action, record.subject, record.actor, record.actor_role,
            record.actor_office) == ("application.approved",
                                     f"application:{application.reference}", clerk.username,
                                     rules.OFFICE_STAFF, OFFICE)
    assert record.changes == {"status": ["submitted", "approved"], "decision": "approve",
                              "bhxh": "******" + account.bhxh[-4:],
                              "account": [None, f"account:{account.id}"],
                              "verification_method": "counter"}
    assert audit.verify()[1] is None
    [approved] = names(Event, name="application.approved")
    assert approved.account_id == account.id
    assert approved.data == {"application_id": application.id, "office": OFFICE,
                             "staff_id": clerk.id, "role": rules.OFFICE_STAFF,
                             "method": "counter"}
    [created] = names(Event, name="account.created")
    assert created.data == {"level": 2, "via": "application"}
    everything = repr([e.data for e in Event.query.all()]) + repr(record.changes)
    assert password not in everything and account.bhxh not in everything


def test_without_an_email_only_the_sms_goes(gw):
    application = new_application()
    decide(new_staff(rules.OFFICE_STAFF), application.reference, "approve")
    sms, mails = sent(gw)
    assert [m["template"] for m in sms] == ["account_issued"] and mails == []


def test_a_note_on_an_approval_is_kept_and_a_reason_code_ignored(gw):
    application = new_application()
    decide(new_staff(rules.OFFICE_STAFF), application.reference, "approve",
           reason_code="other", reason="  Đã đối chiếu CCCD gốc. ")
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert (application.reason_code, application.reason) == (None, "Đã đối chiếu CCCD gốc.")
    assert decision_records()[0].reason == "Đã đối chiếu CCCD gốc."


def test_a_supervisor_approves_in_any_office(gw):
    application = new_application(office=OTHER_OFFICE)
    supervisor = new_staff(rules.SUPERVISOR, office=None)
    done = decide(supervisor, application.reference, "approve")
    account = db.session.get(Account, done.account.id)
    assert (account.verified_by, account.verified_office) == (supervisor.id, OTHER_OFFICE)
    assert decision_records()[0].actor_office is None


# ------------------------------------------------------------------------- rejection


def test_a_clerk_rejects_with_a_coded_reason_and_words(gw):
    application = new_application(email=EMAIL)
    clerk = new_staff(rules.OFFICE_STAFF)
    done = decide(clerk, application.reference, "reject", reason_code="data_mismatch",
                  reason=WORDS)
    assert (done.status, done.account) == (rules.REJECTED, None)
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert (application.status, application.reason_code, application.reason,
            application.decided_by, application.account_id) == (
        rules.REJECTED, "data_mismatch", WORDS, clerk.id, None)
    assert Account.query.count() == 0
    sms, mails = sent(gw)
    [text] = sms
    assert text["template"] == "application_rejected" and text["to"] == "+84912345623"
    assert application.reference in text["text"]
    assert "thong tin khai khong khop giay to" in text["text"]
    assert "Ngay sinh tren to khai khac CCCD" in text["text"] and len(text["text"]) <= 160
    [mail] = mails
    assert "thông tin khai không khớp giấy tờ" in mail["text"] and WORDS in mail["text"]
    [record] = decision_records()
    assert record.action == "application.rejected" and record.reason == WORDS
    assert record.changes["reason_code"] == [None, "data_mismatch"]
    [event] = names(Event, name="application.rejected")
    assert event.data["reason_code"] == "data_mismatch" and event.data["overturned"] is False


@pytest.mark.parametrize(("reason_code", "reason", "code"), [
    (None, WORDS, "reason_code_required"),
    ("", WORDS, "reason_code_required"),
    ("looks_odd", WORDS, "invalid_reason_code"),
    ("data_mismatch", None, "reason_required"),
    ("data_mismatch", "   ", "reason_required"),
    ("data_mismatch", "sai", "reason_required"),
    ("data_mismatch", "x" * 501, "invalid_reason"),
    ("data_mismatch", "Sai ngày\x00 sinh", "invalid_reason"),
])
def test_a_rejection_must_say_why(gw, reason_code, reason, code):
    application = new_application()
    before = state()
    with pytest.raises(ValidationError) as refused:
        decide(new_staff(rules.OFFICE_STAFF), application.reference, "reject",
               reason_code=reason_code, reason=reason)
    assert refused.value.code == code
    assert state() == before


def test_a_rejection_in_english_is_still_one_sms_and_vietnamese_first(gw):
    application = new_application()
    decide(new_staff(rules.OFFICE_STAFF), application.reference, "reject",
           reason_code="photo_unusable", reason="Ảnh chân dung bị mờ. " * 20)
    [text] = sent(gw)[0]
    assert text["text"].startswith("VssID: Ho so") and len(text["text"]) <= 160
    assert text["text"].endswith("... Hay sua va nop lai.")


# ------------------------------------------------------------------------- post office


def test_post_office_verification_then_a_clerks_confirmation(gw):
    application = new_application()
    agent = new_staff(rules.POST_OFFICE_AGENT)
    clerk = new_staff(rules.OFFICE_STAFF)
    verified = decide(agent, application.reference, "field_verified",
                      reason="Đã gặp người nộp tại bưu cục Quận 1.")
    assert verified.status == rules.FIELD_VERIFIED and verified.account is None
    db.session.expire_all()
    application = db.session.get(Application, application.id)
    assert (application.field_verified_by, as_utc(application.field_verified_at),
            application.decided_by) == (agent.id, START, None)
    assert application.reason == "Đã gặp người nộp tại bưu cục Quận 1."
    assert sent(gw) == ([], [])  # nothing for the applicant yet
    gw.clock.advance(hours=3)
    done = decide(clerk, application.reference, "approve")
    account = db.session.get(Account, done.account.id)
    assert (account.verification_method, account.verified_by) == ("post_office", clerk.id)
    assert as_utc(account.verified_at) == START + timedelta(hours=3)
    db.session.expire_all()
    assert db.session.get(Application, application.id).reason is None  # the clerk's, none
    actions = [r.action for r in decision_records()]
    assert actions == ["application.field_verified", "application.approved"]
    assert decision_records()[0].reason == "Đã gặp người nộp tại bưu cục Quận 1."
    [event] = names(Event, name="application.approved")
    assert event.data["method"] == "post_office" and event.data["field_verified_by"] == agent.id


def test_a_clerk_overturns_a_post_office_verification(gw):
    application = new_application()
    decide(new_staff(rules.POST_OFFICE_AGENT), application.reference, "field_verified")
    clerk = new_staff(rules.OFFICE_STAFF)
    with pytest.raises(ValidationError):
        decide(clerk, application.reference, "reject", reason_code="identity_mismatch")
    done = decide(clerk, application.reference, "reject", reason_code="identity_mismatch",
                  reason="Ảnh chân dung không phải người đã gặp tại bưu điện.")
    assert done.status == rules.REJECTED and Account.query.count() == 0
    [event] = names(Event, name="application.rejected")
    assert event.data["overturned"] is True


@pytest.mark.parametrize(("status", "role", "decision", "code"), [
    (rules.SUBMITTED, rules.POST_OFFICE_AGENT, "approve", "role_not_allowed"),
    (rules.SUBMITTED, rules.POST_OFFICE_AGENT, "reject", "role_not_allowed"),
    (rules.SUBMITTED, rules.OFFICE_STAFF, "field_verified", "role_not_allowed"),
    (rules.SUBMITTED, rules.SUPERVISOR, "field_verified", "role_not_allowed"),
    (rules.FIELD_VERIFIED, rules.POST_OFFICE_AGENT, "field_verified", "decision_not_allowed"),
    (rules.FIELD_VERIFIED, rules.POST_OFFICE_AGENT, "approve", "role_not_allowed"),
    (rules.APPROVED, rules.OFFICE_STAFF, "approve", "application_closed"),
    (rules.REJECTED, rules.OFFICE_STAFF, "reject", "application_closed"),
    (rules.REJECTED, rules.SUPERVISOR, "approve", "application_closed"),
])
def test_decisions_the_table_refuses(gw, status, role, decision, code):
    application = new_application(status=status)
    before = state()
    with pytest.raises(DecisionRefusedError) as refused:
        decide(new_staff(role), application.reference, decision,
               reason_code="other", reason="Lý do thử.")
    assert (refused.value.code, refused.value.status) == (code, 409)
    assert state() == before


@pytest.mark.parametrize("decision", ["", "APPROVE", "confirm", None])
def test_an_unknown_decision(gw, decision):
    application = new_application()
    with pytest.raises(ValidationError) as refused:
        decide(new_staff(rules.OFFICE_STAFF), application.reference, decision)
    assert refused.value.code == "unknown_decision"


def test_another_offices_clerk_cannot_decide(gw):
    application = new_application(office=OTHER_OFFICE)
    before = state()
    for role in (rules.OFFICE_STAFF, rules.POST_OFFICE_AGENT):
        with pytest.raises(ApplicationNotFoundError):
            decide(new_staff(role), application.reference,
                   "approve" if role == rules.OFFICE_STAFF else "field_verified")
    after = state()
    assert after.pop("events") == before.pop("events") + 2  # the two refusals, recorded
    assert after == before
    assert len(names(Event, name="application.access_refused")) == 2


# ------------------------------------------------------------------ one transaction


def test_an_account_for_the_number_refuses_the_approval(gw):
    application = new_application()
    new_account(bhxh=application.bhxh)
    before = state()
    with pytest.raises(ConflictError) as refused:
        decide(new_staff(rules.OFFICE_STAFF), application.reference, "approve")
    assert (refused.value.code, refused.value.status) == ("account_exists", 409)
    assert state() == before
    # the clerk rejects it, saying so
    decide(new_staff(rules.OFFICE_STAFF), application.reference, "reject",
           reason_code="account_exists", reason="Đã có tài khoản; dùng Quên mật khẩu.")
    [text] = sent(gw)[0]
    assert "ma so BHXH nay da co tai khoan" in text["text"]


@pytest.mark.parametrize(("columns", "code"), [
    ({"email": "not-an-address"}, "invalid_email"),
    ({"phone": "+842838123456"}, "phone_not_mobile"),   # a landline: no SMS can reach it
    ({"cccd": "079090001234"}, "cccd_dob_mismatch"),    # born 1985, the CCCD says 1990
    ({"cccd": "079185001234"}, "cccd_sex_mismatch"),
    ({"full_name": "   "}, "invalid_name"),
])
def test_nothing_is_written_when_any_part_of_an_approval_fails(gw, columns, code):
    """The status was already taken (the first write) when the account service refused the
    details: the whole transaction is rolled back. (A failure after the account was added is
    the unique number's, in the race test below.)"""
    application = new_application(**columns)
    before = state()
    with pytest.raises(ValidationError) as refused:
        decide(new_staff(rules.OFFICE_STAFF), application.reference, "approve")
    assert refused.value.code == code
    assert state() == before
    assert sent(gw) == ([], [])
    assert audit.verify()[1] is None


# ------------------------------------------------------------------------- races


RACERS = 6


def test_clerks_racing_to_decide_one_application_exactly_one_wins(gw):
    application = new_application(email=EMAIL)
    clerks = [new_staff(rules.OFFICE_STAFF) for _ in range(RACERS)]
    reference = application.reference

    def attempt(i):
        with gw.app_context():
            try:
                if i % 2:
                    return decide(clerks[i], reference, "reject", reason_code="other",
                                  reason=f"Từ chối lần {i}").status
                return decide(clerks[i], reference, "approve").status
            except DecisionRefusedError as exc:
                return exc.code
            finally:
                db.session.remove()

    outcomes = race(RACERS, attempt)
    won = [o for o in outcomes if o in (rules.APPROVED, rules.REJECTED)]
    assert len(won) == 1, outcomes
    assert set(outcomes) - set(won) <= {"application_changed", "application_closed"}, outcomes
    db.session.expire_all()
    assert db.session.get(Application, application.id).status == won[0]
    assert len(decision_records()) == 1 and audit.verify()[1] is None
    assert Account.query.count() == (1 if won[0] == rules.APPROVED else 0)
    sms, mails = sent(gw)
    assert len(sms) == 1 and len(mails) == 1
    assert len(names(Event, name=f"application.{won[0]}")) == 1


def test_two_applications_of_one_number_racing_to_approval_issue_one_account(gw):
    first = new_application(bhxh="0912345678")
    second = new_application(bhxh="0912345678")
    clerks = [new_staff(rules.OFFICE_STAFF), new_staff(rules.OFFICE_STAFF)]
    references = [first.reference, second.reference]

    def attempt(i):
        with gw.app_context():
            try:
                return decide(clerks[i], references[i], "approve").status
            except ConflictError as exc:
                return exc.code
            finally:
                db.session.remove()

    assert sorted(race(2, attempt)) == ["account_exists", rules.APPROVED]
    db.session.expire_all()
    assert Account.query.count() == 1
    assert sorted(a.status for a in Application.query.all()) == [rules.APPROVED,
                                                                 rules.SUBMITTED]
    assert len(decision_records()) == 1 and len(sent(gw)[0]) == 1
