"""E-mail to a person.

Like providers/sms.py, the gateway only ever calls ``send(to, subject, text)``: the outbox
(gateway/services/outbox/) has already rendered the text, decides on retries and records the
outcome. A provider hands the message over once and either returns or raises
:class:`providers.sms.DeliveryError` (``permanent`` when a retry cannot help). The reason is a
short code ("smtp_550", "unreachable"), never an address or the text.

* :class:`EmailFileProvider` — development and tests: one JSON line ``{"to", "subject",
  "text", "at"}`` per message appended to a file (setting ``EMAIL_OUTBOX``), under a lock.
  Refused in production, where one-time passwords would sit in a file.
* :class:`SmtpEmailProvider` — production: the standard library's smtplib, one connection per
  message (messages are rare: issuance and notices, not bulk mail).

``SMTP_URL`` schemes, chosen so that a URL alone says how the connection is protected:

* ``smtp://host[:587]`` and ``smtp+starttls://host[:587]`` — STARTTLS, required: a server that
  does not offer it is refused (never downgraded to plain text);
* ``smtps://host[:465]`` — implicit TLS from the first byte (RFC 8314);
* ``smtp+plain://host[:25]`` — no TLS at all, accepted only towards a loopback address (a local
  relay on the same host).

Certificates are verified against the system's CAs, or against ``SMTP_CA_FILE`` alone when set
(a private CA, or a test's self-signed certificate); the host name is always checked.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from providers import jsonl
from providers.sms import DeliveryError

SCHEMES = {"smtp": "starttls", "smtp+starttls": "starttls", "smtps": "tls",
           "smtp+plain": "plain"}
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "plain": 25}
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class EmailProvider(Protocol):
    def send(self, to: str, subject: str, text: str) -> None:
        """Hand one message to ``to`` or raise DeliveryError."""


class EmailFileProvider:
    """Development and tests: "sends" by appending a JSON line to a file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def send(self, to: str, subject: str, text: str) -> None:
        try:
            jsonl.append(self.path, {"to": to, "subject": subject, "text": text})
        except OSError as exc:
            raise DeliveryError("outbox_file_unwritable") from exc

    def messages(self) -> list[dict]:
        """Everything appended so far, oldest first (development tooling and tests)."""
        return jsonl.read(self.path)


@dataclass(frozen=True)
class SmtpTarget:
    """An SMTP_URL parsed: where to connect and how the connection is protected."""

    host: str
    port: int
    security: str  # "starttls", "tls" or "plain"

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK


def parse_smtp_url(url: str) -> SmtpTarget:
    """ValueError naming the problem for a URL that is not one of the schemes above."""
    parts = urlsplit(url)
    security = SCHEMES.get(parts.scheme.lower())
    if security is None:
        raise ValueError("scheme must be smtp, smtp+starttls, smtps or smtp+plain")
    if not parts.hostname:
        raise ValueError("needs a host")
    if parts.username or parts.password:
        raise ValueError("credentials go in SMTP_USERNAME and SMTP_PASSWORD, not the URL")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("no path, query or fragment")
    try:
        port = parts.port or DEFAULT_PORTS[security]
    except ValueError:
        raise ValueError("invalid port") from None
    return SmtpTarget(unquote(parts.hostname), port, security)


def tls_context(ca_file: str = "") -> ssl.SSLContext:
    """Verifying context: the system's CAs, or ``ca_file`` alone; TLS 1.2 at least."""
    context = ssl.create_default_context(cafile=ca_file or None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class SmtpEmailProvider:
    """Production: one SMTP submission per message through smtplib.

    Outcomes: accepted → returns; the server refuses the recipient or the message with a 5xx
    → permanent ``smtp_5xx`` (retrying sends the same refused message); a 4xx, a dropped or
    refused connection, a timeout → temporary, retried by the outbox with backoff. A TLS
    certificate that does not verify, or a server without STARTTLS when it is required, is
    temporary too (``tls_failed``, ``starttls_unsupported``): the operator can fix it and
    the message should still go.
    """

    def __init__(self, url: str, sender: str, *, username: str = "", password: str = "",
                 timeout: float = 10.0, ca_file: str = "") -> None:
        self.target = parse_smtp_url(url)
        self.sender = sender
        self.username = username
        self.password = password
        self.timeout = timeout
        self.ca_file = ca_file

    def _message(self, to: str, subject: str, text: str) -> EmailMessage:
        message = EmailMessage()  # policy "default": UTF-8, RFC 2047 subjects, SMTPUTF8-safe
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        # Quoted-printable keeps the message 7-bit: it passes relays without 8BITMIME intact.
        message.set_content(text, charset="utf-8", cte="quoted-printable")
        return message

    def _connect(self) -> smtplib.SMTP:
        target = self.target
        if target.security == "tls":
            return smtplib.SMTP_SSL(target.host, target.port, timeout=self.timeout,
                                    context=tls_context(self.ca_file))
        client = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
        if target.security == "starttls":
            try:
                client.ehlo()
                if not client.has_extn("starttls"):
                    raise DeliveryError("starttls_unsupported")
                client.starttls(context=tls_context(self.ca_file))
                client.ehlo()
            except BaseException:
                client.close()
                raise
        return client

    def send(self, to: str, subject: str, text: str) -> None:
        message = self._message(to, subject, text)
        try:
            with self._connect() as client:
                if self.username:
                    client.login(self.username, self.password)
                refused = client.send_message(message, from_addr=self.sender, to_addrs=[to])
                if refused:  # only with several recipients; kept for completeness
                    code = next(iter(refused.values()))[0]
                    raise DeliveryError(f"smtp_{code}", permanent=500 <= code < 600)
        except DeliveryError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            raise DeliveryError(f"smtp_{code}", permanent=500 <= code < 600) from None
        except smtplib.SMTPAuthenticationError as exc:
            # A wrong password is the operator's to fix; keep retrying until they do.
            raise DeliveryError(f"smtp_auth_{exc.smtp_code}") from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            raise DeliveryError(f"smtp_{exc.smtp_code}",
                                permanent=500 <= exc.smtp_code < 600) from None
        except smtplib.SMTPNotSupportedError:
            raise DeliveryError("smtp_unsupported") from None
        except ssl.SSLError:
            raise DeliveryError("tls_failed") from None
        except TimeoutError:
            raise DeliveryError("timeout") from None
        except (smtplib.SMTPException, OSError):
            raise DeliveryError("unreachable") from None


def email_provider_for(settings) -> EmailProvider:
    """The provider create_app() installs as ``app.extensions["gateway.email"]``:
    EMAIL_PROVIDER "file" (development, tests) or "smtp"."""
    if settings["EMAIL_PROVIDER"] == "smtp":
        return SmtpEmailProvider(
            settings["SMTP_URL"], settings["SMTP_FROM"], username=settings["SMTP_USERNAME"],
            password=settings["SMTP_PASSWORD"], timeout=settings["SMTP_TIMEOUT"],
            ca_file=settings["SMTP_CA_FILE"],
        )
    return EmailFileProvider(settings["EMAIL_OUTBOX"])
