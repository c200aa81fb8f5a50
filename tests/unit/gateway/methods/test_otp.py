"""The OTP engine over the real store of the backend (Redis on production, the SQL store on
embedded), the real outbox and the file SMS provider: what a person receives, what the store
keeps, and every way a code is refused — including twenty simultaneous answers."""

from __future__ import annotations

import json
import re
import secrets
import time
from contextlib import ExitStack

import pytest

from gateway.extensions import db
from gateway.methods import otp
from gateway.methods.otp import OtpChallenge, OtpError
from gateway.models import Event, OutboxMessage
from gateway.services.outbox import deliver_pending, recipient_of
from gateway.store.access import store
from policies import otp_rules
from providers.sms import OutboxFileProvider
from tests.helpers import race, services
from tests.helpers.services import BACKEND

PHONE = "0912345623"
E164 = "+84912345623"
MASKED = "+84 9** *** *23"


@pytest.fixture
def start(make_app, tmp_path):
    """start(**settings) -> an app (context pushed) with its own SMS file."""
    stack = ExitStack()

    def build(**overrides):
        app = make_app(SMS_OUTBOX=str(tmp_path / "sms.jsonl"), **overrides)
        stack.enter_context(app.app_context())
        return app

    yield build
    stack.close()


@pytest.fixture
def gw(start):
    return start()


def account() -> int:
    """A fresh account id: keys of one test never meet another's (no account row needed)."""
    return 1_000_000 + secrets.randbelow(10**9)


def flow() -> str:
    return secrets.token_urlsafe(24)


def sent(app) -> list[dict]:
    return OutboxFileProvider(app.config["SMS_OUTBOX"]).messages()


def issue_and_read(app, account_id, flow_id, purpose="takeover", phone=PHONE, **kw):
    """Issue, commit, deliver; returns (challenge, the code read from the SMS)."""
    before = len(sent(app))
    challenge = otp.issue(account_id=account_id, phone=phone, purpose=purpose,
                          flow_id=flow_id, **kw)
    db.session.commit()
    deliver_pending()
    messages = sent(app)[before:]
    assert len(messages) == 1, messages
    return challenge, re.search(r"\b([0-9]{6})\b", messages[0]["text"]).group(1)


def refusal(**kw) -> str:
    with pytest.raises(OtpError) as info:
        otp.verify(**kw)
    return info.value.code


def other(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def events(name):
    db.session.expire_all()
    return [e for e in Event.query.filter_by(name=name).order_by(Event.id).all()]


# ---------------------------------------------------------------- the happy path


def test_issue_queues_one_sms_that_carries_the_code_and_nothing_is_kept_in_clear(gw):
    a, f = account(), flow()
    challenge = otp.issue(account_id=a, phone=PHONE, purpose="takeover", flow_id=f)
    db.session.commit()
    assert challenge == OtpChallenge(masked_phone=MASKED, expires_in=300, resend_after=60)

    row = OutboxMessage.query.one()
    assert (row.channel, row.recipient_hint, row.template, row.locale) == (
        "sms", MASKED, "otp", "vi")
    assert recipient_of(row) == E164
    assert row.delivered_at is None and row.payload_encrypted
    assert sent(gw) == []  # outside a request nothing leaves before the delivery job

    assert deliver_pending() == {"delivered": 1, "failed": 0, "pending": 0}
    [message] = sent(gw)
    assert message["to"] == E164 and message["template"] == "otp"
    code = re.search(r"\b([0-9]{6})\b", message["text"]).group(1)
    assert message["text"] == (
        f"Ma OTP VssID cua ban la {code} de dang nhap tren thiet bi moi, co hieu luc trong "
        "5 phut. Khong chia se ma nay cho bat ky ai."
    )

    raw = store().get(f"{{acct:{a}}}:otp:takeover:{f}")
    record = json.loads(raw)
    assert code not in record.values()
    assert record["d"] == otp_rules.code_digest(otp._server_key(), "takeover", f, code)

    otp.verify(account_id=a, purpose="takeover", flow_id=f, code=code)
    db.session.commit()
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=code) == "otp_expired"

    [issued] = events("otp.issued")
    assert issued.account_id == a and issued.data == {"purpose": "takeover", "phone": MASKED}
    [verified] = events("otp.verified")
    assert verified.data == {"purpose": "takeover"}
    [reused] = events("otp.failed")
    assert reused.data == {"purpose": "takeover", "reason": "otp_expired", "stage": "verify"}
    every_value = json.dumps([e.data for e in Event.query.all()])
    assert code not in every_value and E164 not in every_value and f not in every_value


