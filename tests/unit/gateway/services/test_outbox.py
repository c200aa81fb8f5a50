"""The outbox: written in the caller's transaction, sealed at rest, delivered once by racing
workers, retried with backoff, given up loudly, erased after use; and the SMS texts."""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from datetime import timedelta

import pytest
from sqlalchemy import text

from gateway.clock import FixedClock, as_utc
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.messages import sms as sms_texts
from gateway.messages.reasons import REASON_TEXTS
from gateway.models import Event, OutboxMessage
from gateway.services import outbox
from gateway.services.outbox import deliver_pending, enqueue_sms, retry_delay, sealing
from gateway.services.outbox.delivery import reason_code
from gateway.services.outbox.enqueue import PENDING
from policies.applications import REASON_CODES
from providers.sms import DeliveryError, OutboxFileProvider
from tests.helpers import race, run_jobs

PHONE = "+84912345623"
GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


@pytest.fixture
def start(make_app, tmp_path):
    """start(clock=None, **settings) -> an app (context pushed) with its own SMS file."""
    stack = ExitStack()

    def build(clock=None, **overrides):
        app = make_app(clock=clock, SMS_OUTBOX=str(tmp_path / "sms.jsonl"), **overrides)
        stack.enter_context(app.app_context())
        return app

    yield build
    stack.close()


@pytest.fixture
def gw(start):
    return start()


def sent(app) -> list[dict]:
    return OutboxFileProvider(app.config["SMS_OUTBOX"]).messages()


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return OutboxMessage.query.order_by(OutboxMessage.id).all()


def events(name) -> list[Event]:
    db.session.expire_all()
    return Event.query.filter_by(name=name).order_by(Event.id).all()


class FailingProvider:
    """An SMS gateway that is down (or refuses): records each call, then raises."""

    def __init__(self, reason="http_503", permanent=False, error=None):
        self.calls = []
        self.reason, self.permanent, self.error = reason, permanent, error

    def send(self, phone, text, *, template=""):
        self.calls.append((phone, text))
        if self.error is not None:
            raise self.error
        raise DeliveryError(self.reason, permanent=self.permanent)


# ---------------------------------------------------------------- writing


def test_enqueue_joins_the_callers_transaction(gw):
    enqueue_sms(PHONE, "password_changed", {})
    db.session.rollback()
    assert rows() == []
    assert deliver_pending() == {"delivered": 0, "failed": 0, "pending": 0}
    assert sent(gw) == []

    enqueue_sms("0912 345 623", "password_changed", {}, locale="en")
    db.session.commit()
    [row] = rows()
    assert (row.recipient_hint, row.locale, row.attempts, row.channel) == (
        "+84 9** *** *23", "en", 0, "sms")
    assert outbox.recipient_of(row) == PHONE
    assert row.next_attempt_at is not None and row.delivered_at is None


def test_enqueue_refuses_what_cannot_be_sent(gw):
    with pytest.raises(ValidationError) as info:
        enqueue_sms("12345", "password_changed", {})
    assert info.value.field == "phone"
    with pytest.raises(ValueError):
        enqueue_sms(PHONE, "no_such_template", {})
    with pytest.raises(ValueError):
        enqueue_sms(PHONE, "password_expiry_reminder", {})
    db.session.commit()
    assert rows() == []


def test_delivery_sends_once_marks_delivered_and_erases_the_payload(gw):
    enqueue_sms(PHONE, "password_reset", {"password": "Tam-Thoi-8841"})
    db.session.commit()
    [row] = rows()
    assert row.payload_encrypted and b"Tam-Thoi-8841" not in bytes(row.payload_encrypted)

    assert deliver_pending() == {"delivered": 1, "failed": 0, "pending": 0}
    [message] = sent(gw)
    assert message["to"] == PHONE and message["template"] == "password_reset"
    assert "Tam-Thoi-8841" in message["text"] and message["at"]
    [row] = rows()
    assert row.delivered_at is not None and row.erased_at is not None
    assert bytes(row.payload_encrypted) == b"" and row.next_attempt_at is None
    assert row.attempts == 1 and row.last_error is None

    [delivered] = events("message.delivered")
    assert delivered.data == {"message_id": row.id, "channel": "sms",
                              "template": "password_reset", "attempts": 1,
                              "to": "+84 9** *** *23"}
    assert deliver_pending() == {"delivered": 0, "failed": 0, "pending": 0}
    assert len(sent(gw)) == 1


