"""E-mail through the outbox: enqueued with a sealed recipient and a masked hint, delivered
once by the configured provider (the file, or SMTP to a real server on loopback), retried on
a temporary failure, given up on a 550, erased after use; the `email test` command; and the
settings production refuses."""

from __future__ import annotations

import json
from contextlib import ExitStack

import pytest

from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.messages import email as email_texts
from gateway.models import Event, OutboxMessage
from gateway.services.outbox import deliver_pending, enqueue_email, recipient_of
from gateway.settings import ConfigError, load_settings
from providers.email import EmailFileProvider
from tests.helpers.settings import GOOD_PRODUCTION
from tests.helpers.smtp import free_port, smtp_server

ADDRESS = "nguyen.van.an@Example.VN"
SENDER = "no-reply@vssid.example.vn"


@pytest.fixture
def start(make_app, tmp_path):
    """start(**settings) -> an app (context pushed) with its own e-mail file."""
    stack = ExitStack()

    def build(**overrides):
        app = make_app(EMAIL_OUTBOX=str(tmp_path / "email.jsonl"), **overrides)
        stack.enter_context(app.app_context())
        return app

    yield build
    stack.close()


def smtp_settings(port: int) -> dict:
    return {"EMAIL_PROVIDER": "smtp", "SMTP_URL": f"smtp+plain://127.0.0.1:{port}",
            "SMTP_FROM": SENDER, "SMTP_TIMEOUT": 5}


def events(name) -> list[Event]:
    db.session.expire_all()
    return Event.query.filter_by(name=name).order_by(Event.id).all()


def only_row() -> OutboxMessage:
    db.session.expire_all()
    [row] = OutboxMessage.query.all()
    return row


def test_enqueued_sealed_delivered_once_through_the_file_and_erased(start):
    app = start()
    enqueue_email(ADDRESS, "test", {}, "vi")
    db.session.commit()
    row = only_row()
    assert row.channel == "email" and row.recipient_hint == "n***@example.vn"
    assert recipient_of(row) == "nguyen.van.an@example.vn"  # the domain lower-cased
    assert b"nguyen" not in bytes(row.recipient_sealed)
    assert "kiểm tra".encode() not in bytes(row.payload_encrypted)

    assert deliver_pending()["delivered"] == 1
    assert deliver_pending()["delivered"] == 0  # once
    [line] = EmailFileProvider(app.config["EMAIL_OUTBOX"]).messages()
    subject, text = email_texts.render("test", {}, "vi")
    assert line["to"] == "nguyen.van.an@example.vn"
    assert (line["subject"], line["text"]) == (subject, text)
    assert "kiểm tra" in line["subject"]
    row = only_row()
    assert row.delivered_at and row.erased_at
    assert bytes(row.payload_encrypted) == b"" and bytes(row.recipient_sealed) == b""
    [delivered] = events("message.delivered")
    assert delivered.data["channel"] == "email" and delivered.data["to"] == "n***@example.vn"


def test_an_address_that_is_not_one_is_refused(start):
    start()
    with pytest.raises(ValidationError) as info:
        enqueue_email("not an address", "test", {})
    assert info.value.field == "email"
    assert OutboxMessage.query.count() == 0


def test_english_catalogue_text(start):
    app = start()
    enqueue_email(ADDRESS, "test", {}, "en")
    db.session.commit()
    deliver_pending()
    [line] = EmailFileProvider(app.config["EMAIL_OUTBOX"]).messages()
    assert line["subject"] == "VssID: e-mail configuration test"


def test_smtp_delivery_through_the_outbox(start):
    with smtp_server() as server:
        start(**smtp_settings(server.port))
        enqueue_email(ADDRESS, "test", {}, "vi")
        db.session.commit()
        assert deliver_pending()["delivered"] == 1
    [got] = server.received
    assert got.rcpt_tos == ["nguyen.van.an@example.vn"] and got.message["From"] == SENDER
    assert got.message["Subject"] == email_texts.render("test", {}, "vi")[0]


def test_smtp_server_down_is_retried_with_the_content_kept(start):
    start(**smtp_settings(free_port()))
    enqueue_email(ADDRESS, "test", {}, "vi")
    db.session.commit()
    assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 1}
    row = only_row()
    assert row.last_error == "unreachable" and row.attempts == 1 and row.failed_at is None
    assert row.next_attempt_at is not None and recipient_of(row)  # still there for the retry