def test_english_sms_and_masked_phone(gw):
    challenge, code = issue_and_read(gw, account(), flow(), purpose="recovery",
                                     phone="+84 388 123 456", locale="en")
    assert challenge.masked_phone == "+84 3** *** *56"
    assert sent(gw)[-1]["text"] == (f"Your VssID OTP is {code} for account recovery, valid for "
                                    "5 min. Do not share this code with anyone.")
    assert sent(gw)[-1]["to"] == "+84388123456"


def test_wrong_code_is_refused_and_the_right_one_still_works(gw):
    a, f = account(), flow()
    _, code = issue_and_read(gw, a, f)
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=other(code)) == "otp_invalid"
    otp.verify(account_id=a, purpose="takeover", flow_id=f, code=code)


def test_code_is_bound_to_account_purpose_and_flow(gw):
    a, f = account(), flow()
    _, code = issue_and_read(gw, a, f, purpose="takeover")
    assert refusal(account_id=a, purpose="recovery", flow_id=f, code=code) == "otp_expired"
    assert refusal(account_id=a, purpose="takeover", flow_id=flow(), code=code) == "otp_expired"
    assert refusal(account_id=a + 1, purpose="takeover", flow_id=f, code=code) == "otp_expired"
    # a second flow of the same account and purpose has its own code
    f2 = flow()
    _, code2 = issue_and_read(gw, a, f2, purpose="takeover")
    if code2 != code:
        assert refusal(account_id=a, purpose="takeover", flow_id=f2, code=code) == "otp_invalid"
    otp.verify(account_id=a, purpose="takeover", flow_id=f, code=code)
    otp.verify(account_id=a, purpose="takeover", flow_id=f2, code=code2)


def test_code_expires(start):
    app = start(OTP_TTL=1)
    a, f = account(), flow()
    challenge, code = issue_and_read(app, a, f)
    assert challenge.expires_in == 1
    assert "co hieu luc trong 1 phut" in sent(app)[-1]["text"]
    time.sleep(1.2)
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=code) == "otp_expired"


# ---------------------------------------------------------------- guessing


def test_five_wrong_tries_burn_the_code_and_malformed_ones_count(gw):
    a, f = account(), flow()
    _, code = issue_and_read(gw, a, f)
    wrong = ["12345", "abcdef", "１２３４５６", other(code)]
    answers = [refusal(account_id=a, purpose="takeover", flow_id=f, code=w) for w in wrong]
    assert answers == ["otp_invalid"] * 4
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=None) == \
        "otp_attempts_exceeded"
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=code) == \
        "otp_attempts_exceeded"
    assert [e.data["reason"] for e in events("otp.failed")] == \
        ["otp_invalid"] * 4 + ["otp_attempts_exceeded"] * 2
    assert events("otp.verified") == []