def test_a_row_redirected_to_another_number_is_never_sent(gw):
    enqueue_sms(PHONE, "password_reset", {"password": "Tam-Thoi-8841"})
    enqueue_sms("+84388123456", "password_changed", {})
    db.session.commit()
    # Someone with write access to the table but not to the key: the hint in clear is only a
    # hint, and the other row's sealed number does not open under this row's key.
    db.session.execute(text("UPDATE outbox_messages SET recipient_hint = '+84 3** *** *56'"))
    db.session.commit()
    assert deliver_pending(limit=1) == {"delivered": 1, "failed": 0, "pending": 1}
    assert [m["to"] for m in sent(gw)] == [PHONE]
    first, second = rows()
    second.recipient_sealed = sealing.seal(PHONE.encode(), sealing.recipient_aad(
        bytes(first.message_key), "sms"))  # a seal made for another row
    db.session.commit()
    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 0}
    assert [m["to"] for m in sent(gw)] == [PHONE]
    [_, row] = rows()
    assert row.failed_at is not None and row.last_error == "undecryptable"
    assert bytes(row.payload_encrypted) == b"" and bytes(row.recipient_sealed) == b""
    assert events("message.failed")[0].data["reason"] == "undecryptable"


def test_no_row_keeps_the_full_number(gw):
    """Sealed while pending, erased once delivered or given up: on both backends, nothing in
    the table (any column, as stored) holds the number or its national digits."""
    gw.extensions["gateway.sms"] = FailingProvider("rejected", permanent=True)
    enqueue_sms("0388 123 456", "password_changed", {})
    db.session.commit()
    deliver_pending()
    gw.extensions["gateway.sms"] = OutboxFileProvider(gw.config["SMS_OUTBOX"])
    enqueue_sms(PHONE, "otp", {"code": "482913", "minutes": 5, "purpose": "recovery"})
    db.session.commit()

    def stored() -> str:
        db.session.expire_all()
        raw = db.session.execute(text("SELECT * FROM outbox_messages")).all()
        return repr([[bytes(v).hex() + repr(bytes(v)) if isinstance(v, bytes | memoryview)
                      else repr(v) for v in r] for r in raw])

    assert "912345623" not in stored() and "388123456" not in stored()
    assert [r.recipient_hint for r in rows()] == ["+84 3** *** *56", "+84 9** *** *23"]
    assert deliver_pending()["delivered"] == 1
    [message] = sent(gw)
    assert message["to"] == PHONE
    after = stored()
    assert "912345623" not in after and "388123456" not in after and "482913" not in after
    assert all(bytes(r.recipient_sealed) == b"" and outbox.recipient_of(r) is None
               for r in rows())
    assert [e.data["to"] for e in events("message.delivered")] == ["+84 9** *** *23"]


def test_key_encryption_key_seals_the_payload(start):
    app = start(KEY_ENCRYPTION_KEY="k" * 40)
    enqueue_sms(PHONE, "password_changed", {})
    enqueue_sms(PHONE, "password_changed", {})
    db.session.commit()
    assert deliver_pending(limit=1)["delivered"] == 1
    app.config["KEY_ENCRYPTION_KEY"] = ""  # now SECRET_KEY would be the key: wrong
    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 0}
    assert [r.last_error for r in rows()] == [None, "undecryptable"]
    assert len(sent(app)) == 1


# ---------------------------------------------------------------- failing providers


def test_failures_are_retried_with_backoff_then_given_up(start):
    clock = FixedClock()
    app = start(clock=clock, OUTBOX_MAX_ATTEMPTS=3)
    provider = app.extensions["gateway.sms"] = FailingProvider("http_503")
    enqueue_sms(PHONE, "password_changed", {})
    db.session.commit()

    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 1}
    [row] = rows()
    assert row.attempts == 1 and row.last_error == "http_503" and row.payload_encrypted
    assert as_utc(row.next_attempt_at) == clock.now() + timedelta(seconds=30)

    assert deliver_pending() == {"delivered": 0, "failed": 0, "pending": 1}  # not due yet
    clock.advance(seconds=29)
    assert deliver_pending()["failed"] == 0
    clock.advance(seconds=1)
    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 1}
    [row] = rows()
    assert row.attempts == 2 and as_utc(row.next_attempt_at) == clock.now() + timedelta(seconds=60)

    clock.advance(seconds=60)
    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 0}
    [row] = rows()
    assert row.attempts == 3 and row.failed_at is not None and row.delivered_at is None
    assert bytes(row.payload_encrypted) == b"" and row.next_attempt_at is None
    [failed] = events("message.failed")
    assert failed.data == {"message_id": row.id, "channel": "sms", "template": "password_changed",
                           "attempts": 3, "reason": "http_503", "to": "+84 9** *** *23"}
    assert len(provider.calls) == 3

    app.extensions["gateway.sms"] = OutboxFileProvider(app.config["SMS_OUTBOX"])
    clock.advance(hours=2)
    assert deliver_pending() == {"delivered": 0, "failed": 0, "pending": 0}
    assert sent(app) == [] and events("message.delivered") == []


