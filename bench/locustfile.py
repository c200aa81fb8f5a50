"""A locustfile for load-testing a staging deployment with the real journeys
(docs/operations.md, "Load-testing a staging deployment").

    pip install -e '.[load]'
    GATEWAY_LOCUST_FIXTURE=staging.json locust -f bench/locustfile.py \\
        --host https://id.staging.vssid.example.vn --headless -u 60 -r 5 -t 10m

Each simulated person owns one test account (never shared with another simulated person,
so two never take the same account's device over at once) and does, with these weights:

  browser_login       3  GET /authorize → /login → POST /login → /authorize → code →
                         POST /token (client_secret_basic + PKCE); a fresh cookie jar
  app_sign_in         3  the VssID app on the person's bound device: POST
                         /authorize-challenge with a DPoP proof → code → POST /token (DPoP)
  takeover            1  a never-seen device takes the account over: device_conflict →
                         takeover=confirm → otp_required → the OTP read from the test SMS
                         provider's outbox file → otp → code → POST /token; it becomes the
                         person's bound device
  refresh             3  POST /token grant_type=refresh_token, rotating the person's chain
  client_credentials  3  POST /token grant_type=client_credentials (a service client)

Every response is checked as the benchmark checks it (bench/load.py: status, redirect
target, state, token fields); anything else is a failure. Locust's statistics are per
journey (request type "journey"), one entry each, whatever the requests it took.

GATEWAY_LOCUST_FIXTURE names a JSON file with the fields of bench.server.Fixture:
``usernames`` (test accounts, at least as many as the simulated people), ``password`` (theirs,
shared), ``client_id``/``client_secret``/``redirect_uri`` (a test web client with that
redirect URI registered), ``service_id``/``service_secret`` (a test service client),
``app_client_id`` (the first-party app client), ``phones`` (login name → the account's phone
number, E.164) and ``sms_outbox`` (the SMS outbox file this machine can read: the staging
gateway's GATEWAY_SMS_OUTBOX, shared read-only). `python -m bench.locust_local` writes one
for a gateway it prepares and serves itself, and runs this file against it.
"""

from __future__ import annotations

import itertools
import json
import os
import secrets
import sys
import threading
import time
from pathlib import Path

import requests
from joserfc.jwk import ECKey
from locust import User, between, events, task

# locust imports this file by its path: the checkout's root makes bench/ and examples/ found.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import load  # noqa: E402
from bench.server import Fixture  # noqa: E402
from examples.vssid_app_client import AppClient  # noqa: E402

_FIXTURE: Fixture | None = None
_PEOPLE = itertools.count()
_LOCK = threading.Lock()


def fixture() -> Fixture:
    global _FIXTURE
    with _LOCK:
        if _FIXTURE is None:
            path = os.environ.get("GATEWAY_LOCUST_FIXTURE")
            if not path:
                raise RuntimeError("GATEWAY_LOCUST_FIXTURE: the test accounts and clients "
                                   "(a JSON file; see bench/locustfile.py)")
            with open(path, encoding="utf-8") as handle:
                _FIXTURE = Fixture(**json.load(handle))
        return _FIXTURE


@events.init_command_line_parser.add_listener
def _options(parser):
    parser.add_argument("--gateway-fixture", env_var="GATEWAY_LOCUST_FIXTURE", default="",
                        help="JSON file with the test accounts and clients (see the "
                             "locustfile's docstring)")


class Person(User):
    """One person with one test account, a browser, the VssID app and a relying party."""

    wait_time = between(0.5, 2.0)

    def on_start(self):
        fx = fixture()
        n = next(_PEOPLE)
        if n >= len(fx.usernames):
            raise RuntimeError(f"{n + 1} simulated people but {len(fx.usernames)} test accounts")
        self.username = fx.usernames[n]
        # Every journey of this person goes through its own sessions (kept alive); one login
        # name per person, so the shared round-robin of load.Target is not used.
        self.target = load.Target(self.host.rstrip("/"), fx)
        self.target.username = lambda: self.username
        self.browser, self.rp, self.app = (requests.Session() for _ in range(3))
        self.device = None
        self.refresh_token = None

    def on_stop(self):
        for session in (self.browser, self.rp, self.app):
            session.close()

    def _journey(self, name: str, run):
        """Run one journey and report it to locust as one request of type "journey"."""
        started = time.perf_counter()
        error = None
        try:
            run()
        except Exception as exc:  # the journey failed: locust counts and shows it
            error = exc
        events.request.fire(request_type="journey", name=name, response_length=0,
                            response_time=(time.perf_counter() - started) * 1e3,
                            exception=error, context={})

    def _new_device(self, name: str) -> AppClient:
        return AppClient(self.target.base, self.target.fixture.app_client_id,
                         device_id=f"locust-{secrets.token_hex(8)}", device_name=name,
                         key=ECKey.generate_key("P-256", private=True), http=self.app)

    def _bound_device(self) -> AppClient:
        """The person's device: bound at the first app sign-in (or taken over to it)."""
        if self.device is None:
            device = self._new_device("Điện thoại locust")
            try:
                load.device_sign_in(device, self.target, self.username)
            except load.JourneyError:
                # another device is active (an earlier run): take the account over
                load.device_takeover(device, self.target, self.username)
            self.device = device
        return self.device

    @task(3)
    def browser_login(self):
        def run():
            tokens = load.login_with_code_exchange(self.browser, self.rp, self.target)
            self.refresh_token = tokens["refresh_token"]

        self._journey("browser_login", run)

    @task(3)
    def app_sign_in(self):
        def run():
            if self.device is None:
                self._bound_device()
            else:
                load.device_sign_in(self.device, self.target, self.username)

        self._journey("app_sign_in", run)

    @task(1)
    def takeover(self):
        def run():
            self._bound_device()  # the account has an active device to take over from
            device = self._new_device("Điện thoại mới (locust)")
            load.device_takeover(device, self.target, self.username)
            self.device = device

        self._journey("takeover", run)

    @task(3)
    def refresh(self):
        def run():
            if self.refresh_token is None:
                self.refresh_token = load.login_with_code_exchange(
                    self.browser, self.rp, self.target)["refresh_token"]
            try:
                self.refresh_token = load.refresh(self.rp, self.target,
                                                  self.refresh_token)["refresh_token"]
            except Exception:
                self.refresh_token = None  # the chain is broken: a new login next time
                raise

        self._journey("refresh", run)

    @task(3)
    def client_credentials(self):
        self._journey("client_credentials",
                      lambda: load.client_credentials(self.rp, self.target))
