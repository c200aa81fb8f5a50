"""The e-mail providers: SMTP against a real SMTP server on loopback (aiosmtpd) — plain on
loopback, STARTTLS and implicit TLS with a self-signed certificate trusted through a CA file,
authentication, refusals — and the development file provider."""

from __future__ import annotations

import pytest

from providers.email import EmailFileProvider, SmtpEmailProvider, parse_smtp_url
from providers.sms import DeliveryError
from tests.helpers.smtp import free_port, self_signed, smtp_server

SENDER = "no-reply@vssid.example.vn"
SUBJECT = "VssID: Thư kiểm tra — Nguyễn Thị Ánh"
TEXT = "Xin chào Nguyễn Thị Ánh,\nđây là thư kiểm tra: ắ ằ ẳ ẵ ặ đ Đ ư ơ.\n"


@pytest.fixture
def cert(tmp_path):
    return self_signed(tmp_path)


def provider(url, **kwargs) -> SmtpEmailProvider:
    return SmtpEmailProvider(url, SENDER, timeout=5, **kwargs)


def test_plain_on_loopback_delivers_utf8_headers_and_body():
    with smtp_server() as server:
        provider(f"smtp+plain://127.0.0.1:{server.port}").send("an@example.vn", SUBJECT, TEXT)
    (got,) = server.received
    assert got.mail_from == SENDER and got.rcpt_tos == ["an@example.vn"]
    assert got.message["From"] == SENDER and got.message["To"] == "an@example.vn"
    assert got.message["Subject"] == SUBJECT  # decoded from RFC 2047: diacritics intact
    assert got.message.get_content_charset() == "utf-8"
    assert got.message.get_content().replace("\r\n", "\n") == TEXT  # CRLF on the wire
    assert got.message["Content-Transfer-Encoding"] == "quoted-printable"
    assert got.message["Message-ID"] and got.message["Date"]


def test_starttls_with_a_trusted_self_signed_certificate(cert):
    with smtp_server(tls=cert) as server:
        provider(f"smtp://127.0.0.1:{server.port}", ca_file=str(cert[0])).send(
            "an@example.vn", SUBJECT, TEXT)
    assert server.received[0].message["Subject"] == SUBJECT


def test_starttls_explicit_scheme_and_authentication(cert):
    with smtp_server(tls=cert, credentials=("gateway", "s3cret-Pass")) as server:
        provider(f"smtp+starttls://127.0.0.1:{server.port}", ca_file=str(cert[0]),
                 username="gateway", password="s3cret-Pass").send("an@example.vn", SUBJECT, TEXT)
    assert server.logins == [("gateway", "s3cret-Pass")]
    assert server.received[0].authenticated


def test_wrong_credentials_are_a_temporary_failure(cert):
    with smtp_server(tls=cert, credentials=("gateway", "right")) as server, \
            pytest.raises(DeliveryError) as info:
        provider(f"smtp://127.0.0.1:{server.port}", ca_file=str(cert[0]),
                 username="gateway", password="wrong").send("an@example.vn", SUBJECT, TEXT)
    assert info.value.reason.startswith("smtp_auth_") and not info.value.permanent
    assert server.received == []


def test_implicit_tls(cert):
    with smtp_server(tls=cert, implicit_tls=True) as server:
        provider(f"smtps://127.0.0.1:{server.port}", ca_file=str(cert[0])).send(
            "an@example.vn", SUBJECT, TEXT)
    assert "Nguyễn Thị Ánh" in server.received[0].message.get_content()


def test_untrusted_certificate_is_refused_and_nothing_sent(cert):
    with smtp_server(tls=cert) as server, pytest.raises(DeliveryError) as info:
        provider(f"smtp://127.0.0.1:{server.port}").send("an@example.vn", SUBJECT, TEXT)
    assert info.value.reason == "tls_failed" and not info.value.permanent
    assert server.received == []


def test_starttls_required_never_downgraded_to_plain_text():
    with smtp_server() as server, pytest.raises(DeliveryError) as info:  # offers no STARTTLS
        provider(f"smtp://127.0.0.1:{server.port}").send("an@example.vn", SUBJECT, TEXT)
    assert info.value.reason == "starttls_unsupported" and not info.value.permanent
    assert server.received == []


def test_recipient_refused_with_550_is_permanent():
    with smtp_server() as server, pytest.raises(DeliveryError) as info:
        provider(f"smtp+plain://127.0.0.1:{server.port}").send(
            "refused@example.vn", SUBJECT, TEXT)
    assert info.value.reason == "smtp_550" and info.value.permanent
    assert "refused" not in info.value.reason and server.received == []


def test_recipient_deferred_with_451_is_temporary():
    with smtp_server() as server, pytest.raises(DeliveryError) as info:
        provider(f"smtp+plain://127.0.0.1:{server.port}").send("busy@example.vn", SUBJECT, TEXT)
    assert info.value.reason == "smtp_451" and not info.value.permanent


def test_server_down_is_temporary():
    with pytest.raises(DeliveryError) as info:
        provider(f"smtp+plain://127.0.0.1:{free_port()}").send("an@example.vn", SUBJECT, TEXT)
    assert info.value.reason == "unreachable" and not info.value.permanent


@pytest.mark.parametrize(("url", "security", "port"), [
    ("smtp://mail.example.vn", "starttls", 587),
    ("smtp+starttls://mail.example.vn:2525", "starttls", 2525),
    ("smtps://mail.example.vn", "tls", 465),
    ("smtp+plain://127.0.0.1", "plain", 25),
])
def test_url_schemes(url, security, port):
    target = parse_smtp_url(url)
    assert (target.security, target.port) == (security, port)


@pytest.mark.parametrize("url", ["http://mail.example.vn", "smtp://", "smtp://u:p@mail.example.vn",
                                 "smtp://mail.example.vn/x", "smtp://mail.example.vn:99999"])
def test_bad_urls_are_refused(url):
    with pytest.raises(ValueError):
        parse_smtp_url(url)


def test_file_provider_appends_one_json_line_per_message(tmp_path):
    outbox = EmailFileProvider(tmp_path / "dir" / "email.jsonl")
    outbox.send("an@example.vn", SUBJECT, TEXT)
    outbox.send("binh@example.vn", "second", "two")
    lines = (tmp_path / "dir" / "email.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 2 and "Nguyễn Thị Ánh" in lines[0]  # UTF-8, not \\u escapes
    first, second = outbox.messages()
    assert set(first) == {"to", "subject", "text", "at"}
    assert (first["to"], first["subject"], first["text"]) == ("an@example.vn", SUBJECT, TEXT)
    assert second["to"] == "binh@example.vn"


def test_file_provider_unwritable_is_a_delivery_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(DeliveryError) as info:
        EmailFileProvider(blocker / "email.jsonl").send("an@example.vn", "s", "t")
    assert info.value.reason == "outbox_file_unwritable"