def test_failure_budget_survives_a_resend_and_stops_new_codes(start):
    # a long cool-down (no race with a loaded machine's clock), then let it pass by removing
    # its key, as its expiry would
    app = start(OTP_RESEND_COOLDOWN=60, OTP_FAILURE_BUDGET=4)
    a, f = account(), flow()
    _, first = issue_and_read(app, a, f)
    for _ in range(2):
        assert refusal(account_id=a, purpose="takeover", flow_id=f, code=other(first)) == \
            "otp_invalid"
    with pytest.raises(OtpError) as info:
        otp.issue(account_id=a, phone=PHONE, purpose="takeover", flow_id=f)
    assert info.value.code == "otp_rate_limited" and info.value.status == 429
    assert 50 <= info.value.retry_after <= 60
    store().delete(otp._code_key(a, "takeover", f) + ":cooldown")
    _, second = issue_and_read(app, a, f)
    if second != first:  # a resend replaces the code: the old one stops working
        assert refusal(account_id=a, purpose="takeover", flow_id=f, code=first) == "otp_invalid"
    else:
        assert refusal(account_id=a, purpose="takeover", flow_id=f, code=other(first)) == \
            "otp_invalid"
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=other(second)) == \
        "otp_budget_exhausted"
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=second) == \
        "otp_budget_exhausted"
    with pytest.raises(OtpError) as info:
        otp.issue(account_id=a, phone=PHONE, purpose="recovery", flow_id=flow())
    assert info.value.code == "otp_budget_exhausted" and info.value.status == 429
    db.session.commit()
    assert OutboxMessage.query.count() == 2  # no SMS for the refused issue


# ---------------------------------------------------------------- sending limits


def test_resend_cooldown_is_per_account_purpose_and_flow(gw):
    a, f = account(), flow()
    otp.issue(account_id=a, phone=PHONE, purpose="takeover", flow_id=f)
    with pytest.raises(OtpError) as info:
        otp.issue(account_id=a, phone=PHONE, purpose="takeover", flow_id=f)
    assert info.value.code == "otp_rate_limited" and 1 <= info.value.retry_after <= 60
    otp.issue(account_id=a, phone=PHONE, purpose="recovery", flow_id=f)
    otp.issue(account_id=a, phone=PHONE, purpose="takeover", flow_id=flow())
    otp.issue(account_id=account(), phone=PHONE, purpose="takeover", flow_id=f)
    db.session.commit()
    assert OutboxMessage.query.count() == 4
    [refused] = events("otp.failed")
    assert refused.data == {"purpose": "takeover", "reason": "otp_rate_limited", "stage": "issue"}


def test_daily_caps_per_account_and_per_phone(start):
    start(OTP_DAILY_CAP_ACCOUNT=2, OTP_DAILY_CAP_PHONE=3)
    a, b, c = account(), account(), account()

    def issue(account_id, phone=PHONE):
        try:
            otp.issue(account_id=account_id, phone=phone, purpose="login", flow_id=flow())
            return "sent"
        except OtpError as exc:
            return exc.code

    assert [issue(a), issue(a), issue(a)] == ["sent", "sent", "otp_daily_cap"]
    assert issue(b) == "sent"  # the number's third code today
    assert issue(c) == "otp_daily_cap"  # a fourth to the same number
    assert issue(c, phone="0388123456") == "sent"
    db.session.commit()
    assert OutboxMessage.query.count() == 4
    with pytest.raises(OtpError) as info:
        otp.issue(account_id=a, phone=PHONE, purpose="login", flow_id=flow())
    assert info.value.status == 429 and 1 <= info.value.retry_after <= 86401


def test_programming_errors_are_not_otp_errors(gw):
    with pytest.raises(ValueError):
        otp.issue(account_id=1, phone=PHONE, purpose="take:over", flow_id=flow())
    with pytest.raises(ValueError):
        otp.verify(account_id=1, purpose="takeover", flow_id="a:b", code="123456")
    with pytest.raises(TypeError):
        otp.verify(account_id="1", purpose="takeover", flow_id=flow(), code="123456")


# ---------------------------------------------------------------- races



# The backend's own store, and the other one: SQL store over PostgreSQL on the production run,
# Redis next to SQLite on the embedded run. Between the two runs all three stores are raced.
STORES = ["configured", "other"]


def store_settings(which):
    if which == "configured":
        return {}
    return {"REDIS_URL": ""} if BACKEND == "production" else {"REDIS_URL": services.redis_url()}


def verify_in_thread(app, **kw):
    with app.app_context():
        try:
            otp.verify(**kw)
            db.session.commit()
            return "ok"
        except OtpError as exc:
            return exc.code