def test_backoff_doubles_up_to_an_hour():
    assert [retry_delay(n) for n in range(1, 10)] == \
        [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert retry_delay(10_000) == 3600


def test_permanent_refusal_gives_up_at_once(start):
    app = start()
    app.extensions["gateway.sms"] = FailingProvider("rejected", permanent=True)
    enqueue_sms(PHONE, "password_changed", {})
    db.session.commit()
    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 0}
    [row] = rows()
    assert row.attempts == 1 and row.last_error == "rejected" and row.failed_at is not None


def test_a_provider_crash_is_retried_and_its_text_never_stored(start):
    app = start()
    provider = app.extensions["gateway.sms"] = FailingProvider(
        error=RuntimeError("could not send 'Ma OTP 482913' to +84912345623"))
    enqueue_sms(PHONE, "otp", {"code": "482913", "minutes": 5, "purpose": "login"})
    db.session.commit()
    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 1}
    [row] = rows()
    assert row.last_error == "runtimeerror" and len(provider.calls) == 1
    # a reason code from a provider is cut down to a code, without digit runs
    provider.error = DeliveryError("Refused: 'Ma OTP 482913' to +84912345623 " + "x" * 100)
    assert reason_code(provider.error.reason) == \
        "refused:__ma_otp_#__to__#_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"


def test_an_expired_message_is_not_sent_late(start):
    clock = FixedClock()
    app = start(clock=clock)
    provider = app.extensions["gateway.sms"] = FailingProvider("timeout")
    enqueue_sms(PHONE, "otp", {"code": "482913", "minutes": 1, "purpose": "login"},
                expires_in=60)
    db.session.commit()
    assert deliver_pending()["failed"] == 1
    clock.advance(seconds=60)
    app.extensions["gateway.sms"] = OutboxFileProvider(app.config["SMS_OUTBOX"])
    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 0}
    assert sent(app) == [] and len(provider.calls) == 1
    [row] = rows()
    assert row.last_error == "expired" and bytes(row.payload_encrypted) == b""


# ---------------------------------------------------------------- races



def test_concurrent_workers_never_send_a_message_twice(gw):
    for i in range(40):
        enqueue_sms(PHONE, "password_reset", {"password": f"Mat-khau-{i:02d}"})
    db.session.commit()

    def worker(_):
        delivered = 0
        with gw.app_context():
            while True:
                result = deliver_pending(limit=3)
                delivered += result["delivered"]
                assert result["failed"] == 0
                if result["pending"] == 0 or result["delivered"] == 0:
                    return delivered

    counts = race(6, worker)
    assert sum(counts) <= 40
    deliver_pending()  # whatever a worker left because another held it
    texts = [m["text"] for m in sent(gw)]
    assert len(texts) == 40 and len(set(texts)) == 40
    assert all(row.attempts == 1 and row.delivered_at is not None for row in rows())
    assert len(events("message.delivered")) == 40


# ---------------------------------------------------------------- right after the response


def _view(app, work):
    """A route that runs ``work()`` in a request and answers 204; the test posts to it."""
    def view():
        work()
        return "", 204

    app.add_url_rule("/_outbox_test", "outbox_test", view, methods=["POST"])
    return app.test_client()


def test_a_request_delivers_what_it_committed_after_its_response(gw):
    seen_in_request = []

    def work():
        enqueue_sms(PHONE, "password_changed", {})
        db.session.commit()
        enqueue_sms(PHONE, "password_reset", {"password": "Tam-Thoi-8841"})
        db.session.rollback()
        enqueue_sms(PHONE, "password_expiry_reminder", {"days": 3})
        db.session.commit()
        seen_in_request.append(len(sent(gw)))

    client = _view(gw, work)
    response = client.post("/_outbox_test", buffered=False)  # answered, not yet closed
    assert response.status_code == 204 and seen_in_request == [0]
    assert sent(gw) == [] and all(r.next_attempt_at is not None for r in rows())
    response.close()  # the server closes the response once it is sent: the hand-over runs now
    run_jobs(gw)  # PostgreSQL: a worker runs the job deferred then (embedded: delivered at once)
    assert [m["template"] for m in sent(gw)] == ["password_changed", "password_expiry_reminder"]
    assert all(r.delivered_at is not None and bytes(r.payload_encrypted) == b""
               for r in rows())
    assert len(events("message.delivered")) == 2
    assert deliver_pending() == {"delivered": 0, "failed": 0, "pending": 0}
    assert len(sent(gw)) == 2  # never twice


