"""The world of the app-device tests: a served gateway with the app client, a relying service
listening for back-channel logout on loopback, and a reader for the SMS outbox. The fixture
that builds it (`world`) is in tests/flows/conftest.py."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from examples.vssid_app_client import AppClient, Challenge
from tests.helpers import PASSWORD
from tests.helpers.sms import last_otp, sms_sent


def expect_challenge(call):
    """The Challenge answer `call` (an AppClient step) must end with; anything else fails."""
    try:
        call()
    except Challenge as exc:
        return exc
    raise AssertionError("expected a challenge answer")


class LogoutReceiver:
    """A relying service's back-channel logout endpoint: records every logout_token."""

    def __init__(self):
        self.tokens: list[str] = []
        received = self.tokens

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = parse_qs(self.rfile.read(length).decode())
                received.extend(form.get("logout_token", []))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/backchannel-logout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()


@dataclass
class DeviceWorld:
    app: object
    base: str
    client_id: str
    service_id: str
    service_secret: str
    receiver: LogoutReceiver
    username: str = "0123456789"
    password: str = PASSWORD
    devices: list = field(default_factory=list)

    def device(self, name: str, device_id: str | None = None) -> AppClient:
        client = AppClient(self.base, self.client_id,
                           device_id=device_id or f"dev-{secrets.token_hex(6)}", device_name=name)
        self.devices.append(client)
        return client

    def sms(self) -> list[dict]:
        return sms_sent(self.app)

    def last_otp(self) -> str:
        return last_otp(self.app)