@pytest.mark.parametrize("which", STORES)
def test_twenty_simultaneous_right_answers_succeed_once(start, which):
    app = start(**store_settings(which))
    a, f = account(), flow()
    _, code = issue_and_read(app, a, f)
    results = race(20, lambda i: verify_in_thread(app, account_id=a, purpose="takeover",
                                                 flow_id=f, code=code))
    assert results.count("ok") == 1, results
    assert set(results) - {"ok"} <= {"otp_expired", "otp_attempts_exceeded"}
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=code) in (
        "otp_expired", "otp_attempts_exceeded")


@pytest.mark.parametrize("which", STORES)
def test_twenty_simultaneous_guesses_are_compared_at_most_five_times(start, which):
    app = start(**store_settings(which))
    a, f = account(), flow()
    _, code = issue_and_read(app, a, f)
    guesses = [f"{(int(code) + 1 + i) % 10**6:06d}" for i in range(20)]
    results = race(20, lambda i: verify_in_thread(app, account_id=a, purpose="takeover",
                                                 flow_id=f, code=guesses[i]))
    assert "ok" not in results
    # only reserved tries reach the comparison, and only compared guesses are failures
    assert store().get(f"{{acct:{a}}}:otp:failures") == "5"
    assert results.count("otp_invalid") == 4, results
    assert refusal(account_id=a, purpose="takeover", flow_id=f, code=code) == \
        "otp_attempts_exceeded"


# ---------------------------------------------------------------- verify_in_flow (recovery)


def in_flow(app, account_id, flow_id, code, *, subject="0123456789", expires_at=None,
            purpose="recovery"):
    try:
        otp.verify_in_flow(account_id=account_id, subject=subject, purpose=purpose,
                           flow_id=flow_id, code=code,
                           expires_at=expires_at or int(time.time()) + 300)
        return "ok"
    except OtpError as exc:
        return exc.code


class Recording:
    def __init__(self, real):
        self.real, self.calls = real, []

    def __getattr__(self, name):
        method = getattr(self.real, name)

        def call(*args, **kwargs):
            self.calls.append(name)
            return method(*args, **kwargs)

        return call


def test_in_flow_a_flow_without_a_code_answers_and_works_like_one_with_a_code(gw):
    """The same answers and the same store operations, try after try, whether a code was
    issued (account) or never could be (no account); only the holder of the code succeeds."""
    a, with_code, without = account(), flow(), flow()
    _, code = issue_and_read(gw, a, with_code, purpose="recovery")
    deadline = int(time.time()) + 300
    answers, calls = {}, {}
    for name, account_id, f, subject in (("code", a, with_code, "1111111111"),
                                         ("none", None, without, "2222222222")):
        recording = gw.extensions["gateway.store"] = Recording(store())
        try:
            answers[name] = [in_flow(gw, account_id, f, other(code), subject=subject,
                                     expires_at=deadline) for _ in range(6)]
        finally:
            gw.extensions["gateway.store"] = recording.real
        calls[name] = recording.calls
    assert answers["code"] == answers["none"] == ["otp_invalid"] * 4 + [
        "otp_attempts_exceeded"] * 2
    assert calls["code"] == calls["none"]
    failed = events("otp.failed")
    assert [e.account_id for e in failed] == [a] * 6 + [None] * 6
    assert in_flow(gw, None, flow(), code, subject="3333333333") == "otp_invalid"


def test_in_flow_the_right_code_once_and_only_before_the_deadline(gw):
    a, f = account(), flow()
    _, code = issue_and_read(gw, a, f, purpose="recovery")
    assert in_flow(gw, a, f, code, expires_at=int(time.time()) - 1) == "otp_expired"
    assert in_flow(gw, a, f, other(code)) == "otp_invalid"
    assert in_flow(gw, a, f, code) == "ok"
    assert in_flow(gw, a, f, code) == "otp_invalid"  # spent: nothing left to match
    [verified] = events("otp.verified")
    assert verified.account_id == a and verified.data == {"purpose": "recovery"}