def test_delivery_after_the_response_carries_the_request_id(gw):
    client = _view(gw, lambda: (enqueue_sms(PHONE, "password_changed", {}),
                                db.session.commit()))
    client.post("/_outbox_test", headers={"X-Request-Id": "req-outbox-0001"})
    run_jobs(gw)
    [delivered] = events("message.delivered")
    assert delivered.request_id == "req-outbox-0001"


def test_a_savepoint_does_not_deliver_before_the_real_commit(gw):
    pending_after_release = []

    def work():
        enqueue_sms(PHONE, "password_changed", {})
        db.session.flush()
        with db.session.begin_nested():
            enqueue_sms(PHONE, "password_expiry_reminder", {"days": 3})
        pending_after_release.append(len(db.session().info.get(PENDING, [])))
        db.session.commit()

    _view(gw, work).post("/_outbox_test")
    run_jobs(gw)
    assert pending_after_release == [2]  # the savepoint's release handed nothing over
    assert [m["template"] for m in sent(gw)] == ["password_changed", "password_expiry_reminder"]


def test_delivery_failing_after_the_response_leaves_the_message_to_the_job(gw):
    gw.extensions["gateway.sms"] = FailingProvider("timeout")
    response = _view(gw, lambda: (enqueue_sms(PHONE, "password_changed", {}),
                                  db.session.commit())).post("/_outbox_test")
    run_jobs(gw)
    assert response.status_code == 204  # nothing reaches the answer
    [row] = rows()
    assert row.attempts == 1 and row.last_error == "timeout" and row.next_attempt_at is not None
    assert row.payload_encrypted and row.recipient_sealed


def test_outside_a_request_nothing_leaves_before_the_job(gw):
    enqueue_sms(PHONE, "password_changed", {})
    db.session.commit()
    assert sent(gw) == []
    assert deliver_pending()["delivered"] == 1


