"""Wrong passwords lock a login name briefly; concurrency gets no extra tries; no enumeration."""

import re
import threading
import time
from datetime import UTC, datetime

from gateway.clock import FixedClock
from gateway.errors import AuthenticationError
from gateway.methods.password import check_password
from gateway.models import Event
from gateway.services.throttle import LockedError
from tests.helpers import PASSWORD, new_account, new_client, open_login_page, submit_login


def test_five_failures_lock_even_the_right_password(make_app):
    app = make_app(LOCKOUT_DURATIONS="2,4")
    with app.app_context():
        new_account()
        for _ in range(5):
            try:
                check_password("0123456789", "wrong-password", address="127.0.0.9")
            except AuthenticationError:
                pass
        try:
            check_password("0123456789", PASSWORD, address="127.0.0.9")
            raise AssertionError("a correct password during the lock must be refused")
        except LockedError as exc:
            assert 1 <= exc.retry_after <= 2
        time.sleep(2.1)
        assert check_password("0123456789", PASSWORD, address="127.0.0.9").bhxh == "0123456789"


def test_locks_grow_with_repeats(make_app):
    app = make_app(LOCKOUT_DURATIONS="1,60")
    with app.app_context():
        new_account()

        def five_wrong():
            for _ in range(5):
                try:
                    check_password("0123456789", "wrong-password", address="127.0.0.9")
                except AuthenticationError:
                    pass

        five_wrong()
        time.sleep(1.1)
        five_wrong()
        try:
            check_password("0123456789", PASSWORD, address="127.0.0.9")
            raise AssertionError("second lock must hold")
        except LockedError as exc:
            assert exc.retry_after > 30


def test_fifty_concurrent_wrong_passwords_verify_at_most_the_threshold(app):
    new_account()
    barrier = threading.Barrier(50)
    outcomes = []

    def guess():
        with app.app_context():
            barrier.wait()
            try:
                check_password("0123456789", "wrong-password", address="127.0.0.9")
            except (AuthenticationError, LockedError) as exc:
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=guess) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("AuthenticationError") == 5
    assert outcomes.count("LockedError") == 45
    verified = Event.query.filter_by(name="login.failed").count()
    assert verified == 5


def test_unknown_and_known_accounts_lock_alike(app):
    new_account()
    for login in ("0123456789", "0999999999"):
        for _ in range(5):
            try:
                check_password(login, "wrong-password", address="127.0.0.8")
            except AuthenticationError:
                pass
        try:
            check_password(login, "wrong-password", address="127.0.0.8")
            raise AssertionError("locked")
        except LockedError:
            pass


def test_one_address_spraying_many_accounts_is_slowed(make_app):
    clock = FixedClock(datetime.fromtimestamp(time.time() // 600 * 600 + 1, UTC))  # one window
    app = make_app(clock=clock, ADDRESS_FAILURE_LIMIT=3, ADDRESS_DELAY_MS=1500)
    with app.app_context():
        for n in range(3):
            try:
                check_password(f"012345678{n}", "password1", address="127.0.0.7")
            except AuthenticationError:
                pass
        before = clock.now()
        try:  # past the limit the guess waits (a carrier's NAT is never refused outright)
            check_password("0123456783", "password1", address="127.0.0.7")
        except AuthenticationError:
            pass
        assert (clock.now() - before).total_seconds() == 1.5
        before = clock.now()
        try:  # another address is not affected: no victim lock-out across addresses
            check_password("0123456784", "password1", address="127.0.0.6")
        except AuthenticationError:
            pass
        assert clock.now() == before


def _normalise(response):
    body = response.get_data(as_text=True)
    body = re.sub(r'value="[^"]*"', 'value=""', body)
    # each page carries a fresh passkey challenge (random, the same for everyone)
    body = re.sub(r"&#34;challenge&#34;: &#34;[^&]*&#34;", "&#34;challenge&#34;: &#34;&#34;", body)
    headers = {k: v for k, v in response.headers.items() if k not in ("X-Request-Id", "Set-Cookie")}
    return response.status_code, body, headers


def test_unknown_and_wrong_password_answers_are_identical(app, client):
    new_account()
    client_id, _ = new_client()
    flow, csrf = open_login_page(client, client_id)
    known = submit_login(client, flow, csrf, "0123456789", "wrong-password")
    unknown = submit_login(client, flow, csrf, "0999999999", "wrong-password")
    assert known.status_code == 401
    assert _normalise(known) == _normalise(unknown)


def test_locked_page_says_so_in_vietnamese(make_app):
    app = make_app(LOCKOUT_THRESHOLD=1)
    with app.app_context():
        new_account()
        client = app.test_client()
        client_id, _ = new_client()
        flow, csrf = open_login_page(client, client_id)
        submit_login(client, flow, csrf, "0123456789", "wrong-password")
        locked = submit_login(client, flow, csrf, "0123456789", PASSWORD)
        assert locked.status_code == 429 and "Retry-After" in locked.headers
        assert "tạm khoá" in locked.get_data(as_text=True)
