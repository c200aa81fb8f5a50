"""The console's account actions (gateway/services/counter.py) over the real store, outbox and
database: each does the existing operation, with one audit record in its transaction."""

from __future__ import annotations

import pytest

from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.methods import otp
from gateway.models import (
    Account,
    ActiveDevice,
    AuditRecord,
    Event,
    LoginSession,
    OutboxMessage,
)
from gateway.services import audit, counter, devices, sessions
from gateway.services.outbox import recipient_of
from tests.helpers import new_account, race

CLERK = audit.Actor("clerk.an", "office_staff", "BHXH-001")
REASON = "Người dân mất điện thoại, có mặt tại quầy"
CCCD = "001085012345"


@pytest.fixture
def person(app):
    return new_account(cccd=CCCD, sex="male", phone="0912345623")


def _signed_in(account, device: str | None = "Điện thoại của An"):
    """A browser session and an app session bound as the active device."""
    sessions.start_session(account, amr=["pwd"])
    _, app_session = sessions.start_session(account, amr=["pwd"], kind="app",
                                            device_id="dev-1")
    if device:
        devices.bind(account, devices.DeviceClaim("dev-1", device, "jkt-1", "app-client"),
                     app_session.sid, expected_version=None)


def _live_sessions(account) -> int:
    db.session.expire_all()
    return LoginSession.query.filter_by(account_id=account.id, revoked_at=None).count()


def _records(action=None):
    query = AuditRecord.query.order_by(AuditRecord.seq)
    return (query.filter_by(action=action) if action else query).all()


def test_a_look_up_is_audited_with_its_reason(person):
    found = counter.look_up("0123456789", actor=CLERK, reason=f"  {REASON}  ")
    assert found.id == person.id
    [record] = _records()
    assert (record.actor, record.actor_role, record.actor_office, record.action,
            record.subject, record.reason) == ("clerk.an", "office_staff", "BHXH-001",
                                               "account.viewed", f"account:{person.id}", REASON)
    assert counter.look_up("0999999999", actor=CLERK, reason=REASON) is None
    with pytest.raises(ValidationError, match="reason_required"):
        counter.look_up("0123456789", actor=CLERK, reason="xem")
    assert len(_records()) == 1


def test_the_view_masks_every_number(person):
    _signed_in(person)
    view = counter.describe(person)
    assert (view.bhxh, view.cccd, view.phone, view.email) == (
        "******6789", "********2345", "+84 9** *** *23", None)
    assert view.full_name == "Nguyễn Văn An" and view.device.name == "Điện thoại của An"


def test_clearing_the_device(person):
    _signed_in(person)
    assert counter.clear_device(person, actor=CLERK, reason=REASON) == "Điện thoại của An"
    assert ActiveDevice.query.count() == 0
    [record] = _records()
    assert record.action == "account.device_cleared"
    assert record.changes == {"device": ["Điện thoại của An", None]}
    assert Event.query.filter_by(name="device.cleared").one().data["by"] == "staff"
    with pytest.raises(ValidationError, match="no_active_device"):
        counter.clear_device(person, actor=CLERK, reason=REASON)
    db.session.rollback()
    assert len(_records()) == 1


def test_issuing_a_one_time_password(person):
    _signed_in(person, device=None)
    assert counter.issue_password(person, actor=CLERK, reason=REASON) == "+84 9** *** *23"
    assert db.session.get(Account, person.id).must_change_password
    [record] = _records()
    assert record.action == "account.password_issued"
    assert record.changes == {"must_change_password": [False, True]}
    [sms] = OutboxMessage.query.all()
    assert sms.template == "password_reset" and recipient_of(sms) == "+84912345623"
    assert _live_sessions(person) == 0


def test_signing_out_everywhere(person):
    _signed_in(person)
    assert counter.sign_out(person, actor=CLERK, reason=REASON) == 2
    assert _live_sessions(person) == 0 and ActiveDevice.query.count() == 0
    assert [r.action for r in _records()] == ["account.signed_out_everywhere"]
    reasons = {s.revoked_reason for s in LoginSession.query.all()}
    assert reasons == {"signed_out_by_staff"}


