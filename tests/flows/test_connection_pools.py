"""No request waits for a second connection from a pool it already holds one of.

A request keeps its ORM connection from its first query to its commit. When it needed another
connection of the same bounded pool meanwhile — every operation of the SQL-backed store, and
the outbox delivering right after a commit — then as many requests in flight as the pool has
connections (15 on SQLite) could each hold one and wait for a second: nothing moved until the
pool gave up after 30 s and answered 500. That is how a race of 20 refreshes or of 20
submissions of one OTP hung on the embedded default, now and then.

The test watches every checkout of every pool of a served gateway (the ORM's, and the SQL
store's own) while it runs the browser's and the app's flows and both races, and fails on
any request thread that takes a connection from a pool it already holds one of: the
condition itself, not its rare consequence. On SQLite it also fails on a request that calls
the store while its own ORM transaction holds the database's write lock (the store would
wait for the request's own lock until the busy timeout). The races must answer every request
within 10 s.
"""

from __future__ import annotations

import threading
import traceback
from collections import defaultdict

import requests
from flask import has_request_context
from sqlalchemy import event

from examples.vssid_app_client import Challenge
from gateway.extensions import db
from tests.helpers import basic, exchange, get_code, new_client, race

RACERS = 20
BOUND = 10  # seconds: far beyond any answer, far below the pool's 30 s timeout


class PoolWatch:
    """Per request thread, how many connections it holds from each pool."""

    def __init__(self, pools: dict):
        self._lock = threading.Lock()
        self._held: dict[tuple[int, str], int] = defaultdict(int)
        self._owner: dict[int, tuple[int, str]] = {}
        self._orm: dict[int, object] = {}  # record -> DB-API connection, ORM pool
        self.violations: list[str] = []
        self.checkouts = 0
        self._listeners = []
        for name, pool in pools.items():
            self._listen(pool, "checkout", self._checkout_of(name))
            self._listen(pool, "checkin", self._checkin)

    def _listen(self, pool, name, fn):
        event.listen(pool, name, fn)
        self._listeners.append((pool, name, fn))

    def _checkout_of(self, name):
        def checkout(dbapi_connection, record, _proxy):
            if not has_request_context():
                return  # the test's own set-up and checks
            thread = threading.get_ident()
            key = (thread, name)
            with self._lock:
                self.checkouts += 1
                if self._held[key]:
                    self._violation(f"a second {name} connection")
                if name == "store" and any(
                        getattr(orm, "in_transaction", False)  # sqlite3: a write is open
                        for r, orm in self._orm.items() if self._owner[r][0] == thread):
                    self._violation("the store called while this request's ORM transaction "
                                    "holds SQLite's write lock (the store would wait for it)")
                self._held[key] += 1
                self._owner[id(record)] = key
                if name == "orm":
                    self._orm[id(record)] = dbapi_connection

        return checkout

    def _violation(self, what: str) -> None:
        ours = [frame for frame in traceback.format_stack()
                if "/gateway/" in frame.splitlines()[0]]
        self.violations.append(f"{what}:\n{''.join(ours)}")

    def _checkin(self, _dbapi_connection, record):
        with self._lock:
            key = self._owner.pop(id(record), None)
            self._orm.pop(id(record), None)
            if key is not None:
                self._held[key] -= 1

    def close(self):
        for pool, name, fn in self._listeners:
            event.remove(pool, name, fn)


def _pools(app) -> dict:
    with app.app_context():
        pools = {"orm": db.engine.pool}
    store = app.extensions["gateway.store"]
    if getattr(store, "engine", None) is not None:
        pools["store"] = store.engine.pool
    return pools


def _otp_step(world, device):
    try:
        device.sign_in(world.username, world.password)
    except Challenge as conflict:
        assert conflict.reason == "device_conflict", conflict.body
        try:
            device.confirm_takeover(conflict.auth_session)
        except Challenge as step:
            assert step.reason == "otp_required", step.body
            return step
    raise AssertionError("expected device_conflict, then otp_required")


def test_no_request_holds_two_connections_of_one_pool(world):
    watch = PoolWatch(_pools(world.app))
    try:
        # The browser: code flow, code exchange, refresh.
        with world.app.app_context():
            web_id, web_secret = new_client()
        browser = world.app.test_client()
        result, verifier, _ = get_code(browser, web_id)
        tokens = exchange(browser, web_id, web_secret, result["code"], verifier)
        assert tokens.status_code == 200, tokens.json
        again = browser.post("/token", data={"grant_type": "refresh_token",
                                             "refresh_token": tokens.json["refresh_token"]},
                             headers=basic(web_id, web_secret))
        assert again.status_code == 200, again.json

        # The app: first device, refresh, a takeover by OTP (SMS sent after the commit).
        first = world.device("Điện thoại cũ")
        first.sign_in(world.username, world.password)
        first.refresh()
        second = world.device("Điện thoại mới")
        step = _otp_step(world, second)
        second.submit_otp(step.auth_session, world.last_otp())

        # Race 1: one refresh token presented 20 times at once (the losers revoke it).
        token_url = f"{world.base}/token"
        data = {"grant_type": "refresh_token", "client_id": world.client_id,
                "refresh_token": second.tokens.refresh_token}

        def refresh(_):
            response = requests.post(token_url, data=data, timeout=BOUND, headers={
                "DPoP": second.proof("POST", token_url)})
            return response.status_code, response.json().get("error")

        outcomes = race(RACERS, refresh)
        assert len([o for o in outcomes if o[0] == 200]) <= 1, outcomes
        assert all(o == (400, "invalid_grant") for o in outcomes if o[0] != 200), outcomes

        # Race 2: one takeover OTP submitted 20 times at once by the new device.
        third = world.device("Điện thoại thứ ba")
        step = _otp_step(world, third)
        code = world.last_otp()
        challenge_url = f"{world.base}/authorize-challenge"

        def submit(_):
            response = requests.post(challenge_url, timeout=BOUND, data={
                "client_id": world.client_id, "auth_session": step.auth_session, "otp": code,
            }, headers={"DPoP": third.proof("POST", challenge_url)})
            return response.status_code, response.json()

        answers = race(RACERS, submit)
        assert len([a for a in answers if a[0] == 200]) == 1, answers
        assert all(a[0] in (400, 429) and a[1]["error"] in (
            "insufficient_authorization", "invalid_session") for a in answers if a[0] != 200)
    finally:
        watch.close()
    assert watch.checkouts > 0  # the watch saw the requests
    assert watch.violations == [], watch.violations[0]
