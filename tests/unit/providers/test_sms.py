"""The production SMS provider against a real HTTP receiver on loopback."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from providers.sms import DeliveryError, HttpSmsProvider


@pytest.fixture
def receiver():
    seen, answers = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            seen.append((self.headers["Authorization"], json.loads(body)))
            self.send_response(answers.pop(0) if answers else 202)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", seen, answers
    server.shutdown()


def test_hands_over_with_token_and_json(receiver):
    url, seen, _ = receiver
    HttpSmsProvider(url, "secret-token").send("+84912345623", "Ma OTP 123456", template="otp")
    auth, body = seen[0]
    assert auth == "Bearer secret-token"
    assert body["to"] == "+84912345623" and body["text"] == "Ma OTP 123456"


@pytest.mark.parametrize(("status", "permanent"), [(400, True), (404, True), (429, False),
                                                     (408, False), (500, False), (503, False)])
def test_failures_say_whether_a_retry_can_help(receiver, status, permanent):
    url, _, answers = receiver
    answers.append(status)
    with pytest.raises(DeliveryError) as info:
        HttpSmsProvider(url, "t").send("+84912345623", "x")
    assert info.value.reason == f"http_{status}" and info.value.permanent is permanent


def test_unreachable_gateway_is_retried():
    with pytest.raises(DeliveryError) as info:
        HttpSmsProvider("http://127.0.0.1:1/send", "t", timeout=1).send("+84912345623", "x")
    assert info.value.reason == "unreachable" and not info.value.permanent
