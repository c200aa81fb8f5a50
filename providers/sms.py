"""Text messages to a phone.

The gateway only ever calls ``send(phone, text)``: the outbox (gateway/services/outbox.py) has
already rendered the text, decides on retries and records the outcome. A provider therefore
does one thing, once, and says whether it worked:

* return normally — the message was handed over (the outbox marks it delivered);
* raise :class:`DeliveryError` — it was not; ``permanent`` says a retry cannot help (an
  unknown number, a refused sender), otherwise the outbox retries with backoff.

``DeliveryError.reason`` ends up in the database and in events, so it must be a short code
("timeout", "http_503", "rejected"), never the message text or the phone number.

``OutboxFileProvider`` is the default and the only provider needed offline: every message is
appended as one JSON line ``{"to", "text", "template", "at"}`` to a file (setting
``SMS_OUTBOX``), under an exclusive lock and fsynced, so several processes can share the file
and a test or a developer can read the codes that "went out".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from providers import jsonl


class DeliveryError(Exception):
    """A message was not handed over; ``reason`` is a short code without any content."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class SmsProvider(Protocol):
    def send(self, phone: str, text: str, *, template: str = "") -> None:
        """Hand one message to ``phone`` (E.164) or raise DeliveryError.

        ``template`` names the kind of message for the provider's own reports; real
        gateways may ignore it.
        """


class OutboxFileProvider:
    """Development and tests: "sends" by appending a JSON line to a file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def send(self, phone: str, text: str, *, template: str = "") -> None:
        try:
            jsonl.append(self.path, {"to": phone, "text": text, "template": template})
        except OSError as exc:
            raise DeliveryError("outbox_file_unwritable") from exc

    def messages(self) -> list[dict]:
        """Everything appended so far, oldest first (development tooling and tests)."""
        return jsonl.read(self.path)


class HttpSmsProvider:
    """Production: hands each message to the operator's SMS gateway over HTTPS.

    ``POST SMS_HTTP_URL`` with JSON ``{"to", "text", "template", "id"}`` and
    ``Authorization: Bearer SMS_HTTP_TOKEN``; any 2xx is "handed over". 4xx other than 408
    and 429 is permanent (the gateway refused this message); anything else is retried by the
    outbox. The carrier-specific protocol (brandname SMS of Viettel, VNPT, MobiFone…) lives
    in that gateway, not here, so the identity gateway has one small, testable contract.
    """

    def __init__(self, url: str, token: str, *, timeout: float = 5.0) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, phone: str, text: str, *, template: str = "") -> None:
        import secrets

        import requests

        body = {"to": phone, "text": text, "template": template, "id": secrets.token_hex(8)}
        try:
            response = requests.post(self.url, json=body, timeout=self.timeout,
                                     allow_redirects=False,
                                     headers={"Authorization": f"Bearer {self.token}"})
        except requests.Timeout:
            raise DeliveryError("timeout") from None
        except requests.RequestException:
            raise DeliveryError("unreachable") from None
        status = response.status_code
        if 200 <= status < 300:
            return
        permanent = 400 <= status < 500 and status not in (408, 429)
        raise DeliveryError(f"http_{status}", permanent=permanent)


def sms_provider_for(settings) -> SmsProvider:
    """The provider create_app() installs as ``app.extensions["gateway.sms"]``:
    SMS_PROVIDER "file" (development, tests) or "http" (the operator's SMS gateway)."""
    if settings["SMS_PROVIDER"] == "http":
        return HttpSmsProvider(settings["SMS_HTTP_URL"], settings["SMS_HTTP_TOKEN"])
    return OutboxFileProvider(settings["SMS_OUTBOX"])