def test_smtp_550_gives_up_and_erases(start):
    with smtp_server() as server:
        start(**smtp_settings(server.port))
        enqueue_email("refused@example.vn", "test", {}, "vi")
        db.session.commit()
        assert deliver_pending() == {"delivered": 0, "failed": 1, "pending": 0}
    row = only_row()
    assert row.failed_at and row.last_error == "smtp_550" and row.attempts == 1
    assert bytes(row.payload_encrypted) == b"" and bytes(row.recipient_sealed) == b""
    [failed] = events("message.failed")
    assert failed.data["reason"] == "smtp_550" and failed.data["to"] == "r***@example.vn"
    assert server.received == []


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_email_test_delivers_through_smtp(start):
    with smtp_server() as server:
        app = start(**smtp_settings(server.port))
        result = cli(app, "email", "test", "--to", ADDRESS, "--lang", "en", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out == {"id": out["id"], "to": "n***@example.vn", "provider": "smtp",
                   "status": "delivered", "reason": None}
    assert server.received[0].message["Subject"] == "VssID: e-mail configuration test"


def test_cli_email_test_with_the_file_provider_in_vietnamese(start):
    app = start()
    result = cli(app, "email", "test", "--to", ADDRESS, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "delivered"
    [line] = EmailFileProvider(app.config["EMAIL_OUTBOX"]).messages()
    assert line["subject"] == email_texts.render("test", {}, "vi")[0]


def test_cli_email_test_reports_a_failure(start):
    app = start(**smtp_settings(free_port()))
    result = cli(app, "email", "test", "--to", ADDRESS, "--json")
    assert result.exit_code == 1
    out = json.loads(result.output)
    assert out["status"] == "retry" and out["reason"] == "unreachable"


def test_cli_email_test_refuses_a_bad_address(start):
    app = start()
    result = cli(app, "email", "test", "--to", "nobody", "--json")
    assert result.exit_code == 2 and "email: invalid_email" in result.output
    assert OutboxMessage.query.count() == 0


def test_default_outbox_path(tmp_path):
    s = load_settings(environ={}, instance_path=tmp_path)
    assert s["EMAIL_PROVIDER"] == "file"
    assert s["EMAIL_OUTBOX"] == str((tmp_path / "email-outbox.jsonl").resolve())


@pytest.mark.parametrize(("name", "value"), [
    ("GATEWAY_EMAIL_PROVIDER", "file"),
    ("GATEWAY_EMAIL_PROVIDER", "sendmail"),
    ("GATEWAY_SMTP_URL", "smtp+plain://smtp.vssid.example.vn:25"),
    ("GATEWAY_SMTP_URL", "http://smtp.vssid.example.vn"),
    ("GATEWAY_SMTP_URL", ""),
    ("GATEWAY_SMTP_FROM", ""),
    ("GATEWAY_SMTP_PASSWORD", "no-username"),
    ("GATEWAY_SMTP_CA_FILE", "/nonexistent/ca.pem"),
    ("GATEWAY_SMTP_TIMEOUT", "0"),
])
def test_production_refuses_insecure_email_settings(tmp_path, name, value):
    with pytest.raises(ConfigError) as info:
        load_settings(environ={**GOOD_PRODUCTION, name: value}, instance_path=tmp_path)
    assert name in str(info.value)


@pytest.mark.parametrize("url", ["smtps://smtp.vssid.example.vn",
                                 "smtp+starttls://smtp.vssid.example.vn:2525",
                                 "smtp+plain://127.0.0.1:25"])
def test_production_accepts_tls_or_loopback(tmp_path, url):
    load_settings(environ={**GOOD_PRODUCTION, "GATEWAY_SMTP_URL": url}, instance_path=tmp_path)


def test_non_ascii_credentials_are_refused(tmp_path):
    env = {**GOOD_PRODUCTION, "GATEWAY_SMTP_USERNAME": "gateway",
           "GATEWAY_SMTP_PASSWORD": "mật-khẩu"}
    with pytest.raises(ConfigError, match="GATEWAY_SMTP_PASSWORD"):
        load_settings(environ=env, instance_path=tmp_path)


ISSUED = {"name": "Nguyễn Văn An", "reference": "HS7K2M9QXA", "bhxh": "0123456789",
          "password": "a1b2-c3d4-e5f6", "days": 14}
REJECTED = {"name": "Đỗ Thị Ánh", "reference": "HS7K2M9QXA", "reason_code": "photo_unusable",
            "note": "Ảnh CCCD mặt sau bị lóa,\n chụp lại {giúp} ạ."}


def test_every_template_has_both_languages_and_its_parameters():
    assert set(email_texts.TEMPLATES) == set(email_texts.PARAMETERS)
    assert all(set(t) == {"vi", "en"} for t in email_texts.TEMPLATES.values())


@pytest.mark.parametrize("locale", ["vi", "en"])
def test_the_approval_email_carries_the_login_name_and_password(locale):
    subject, text = email_texts.render("account_issued", ISSUED, locale)
    assert "VssID" in subject and "0123456789" not in subject
    for value in ("Nguyễn Văn An", "HS7K2M9QXA", "0123456789", "a1b2-c3d4-e5f6", "14"):
        assert value in text
    assert "http" not in text and "www" not in text


@pytest.mark.parametrize(("locale", "reason"), [("vi", "ảnh không rõ hoặc không dùng được"),
                                                ("en", "a photo is unclear or unusable")])
def test_the_rejection_email_says_the_reason_and_the_clerks_words(locale, reason):
    subject, text = email_texts.render("application_rejected", REJECTED, locale)
    assert "HS7K2M9QXA" in subject
    assert reason in text and "Ảnh CCCD mặt sau bị lóa, chụp lại {giúp} ạ." in text
    with pytest.raises(ValueError):
        email_texts.render("application_rejected", {**REJECTED, "reason_code": "nope"}, locale)
