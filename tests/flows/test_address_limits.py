"""Per-address limits that slow a sprayer without locking out a carrier's NAT.

* the address's place is reserved atomically: 14 concurrent wrong passwords against a limit
  of 10 verify 10 passwords (point 11 of issue 7);
* past the limit a check waits ADDRESS_DELAY_MS — really waits, holding no transaction — and
  is never refused, so the right password gets in through /login and /authorize-challenge;
* a sign-in redeems that name's failures from the address; IPv6 is counted per /64;
* only the global alarm refuses (429), as before.

The waits are real (a few hundred ms, set small here); the clock records each one.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from examples.vssid_app_client import AppClient, Challenge
from gateway.clock import Clock, FixedClock, clock
from gateway.errors import AuthenticationError
from gateway.extensions import db
from gateway.methods.password import check_password
from gateway.models import Event
from gateway.services.throttle import LockedError, ThrottledError
from gateway.store.access import store
from tests.helpers import PASSWORD, authorize_params, csrf_of, new_account, new_client, race
from tests.helpers.network import free_port, serve

DELAY_MS = 300
COMMON_PASSWORD = "Mat-khau-pho-bien-1"  # what a sprayer tries on every name


class RecordingClock(Clock):
    """The wall clock, noting every wait and whether a database transaction was open."""

    def __init__(self):
        self.waits: list[tuple[float, bool]] = []
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.waits.append((seconds, db.session().in_transaction()))
        super().sleep(seconds)


def _spray(names, address, password=COMMON_PASSWORD):
    """Wrong passwords for each name from one address; every answer must be a plain 401."""
    for name in names:
        with pytest.raises(AuthenticationError):
            check_password(name, password, address=address)


def _alarm(failures: int) -> None:
    """The gateway saw `failures` failed checks in the previous (and this) minute."""
    minute = clock().timestamp() // 60
    for key in (f"global:fail:{minute - 1}", f"global:fail:{minute}"):
        for _ in range(failures):
            store().incr(key, 180)


# --------------------------------------------------------------- atomic reservation (11)


def test_fourteen_concurrent_guesses_against_a_limit_of_ten_verify_ten(make_app):
    app = make_app(ADDRESS_FAILURE_LIMIT_UNDER_ATTACK=10, GLOBAL_FAILURE_ALARM_PER_MINUTE=5)
    with app.app_context():
        _alarm(5)
        db.session.remove()

    def guess(i):
        with app.app_context():
            try:
                check_password(f"09000000{i:02d}", COMMON_PASSWORD, address="198.51.100.4")
            except (AuthenticationError, ThrottledError) as exc:
                return type(exc).__name__
            finally:
                db.session.remove()

    outcomes = race(14, guess)
    with app.app_context():
        verified = Event.query.filter_by(name="login.failed").count()
    assert verified == 10
    assert sorted(outcomes) == ["AuthenticationError"] * 10 + ["ThrottledError"] * 4


def test_concurrent_guesses_past_the_limit_wait_and_are_not_refused(make_app):
    recorder = RecordingClock()
    app = make_app(clock=recorder, ADDRESS_FAILURE_LIMIT=10, ADDRESS_DELAY_MS=DELAY_MS)

    def guess(i):
        with app.app_context():
            try:
                check_password(f"09100000{i:02d}", COMMON_PASSWORD, address="198.51.100.5")
            except (AuthenticationError, ThrottledError) as exc:
                return type(exc).__name__
            finally:
                db.session.remove()

    assert race(14, guess) == ["AuthenticationError"] * 14
    assert [seconds for seconds, _ in recorder.waits] == [DELAY_MS / 1000] * 4


# --------------------------------------------------------------- the right password gets in


def _login_page(client, client_id, address):
    response = client.get("/authorize?" + urlencode(authorize_params(client_id, "v" * 43)),
                          environ_base={"REMOTE_ADDR": address})
    page = client.get(response.location, environ_base={"REMOTE_ADDR": address})
    html = page.get_data(as_text=True)
    return re.search(r'name="flow" value="([^"]+)"', html).group(1), csrf_of(html)


def test_browser_sign_in_from_a_busy_address_waits_and_succeeds(make_app):
    recorder = RecordingClock()
    app = make_app(clock=recorder, ADDRESS_FAILURE_LIMIT=3, ADDRESS_DELAY_MS=DELAY_MS)
    address = "203.0.113.9"
    with app.app_context():
        new_account()
        client_id, _ = new_client()
        client = app.test_client()
        flow, csrf = _login_page(client, client_id, address)

        def post(username, password):
            return client.post("/login", environ_base={"REMOTE_ADDR": address}, data={
                "csrf_token": csrf, "flow": flow, "username": username, "password": password})

        sprayed = [post(f"09200000{i:02d}", COMMON_PASSWORD) for i in range(5)]
        assert [r.status_code for r in sprayed] == [401] * 5
        assert len(recorder.waits) == 2  # the 4th and 5th guesses waited
        started = time.monotonic()
        signed_in = post("0123456789", PASSWORD)
        elapsed = time.monotonic() - started
    assert signed_in.status_code == 302 and "login_flow=" in signed_in.location
    assert len(recorder.waits) == 3 and elapsed >= DELAY_MS / 1000
    assert [open_transaction for _, open_transaction in recorder.waits] == [False] * 3


def test_app_sign_in_from_a_busy_address_waits_and_succeeds(make_app):
    recorder = RecordingClock()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(clock=recorder, ISSUER=base, ADDRESS_FAILURE_LIMIT=3,
                   ADDRESS_DELAY_MS=DELAY_MS)
    with app.app_context():
        new_account()
        client_id, _ = new_client(type="app", redirect_uris=["http://127.0.0.1:9/cb"])
        db.session.remove()
    with serve(app, port):
        sprayer = AppClient(base, client_id, device_id="sprayer-0001", device_name="S")
        for i in range(5):
            with pytest.raises(Challenge) as refused:
                sprayer.sign_in(f"09300000{i:02d}", COMMON_PASSWORD)
            assert refused.value.reason == "invalid_credentials"
        phone = AppClient(base, client_id, device_id="phone-of-an-01", device_name="An")
        started = time.monotonic()
        tokens = phone.sign_in("0123456789", PASSWORD)
        elapsed = time.monotonic() - started
    assert tokens.token_type == "DPoP"
    assert len(recorder.waits) == 3 and elapsed >= DELAY_MS / 1000
    # The client was loaded (a transaction opened) before the wait; it was ended first.
    assert [open_transaction for _, open_transaction in recorder.waits] == [False] * 3


def test_under_the_global_alarm_a_busy_address_is_refused(make_app):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(ISSUER=base, ADDRESS_FAILURE_LIMIT_UNDER_ATTACK=2,
                   GLOBAL_FAILURE_ALARM_PER_MINUTE=3)
    with app.app_context():
        new_account()
        web_id, _ = new_client()
        app_id, _ = new_client(type="app", redirect_uris=["http://127.0.0.1:9/cb"])
        _alarm(3)
        _spray(["0940000001", "0940000002"], "127.0.0.1")
        db.session.remove()
    with serve(app, port):
        phone = AppClient(base, app_id, device_id="phone-of-an-01", device_name="An")
        with pytest.raises(Challenge) as refused:
            phone.sign_in("0123456789", PASSWORD)
    assert refused.value.status == 400 and refused.value.reason == "too_many_attempts"
    assert 1 <= refused.value.body["retry_after"] <= 600
    with app.app_context():
        client = app.test_client()
        flow, csrf = _login_page(client, web_id, "127.0.0.1")
        page = client.post("/login", data={"csrf_token": csrf, "flow": flow,
                                           "username": "0123456789", "password": PASSWORD})
    assert page.status_code == 429 and 1 <= int(page.headers["Retry-After"]) <= 600


# --------------------------------------------------------------- what counts, and where


def test_typos_redeemed_by_a_sign_in_leave_the_address_clean(make_app):
    recorder = RecordingClock()
    app = make_app(clock=recorder, ADDRESS_FAILURE_LIMIT=3, ADDRESS_DELAY_MS=DELAY_MS)
    with app.app_context():
        people = [f"09500000{i:02d}" for i in range(8)]
        for bhxh in people:
            new_account(bhxh=bhxh)
        for bhxh in people:  # each mistypes twice, then gets it right
            _spray([bhxh, bhxh], "198.51.100.6", password="Mat-khau-go-nham")
            assert check_password(bhxh, PASSWORD, address="198.51.100.6").bhxh == bhxh
        assert recorder.waits == []
        # A sign-in redeems only its own name's failures: a spray still counts.
        _spray(["0960000001", "0960000002", "0960000003"], "198.51.100.6")
        _spray(["0950000000"], "198.51.100.6", password="Mat-khau-go-nham")
        assert check_password("0950000000", PASSWORD, address="198.51.100.6")
        assert len(recorder.waits) == 2  # past the spray, the typo and the sign-in waited


def test_an_ipv6_64_is_one_address(make_app):
    recorder = RecordingClock()
    app = make_app(clock=recorder, ADDRESS_FAILURE_LIMIT=2, ADDRESS_DELAY_MS=50)
    with app.app_context():
        _spray(["0970000001"], "2001:db8:7:1::1")
        _spray(["0970000002"], "2001:db8:7:1:aaaa:bbbb:cccc:dddd")
        _spray(["0970000003"], "2001:db8:7:2::1")  # another /64: its own count
        assert recorder.waits == []
        _spray(["0970000004"], "2001:db8:7:1::ffff")  # third failure in the first /64
        assert len(recorder.waits) == 1
        _spray(["0970000005", "0970000006"], "198.51.100.8")
        _spray(["0970000007"], "::ffff:198.51.100.8")  # the same IPv4 client
        assert len(recorder.waits) == 2


def test_windows_and_locks_follow_the_injected_clock(make_app):
    # At the start of a 600-second window, so the minute below stays in it.
    fixed = FixedClock(datetime.fromtimestamp(time.time() // 600 * 600 + 1, UTC))
    app = make_app(clock=fixed, ADDRESS_FAILURE_LIMIT=2, ADDRESS_DELAY_MS=DELAY_MS)
    with app.app_context():
        new_account()
        _spray(["0123456789"] * 5, "198.51.100.9", password="Mat-khau-go-nham")
        with pytest.raises(LockedError) as locked:
            check_password("0123456789", PASSWORD, address="198.51.100.9")
        assert locked.value.retry_after == 60
        started = fixed.now()
        fixed.advance(seconds=61)
        # Unlocked by the clock; past the address limit the check waits on the same clock.
        assert check_password("0123456789", PASSWORD, address="198.51.100.9")
        assert (fixed.now() - started).total_seconds() == pytest.approx(61 + DELAY_MS / 1000)
        before = fixed.now()
        _spray(["0980000001", "0980000002", "0980000003"], "198.51.100.9")
        assert (fixed.now() - before).total_seconds() == pytest.approx(DELAY_MS / 1000)
        fixed.advance(seconds=600)  # a new window: the address starts afresh
        before = fixed.now()
        _spray(["0980000004", "0980000005"], "198.51.100.9")
        assert fixed.now() == before
