"""The work of a browser login with its code exchange, counted exactly, request by request.

Speed is measured in bench/ (``login+code``); what is asserted here are the counts the speed
rests on, so that a change adding a query, a commit, a pool checkout, a store round trip or a
second password hash to the login shows up as a failing test rather than as a slower benchmark
nobody reads: SQL statements, commits and pool checkouts of the ORM's engine, operations asked
of the store (each one Redis round trip in production), and Argon2id runs.
"""

from __future__ import annotations

import re
import secrets
from collections import Counter
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import event

from gateway.crypto import password_hashing
from gateway.extensions import db
from tests.helpers import (
    PASSWORD,
    authorize_params,
    csrf_of,
    exchange,
    new_account,
    new_client,
)
from tests.helpers.services import BACKEND

STORE_OPERATIONS = ("put", "add", "add_get", "get", "get_many", "take", "delete", "incr",
                    "incr_get", "incr_many")
USERNAME = "0123456789"


class Work:
    """Counts, per request label, what the app asks of the database and the store."""

    def __init__(self):
        self.label = "setup"
        self.counts: dict[str, Counter] = {}

    def add(self, what: str) -> None:
        self.counts.setdefault(self.label, Counter())[what] += 1

    def of(self, label: str) -> dict[str, int]:
        return dict(self.counts.get(label, {}))


class CountingStore:
    def __init__(self, real, work: Work):
        self._real, self._work = real, work

    def __getattr__(self, name):
        method = getattr(self._real, name)
        if name not in STORE_OPERATIONS:
            return method

        def counted(*args, **kwargs):
            self._work.add("store")
            return method(*args, **kwargs)

        return counted


@contextmanager
def counting(app):
    work = Work()
    real = app.extensions["gateway.store"]
    app.extensions["gateway.store"] = CountingStore(real, work)
    with app.app_context():
        engine = db.engine
    listeners = [
        (engine, "before_cursor_execute", lambda *a, **k: work.add("sql")),
        (engine, "commit", lambda *a: work.add("commit")),
        (engine.pool, "checkout", lambda *a: work.add("checkout")),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    try:
        yield work
    finally:
        for target, name, fn in listeners:
            event.remove(target, name, fn)
        app.extensions["gateway.store"] = real


def _login_with_code(app, client_id, secret, work: Work | None = None, *,
                     password: str = PASSWORD) -> dict:
    """The bench's login+code journey: a fresh browser, five requests."""
    browser = app.test_client()

    def step(label):
        if work is not None:
            work.label = label

    verifier = secrets.token_urlsafe(48)
    step("GET /authorize")
    response = browser.get("/authorize?" + urlencode(authorize_params(client_id, verifier)))
    assert response.status_code == 302 and response.location.startswith("/login?")
    step("GET /login")
    page = browser.get(response.location)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', html).group(1)
    step("POST /login")
    response = browser.post("/login", data={"csrf_token": csrf_of(html), "flow": flow,
                                            "username": USERNAME, "password": password})
    if response.status_code != 302:
        return {"refused": response.status_code}
    step("GET /authorize (back)")
    response = browser.get(response.location)
    assert response.status_code == 302
    code = parse_qs(urlsplit(response.location).query)["code"][0]
    step("POST /token")
    response = exchange(browser, client_id, secret, code, verifier)
    assert response.status_code == 200, response.json
    return response.json


@pytest.fixture
def site(make_app):
    # The clients' version is checked at most every CLIENT_CACHE_SECONDS: a minute here, so
    # that the check never falls due in the middle of the counted login.
    app = make_app(CLIENT_CACHE_SECONDS=60)
    with app.app_context():
        new_account(USERNAME)
        client_id, secret = new_client()
        db.session.remove()
    # No application context held around the requests: each gets its own, and its own ORM
    # session and pool checkout, as under the server.
    return app, client_id, secret


# SQL statements, commits and pool checkouts of the ORM engine (the SQL store's own engine on
# the embedded backend is not counted: its operations are the "store" column), per request.
EXPECTED = {
    # the client row (read here on purpose: a database outage answers at once, 503)
    "GET /authorize": {"sql": 1, "checkout": 1, "store": 1},  # the flow parked
    "GET /login": {"store": 2},  # the flow read; the passkey challenge
    # the account; the session and its two audit events (one INSERT for both on PostgreSQL,
    # one each on SQLite); one commit. Store: the flow, the throttle's reservation with its
    # reads (one round trip), its release, the flow moved on.
    "POST /login": {"sql": 3 if BACKEND == "production" else 4, "commit": 1, "checkout": 1,
                    "store": 4},
    # the session with its account (one statement; the client then from the process's copy,
    # the database having answered); the flow taken, the code stored
    "GET /authorize (back)": {"sql": 1, "checkout": 1, "store": 2},
    # the account; the session link and the refresh token; one commit.
    # Store: the code, its claim, the session's revocation marker.
    "POST /token": {"sql": 3, "commit": 1, "checkout": 1, "store": 3},
}


def test_a_login_with_its_code_exchange_does_exactly_this_work(site):
    app, client_id, secret = site
    _login_with_code(app, client_id, secret)  # warm: the client's copy, the caches
    with counting(app) as work:
        tokens = _login_with_code(app, client_id, secret, work)
    assert {"access_token", "id_token", "refresh_token"} <= set(tokens)
    assert {label: work.of(label) for label in EXPECTED} == EXPECTED
    assert set(work.counts) <= set(EXPECTED) | {"setup"}


class CountingArgon2id:
    """gateway.crypto.password_hashing's Argon2id, counting what it is asked to run."""

    runs: Counter

    def __init__(self, real, runs: Counter):
        self._real, self.runs = real, runs

    def __call__(self, *args, **kwargs):
        kdf = self._real(*args, **kwargs)
        runs = self.runs

        class Counted:
            def derive_phc_encoded(self, *a, **k):
                runs["derive"] += 1
                return kdf.derive_phc_encoded(*a, **k)

        return Counted()

    def verify_phc_encoded(self, *args, **kwargs):
        self.runs["verify"] += 1
        return self._real.verify_phc_encoded(*args, **kwargs)


@pytest.mark.parametrize("case", ["right password", "wrong password", "unknown account"])
def test_a_login_costs_one_argon2id_verification_and_no_other(site, monkeypatch, case):
    """One verification per sign-in, whatever its outcome: the unknown account's dummy
    verification included (no enumeration by timing), nothing else hashing on the way (no
    second verification, no rehash of a current hash, no KDF for the session or the code)."""
    app, client_id, secret = site
    password_hashing.dummy_verify("warm")  # the process's dummy hash, made once
    _login_with_code(app, client_id, secret)  # warm
    runs: Counter = Counter()
    monkeypatch.setattr(password_hashing, "Argon2id",
                        CountingArgon2id(password_hashing.Argon2id, runs))
    if case == "unknown account":
        monkeypatch.setattr("tests.flows.test_login_work.USERNAME", "0999999999")
    password = PASSWORD if case == "right password" else PASSWORD + "x"
    answer = _login_with_code(app, client_id, secret, password=password)
    assert ("access_token" in answer) == (case == "right password"), answer
    assert dict(runs) == {"verify": 1}