def test_cli_delivers_and_prints_counts(gw):
    for _ in range(3):
        enqueue_sms(PHONE, "password_changed", {})
    db.session.commit()
    result = gw.test_cli_runner().invoke(args=["outbox", "deliver", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"delivered": 2, "failed": 0, "pending": 1}
    result = gw.test_cli_runner().invoke(args=["outbox", "deliver"])
    assert json.loads(result.output) == {"delivered": 1, "failed": 0, "pending": 0}
    result = gw.test_cli_runner().invoke(args=["outbox", "deliver", "--limit", "0"])
    assert result.exit_code == 2


# ---------------------------------------------------------------- the texts


SAMPLES = {
    "otp": {"code": "012345", "minutes": 10, "purpose": "takeover"},
    "password_changed": {},
    "new_device_signed_in": {"device": "Điện thoại Samsung Galaxy A54 của Nguyễn Văn An",
                             "at": "2026-11-22T17:05:00+00:00"},
    "password_reset": {"password": "Xk7-pQ2m-Rt9w"},
    "password_expiry_reminder": {"days": 14},
    "account_issued": {"bhxh": "0123456789", "password": "a1b2-c3d4-e5f6", "days": 90},
    "application_rejected": {"reference": "HS7K2M9QXA-2026", "reason_code": "identity_mismatch",
                             "note": "Ảnh chân dung không khớp với người đến làm thủ tục; "
                                     "vui lòng chụp lại ảnh 3×4 rõ mặt, nền trắng." * 3},
    "phone_changed": {"at": "2026-11-22T17:05:00+00:00"},
    "vneid_linked": {"at": "2026-11-22T17:05:00+00:00"},
    "passkey_added": {"at": "2026-11-22T17:05:00+00:00"},
    "passkey_removed": {"at": "2026-11-22T17:05:00+00:00"},
    "passkey_disabled": {"at": "2026-11-22T17:05:00+00:00"},
    "vneid_account_created": {"at": "2026-11-22T17:05:00+00:00"},
    "vneid_unlinked": {},
    "application_received": {"reference": "DK-7KQM-X3PZ"},
    "application_duplicate": {},
}


@pytest.mark.parametrize("template", sorted(sms_texts.TEMPLATES))
@pytest.mark.parametrize("locale", ["vi", "en"])
def test_every_text_fits_one_gsm_sms(template, locale):
    rendered = sms_texts.render(template, SAMPLES[template], locale)
    assert len(rendered) <= 160, (len(rendered), rendered)
    assert set(rendered) <= GSM_BASIC and rendered.isascii(), rendered
    assert "http" not in rendered and "www" not in rendered


def test_every_template_has_both_languages_and_samples():
    assert set(SAMPLES) == set(sms_texts.TEMPLATES) == set(sms_texts.PARAMETERS)
    assert all(set(t) == {"vi", "en"} for t in sms_texts.TEMPLATES.values())


def test_otp_text_says_only_code_purpose_and_validity():
    rendered = sms_texts.render("otp", {"code": "012345", "minutes": 5, "purpose": "recovery"})
    assert re.findall(r"[0-9]+", rendered) == ["012345", "5"]
    assert "khoi phuc tai khoan" in rendered
    generic = sms_texts.render("otp", {"code": "012345", "minutes": 5, "purpose": "zzz"}, "en")
    assert "for verification" in generic


def test_device_names_and_times_are_made_safe_for_sms():
    rendered = sms_texts.render("new_device_signed_in", SAMPLES["new_device_signed_in"])
    assert "thiet bi Dien thoai Samsung Galaxy A54 luc 00:05 23/11/2026" in rendered
    unknown = sms_texts.render("new_device_signed_in", {"device": "€€€", "at": "2026-11-22T00:00"})
    assert "thiet bi khong ro luc 07:00 22/11/2026" in unknown
    assert sms_texts.fold_ascii("Đặng Thị Ánh {x}") == "Dang Thi Anh x"


def test_the_phone_change_notice_says_when_and_no_number():
    rendered = sms_texts.render("phone_changed", SAMPLES["phone_changed"])
    assert "luc 00:05 23/11/2026" in rendered and "BHXH" in rendered
    assert re.findall(r"[0-9]+", rendered) == ["00", "05", "23", "11", "2026"]


def test_expiry_reminder_counts_days():
    assert "het han sau 1 ngay" in sms_texts.render("password_expiry_reminder", {"days": 1})
    assert "expires in 1 day." in sms_texts.render("password_expiry_reminder", {"days": 1}, "en")
    assert "expires in 3 days." in sms_texts.render("password_expiry_reminder", {"days": 3}, "en")


def test_the_approval_says_the_login_name_and_the_password_only():
    rendered = sms_texts.render("account_issued", SAMPLES["account_issued"])
    assert re.findall(r"\b[0-9][0-9a-z-]*|\b[a-z][0-9][0-9a-z-]*", rendered) == [
        "0123456789", "a1b2-c3d4-e5f6", "90"]
    assert "Nguyen" not in rendered and "+84" not in rendered
    with pytest.raises(ValueError):
        sms_texts.render("account_issued", {"bhxh": "01234", "password": "x", "days": 14})


@pytest.mark.parametrize("locale", ["vi", "en"])
@pytest.mark.parametrize("code", sorted(REASON_TEXTS))
def test_every_rejection_reason_fits_with_the_clerks_words(code, locale):
    for note in ("", "Sai.", "Đ" * 400, "{note} %s {0}"):
        rendered = sms_texts.render("application_rejected", {
            "reference": "HS7K2M9QXA-2026-0001", "reason_code": code, "note": note}, locale)
        assert len(rendered) <= 160 and rendered.isascii(), rendered
        assert set(rendered) <= GSM_BASIC, rendered
    with pytest.raises(ValueError):
        sms_texts.render("application_rejected", {"reference": "X", "reason_code": "nope",
                                                  "note": ""})


def test_a_rejection_keeps_what_fits_of_the_clerks_words():
    short = sms_texts.render("application_rejected", {
        "reference": "HS1", "reason_code": "other", "note": "Thiếu ảnh mặt sau CCCD."})
    assert short == "VssID: Ho so HS1 bi tu choi: ly do khac. Thieu anh mat sau CCCD. Hay sua " \
                    "va nop lai."
    long = sms_texts.render("application_rejected", SAMPLES["application_rejected"])
    assert "... Hay sua va nop lai." in long and len(long) == 160


def test_every_reason_code_has_its_texts():
    assert set(REASON_TEXTS) == set(REASON_CODES)
    assert all(set(texts) == {"vi", "en"} and all(texts.values())
               for texts in REASON_TEXTS.values())
