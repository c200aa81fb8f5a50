"""An issued one-time password (an approved application's, a staff reset's) must be changed at
the first sign-in, and stops working if it lies unused past ISSUED_PASSWORD_TTL_DAYS: the
sign-in is refused with ``issued_password_expired`` (in the browser, in the app), telling the
person to use recovery or the office; a wrong password still gets the generic answer; a change
ends the expiry."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from flask import g

from examples.vssid_app_client import Challenge
from gateway.clock import FixedClock, as_utc, utcnow
from gateway.extensions import db
from gateway.models import Account, Event
from gateway.services.application_decisions import decide
from gateway.services.passwords import change_password, issue_password
from policies import applications as rules
from tests.helpers import authorize_params, csrf_of, new_account, new_client
from tests.helpers.applications import new_application, new_staff
from tests.helpers.devices import expect_challenge
from tests.helpers.sms import sms_sent

START = datetime(2026, 5, 4, 1, 0, tzinfo=UTC)
NEW = "Một mật khẩu mới rất dài 9"


@pytest.fixture
def gw(make_app, tmp_path):
    clock = FixedClock(START)
    app = make_app(clock=clock, SMS_OUTBOX=str(tmp_path / "sms.jsonl"),
                   EMAIL_OUTBOX=str(tmp_path / "email.jsonl"))
    with app.app_context():
        app.clock = clock
        app.client_id = new_client()[0]
        yield app
        db.session.remove()


def issued_account(app) -> tuple[str, str]:
    """An application approved at the counter: (login name, the one-time password by SMS)."""
    application = new_application()
    decide(new_staff(rules.OFFICE_STAFF), application.reference, "approve")
    [sms] = [m for m in sms_sent(app) if m["template"] == "account_issued"]
    return application.bhxh, re.search(r"mot lan: ([0-9a-f-]+),", sms["text"])[1]


def sign_in(app, username, password, lang="vi"):
    """The browser's sign-in form for a fresh /authorize request; the POST's response."""
    client = app.test_client()
    started = client.get("/authorize?" + urlencode(authorize_params(app.client_id, "v" * 43)))
    page = client.get(started.location).get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', page)[1]
    # The test client's requests share this test's app context, and with it `g`, where the
    # page language of the request before is remembered: the POST chooses afresh.
    g.pop("lang", None)
    response = client.post("/login", data={"csrf_token": csrf_of(page), "flow": flow,
                                           "username": username, "password": password,
                                           "lang": lang})
    response.client = client
    return response


def test_an_unused_issued_password_expires_after_the_ttl(gw):
    username, password = issued_account(gw)
    gw.clock.advance(days=13, hours=23)
    within = sign_in(gw, username, password)
    assert within.status_code == 302 and within.location.startswith("/login/password")
    gw.clock.advance(hours=1)  # 14 days after the approval, to the second
    refused = sign_in(gw, username, password)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 401
    assert "đã hết hạn" in html and "Quên mật khẩu" in html and 'id="forgot"' in html
    english = sign_in(gw, username, password, lang="en")
    assert english.status_code == 401 and "has expired" in english.get_data(as_text=True)
    # A wrong password learns nothing about the account.
    wrong = sign_in(gw, username, "không phải mật khẩu này")
    assert wrong.status_code == 401 and "đã hết hạn" not in wrong.get_data(as_text=True)
    reasons = [e.data["reason"] for e in Event.query.filter_by(name="login.failed")]
    assert reasons == ["issued_password_expired", "issued_password_expired",
                       "invalid_credentials"]


def test_the_forced_change_with_an_expired_issued_password_is_refused(gw):
    username, password = issued_account(gw)
    gw.clock.advance(days=13, hours=23, minutes=59)
    started = sign_in(gw, username, password)
    page = started.client.get(started.location).get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', page)[1]
    gw.clock.advance(minutes=2)  # the password expires while its change page is open
    refused = started.client.post("/login/password", data={
        "csrf_token": csrf_of(page), "flow": flow, "current_password": password,
        "new_password": NEW, "confirm_password": NEW})
    assert refused.status_code == 401
    assert 'data-code="issued_password_expired"' in refused.get_data(as_text=True)
    db.session.expire_all()
    assert Account.query.one().must_change_password


def test_a_change_ends_the_expiry(gw):
    username, password = issued_account(gw)
    gw.clock.advance(days=3)
    account = Account.query.one()
    change_password(account, NEW, reason="must_change", current_password=password)
    db.session.expire_all()
    account = Account.query.one()
    assert account.issued_password_expires_at is None and not account.must_change_password
    gw.clock.advance(days=60)
    signed_in = sign_in(gw, username, NEW)
    assert signed_in.status_code == 302 and "login_flow=" in signed_in.location


def test_a_staff_reset_expires_the_same_way(gw):
    account = new_account(bhxh="0312345678")
    temporary = issue_password(account, reason="staff_reset")
    db.session.expire_all()
    account = Account.query.one()
    assert as_utc(account.issued_password_expires_at) == START + timedelta(days=14)
    gw.clock.advance(days=14)
    refused = sign_in(gw, "0312345678", temporary)
    assert refused.status_code == 401 and "đã hết hạn" in refused.get_data(as_text=True)


def test_tries_with_an_expired_password_count_towards_the_lock(make_app, tmp_path):
    clock = FixedClock(START)
    app = make_app(clock=clock, LOCKOUT_THRESHOLD=3, SMS_OUTBOX=str(tmp_path / "sms.jsonl"))
    with app.app_context():
        app.client_id = new_client()[0]
        account = new_account(bhxh="0412345678")
        temporary = issue_password(account, reason="staff_reset")
        clock.advance(days=15)
        statuses = [sign_in(app, "0412345678", temporary).status_code for _ in range(4)]
        assert statuses == [401, 401, 401, 429]
        db.session.remove()


def test_the_app_is_told_the_issued_password_expired(world):
    with world.app.app_context():
        account = Account.query.one()
        temporary = issue_password(account, reason="staff_reset")
        account = Account.query.one()
        account.issued_password_expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    phone = world.device("An")
    answer = expect_challenge(lambda: phone.sign_in(world.username, temporary))
    assert isinstance(answer, Challenge) and answer.reason == "issued_password_expired"
    wrong = expect_challenge(lambda: phone.sign_in(world.username, "sai mật khẩu rồi"))
    assert wrong.reason == "invalid_credentials"