def test_a_phone_change_moves_the_sms_factor_and_ends_everything(person):
    _signed_in(person)
    challenge = otp.issue(account_id=person.id, phone=person.phone, purpose="takeover",
                          flow_id="flow-before-change")
    db.session.commit()
    assert challenge.masked_phone == "+84 9** *** *23"

    old, new = counter.change_phone(person, cccd_shown=" 0010 8501 2345 ",
                                    new_phone="098 700 0111", actor=CLERK, reason=REASON)
    assert (old, new) == ("+84 9** *** *23", "+84 9** *** *11")
    db.session.expire_all()
    assert db.session.get(Account, person.id).phone == "+84987000111"
    [record] = _records()
    assert (record.action, record.changes, record.reason) == (
        "account.phone_changed", {"phone": [old, new]}, REASON)
    notices = [m for m in OutboxMessage.query.all() if m.template == "phone_changed"]
    assert [recipient_of(m) for m in notices] == ["+84912345623"]  # the OLD number
    assert ActiveDevice.query.count() == 0 and _live_sessions(person) == 0
    assert {s.revoked_reason for s in LoginSession.query.all()} == {"phone_changed"}
    event = Event.query.filter_by(name="account.phone_changed").one()
    assert event.data == {"old": old, "new": new, "staff": "clerk.an", "office": "BHXH-001"}
    assert "+84912345623" not in str([e.data for e in Event.query.all()])
    # the code sent to the old SIM: whatever it was, that flow has no live code any more
    with pytest.raises(otp.OtpError, match="otp_expired"):
        otp.verify(account_id=person.id, purpose="takeover", flow_id="flow-before-change",
                   code="000000")
    assert audit.verify() == (1, None)


@pytest.mark.parametrize(("cccd", "phone", "code"), [
    ("001085012346", "0987000111", "cccd_mismatch"),
    ("", "0987000111", "cccd_mismatch"),
    (CCCD, "02438253300", "phone_not_mobile"),
    (CCCD, "12345", "invalid_phone"),
    (CCCD, "+84912345623", "same_phone"),
])
def test_phone_change_refusals_change_nothing(person, cccd, phone, code):
    with pytest.raises(ValidationError) as refused:
        counter.change_phone(person, cccd_shown=cccd, new_phone=phone, actor=CLERK,
                             reason=REASON)
    assert refused.value.code == code
    db.session.rollback()
    assert db.session.get(Account, person.id).phone == "+84912345623" and _records() == []


def test_without_a_cccd_on_record_the_counter_cannot_change_the_phone(app):
    account = new_account(phone="0912345623")
    with pytest.raises(ValidationError, match="no_cccd_on_record"):
        counter.change_phone(account, cccd_shown=CCCD, new_phone="0987000111", actor=CLERK,
                             reason=REASON)


def test_three_wrong_cccd_numbers_stop_the_phone_change_for_a_day(person):
    for n in range(3):
        with pytest.raises(ValidationError, match="cccd_mismatch"):
            counter.change_phone(person, cccd_shown=f"00108501234{n + 6}",
                                 new_phone="0987000111", actor=CLERK, reason=REASON)
    with pytest.raises(counter.CccdTriesExceededError) as stopped:
        counter.change_phone(person, cccd_shown=CCCD, new_phone="0987000111", actor=CLERK,
                             reason=REASON)
    assert stopped.value.status == 429 and stopped.value.retry_after == 24 * 3600
    refused = Event.query.filter_by(name="account.phone_change_refused").all()
    assert [e.data["tries"] for e in refused] == [1, 2, 3]


def test_two_clerks_changing_one_phone_at_once_one_wins(make_app):
    app = make_app()
    with app.app_context():
        account_id = new_account(cccd=CCCD, sex="male", phone="0912345623").id
        db.session.remove()

    def change(i):
        with app.app_context():
            account = db.session.get(Account, account_id)
            try:
                counter.change_phone(account, cccd_shown=CCCD, new_phone=f"098700011{i}",
                                     actor=audit.Actor(f"clerk.{i}", "office_staff", "B-1"),
                                     reason=REASON)
                return "changed"
            except ValidationError as exc:
                db.session.rollback()
                return exc.code
            finally:
                db.session.remove()

    outcomes = race(4, change)
    with app.app_context():
        records = _records("account.phone_changed")
        final = db.session.get(Account, account_id).phone
        assert outcomes.count("changed") == len(records) >= 1
        assert set(outcomes) <= {"changed", "phone_changed_meanwhile"}
        # each winner moved the number on from the one before it: the chain tells the story
        assert records[-1].changes["phone"][1] == counter.mask_phone(final)
        assert audit.verify()[1] is None