def test_in_flow_budget_is_the_subjects_and_stops_codes_for_it(start):
    app = start(OTP_FAILURE_BUDGET=3)
    a = account()
    answers = [in_flow(app, None, flow(), "000000", subject="0999999999") for _ in range(4)]
    assert answers == ["otp_invalid", "otp_invalid", "otp_budget_exhausted",
                       "otp_budget_exhausted"]
    assert in_flow(app, None, flow(), "000000", subject="0888888888") == "otp_invalid"
    with pytest.raises(OtpError) as refused:
        otp.issue(account_id=a, phone=PHONE, purpose="recovery", flow_id=flow(),
                  subject="0999999999")
    assert refused.value.code == "otp_budget_exhausted"
    # the account's own budget (takeover codes) is untouched
    issue_and_read(app, a, flow(), purpose="takeover")


# ---------------------------------------------------------------- voided by a phone change


def test_a_phone_change_voids_every_code_sent_before_it(gw):
    from gateway.services.otp_void import void_codes

    a = account()
    f1, f2 = flow(), flow()
    _, takeover = issue_and_read(gw, a, f1)
    _, recovery = issue_and_read(gw, a, f2, purpose="recovery", subject="0123456789")
    void_codes(a)
    assert refusal(account_id=a, purpose="takeover", flow_id=f1, code=takeover) == "otp_expired"
    with pytest.raises(OtpError) as refused:
        otp.verify_in_flow(account_id=a, subject="0123456789", purpose="recovery", flow_id=f2,
                           code=recovery, expires_at=int(time.time()) + 300)
    assert refused.value.code == "otp_invalid"
    # A code issued after the change (to the new number) works; another account is untouched.
    time.sleep(0.01)  # the real clock: a code of the very instant of the void is void too
    f3 = flow()
    _, fresh = issue_and_read(gw, a, f3, purpose="login")
    otp.verify(account_id=a, purpose="login", flow_id=f3, code=fresh)
    b, f4 = account(), flow()
    _, untouched = issue_and_read(gw, b, f4)
    void_codes(a)
    otp.verify(account_id=b, purpose="takeover", flow_id=f4, code=untouched)


def test_the_void_mark_is_judged_by_issue_time():
    from gateway.services.otp_void import voided

    record = json.dumps({"d": "x", "g": "y", "exp": 2, "iat": 100.5})
    assert voided(record, "100.5") and voided(record, "101") and not voided(record, "100.4")
    assert not voided(None, "101") and not voided(record, None)
    assert voided(json.dumps({"d": "x", "g": "y", "exp": 2}), "1")  # stored before marks


# ---------------------------------------------------------------- a code with no account


P = "application_status"


def test_a_code_for_a_subject_without_an_account(start):
    """An application's status look-up: the code is kept under the subject, checked with
    verify_in_flow(account_id=None), counted against the phone's daily cap and the subject's
    budget, never against an account."""
    app = start(OTP_DAILY_CAP_PHONE=2)
    f, subject = flow(), "application:DK-7KQM-X3PZ"
    challenge, code = issue_and_read(app, None, f, purpose="application_status",
                                     subject=subject)
    assert challenge.masked_phone == MASKED
    assert store().get(f"{{acct:None}}:otp:application_status:{f}") is None
    assert in_flow(app, None, f, other(code), subject=subject, purpose=P) == "otp_invalid"
    assert in_flow(app, None, f, code, subject="application:DK-2222-3333",
                   purpose=P) == "otp_invalid"
    assert in_flow(app, None, f, code, subject=subject, purpose=P) == "ok"
    assert in_flow(app, None, f, code, subject=subject, purpose=P) == "otp_invalid"  # used
    [issued] = events("otp.issued")
    assert issued.account_id is None and issued.data["purpose"] == "application_status"
    # the phone's daily cap counts these codes too
    issue_and_read(app, None, flow(), purpose="application_status", subject=subject)
    with pytest.raises(OtpError) as refused:
        otp.issue(account_id=None, phone=PHONE, purpose="application_status", flow_id=flow(),
                  subject=subject)
    assert refused.value.code == "otp_daily_cap"


def test_a_code_without_an_account_needs_a_subject(gw):
    with pytest.raises(ValueError):
        otp.issue(account_id=None, phone=PHONE, purpose="application_status", flow_id=flow())
