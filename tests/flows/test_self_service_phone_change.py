"""Changing one's own registered phone over HTTP (/account/phone): only on a recent level-2
VNeID sign-in to the linked account, proven by a code sent to the NEW number, with exactly the
counter's effects (gateway/services/phone_change.move) — and every way it is refused.

Sessions are started here as a VNeID sign-in starts them (sessions.start_session with its
``amr`` and level; links.link as the linking rules link): the browser test
tests/browser/test_phone_change_page.py goes through the sandbox VNeID sign-in itself."""

from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gateway.clock import FixedClock
from gateway.extensions import db
from gateway.methods import otp
from gateway.models import Account, AuditRecord, Event, LoginSession, OutboxMessage
from gateway.services import audit, counter, links
from gateway.services.sessions import start_session
from tests.helpers import csrf_of
from tests.helpers.links import account_for, identity
from tests.helpers.sms import sms_sent

OLD, NEW = "+84912345623", "+84987000111"


@pytest.fixture
def settings():
    return {}


@pytest.fixture
def world(make_app, tmp_path, settings):
    """An app on a FixedClock (context pushed) with a level-2 account linked to a level-2
    VNeID identity; ``sign_in(amr, level)`` gives a browser with such a session."""
    clock = FixedClock()
    app = make_app(clock=clock, SMS_OUTBOX=str(tmp_path / "sms.jsonl"), **settings)
    with app.app_context():
        account = account_for("0123456789", phone="0912345623")
        app.clock, app.account_id = clock, account.id

        def sign_in(amr=("vneid",), level=2, link=True):
            person = db.session.get(Account, account.id)
            if link and links.link_of_account(person.id) is None:
                links.link(identity(level=level), person, how="auto",
                           reason="auto_verified_match")
            handle, _ = start_session(person, amr=list(amr), level=level)
            client = app.test_client()
            client.set_cookie(app.config["SSO_COOKIE_NAME"], handle)
            return client

        app.sign_in = sign_in
        yield app
        db.session.remove()


def _account(app) -> Account:
    db.session.expire_all()
    return db.session.get(Account, app.account_id)


def _start(client, phone=NEW, **form):
    page = client.get("/account/phone")
    token = csrf_of(page.get_data(as_text=True))
    return client.post("/account/phone", data={"csrf_token": token, "phone": phone, **form})


def _confirm(client, location, code):
    return client.post(location, data={"csrf_token": _token(client), "otp": code})


def _token(client) -> str:
    """This browser's CSRF token, from a page that always has a form."""
    return csrf_of(client.get("/account/password").get_data(as_text=True))


def _codes(response) -> list[str]:
    return re.findall(r'data-code="([^"]+)"', response.get_data(as_text=True))


def _otps_to(app, number) -> list[dict]:
    return [m for m in sms_sent(app) if m["template"] == "otp" and m["to"] == number]


def _code(app, number=NEW) -> str:
    """The latest code sent to ``number``."""
    return re.search(r"\b(\d{6})\b", _otps_to(app, number)[-1]["text"])[1]


def test_a_recent_level2_vneid_session_changes_the_phone(world):
    # a code the OLD SIM holds, for something else: it must die with the change
    otp.issue(account_id=world.account_id, phone=OLD, purpose="takeover",
              flow_id="flow-before-change")
    db.session.commit()
    client = world.sign_in()
    page = client.get("/account/phone")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="phone-form"' in html
    assert "+84 9** *** *23" in html and OLD not in html

    started = _start(client, "0987 000 111")
    assert started.status_code == 303
    assert started.location.startswith("/account/phone/verify?flow=")
    [sent] = _otps_to(world, NEW)  # the code went to the NEW number, only there
    assert "doi so dien thoai" in sent["text"]
    assert _account(world).phone == OLD  # nothing moved yet

    done = _confirm(client, started.location, _code(world))
    assert done.status_code == 200 and _codes(done) == ["phone_change_done"]
    assert "Max-Age=0" in done.headers["Set-Cookie"]
    assert _account(world).phone == NEW
    notices = [m for m in sms_sent(world) if m["template"] == "phone_changed"]
    assert [m["to"] for m in notices] == [OLD]
    assert LoginSession.query.filter_by(revoked_at=None).count() == 0
    assert {s.revoked_reason for s in LoginSession.query.all()} == {"phone_changed"}
    record = AuditRecord.query.filter_by(action="account.phone_changed").one()
    assert (record.actor, record.actor_role, record.subject, record.changes) == (
        "citizen:******6789", "citizen", f"account:{world.account_id}",
        {"phone": ["+84 9** *** *23", "+84 9** *** *11"]})
    assert audit.verify()[1] is None
    event = Event.query.filter_by(name="account.phone_changed").one()
    assert event.data == {"old": "+84 9** *** *23", "new": "+84 9** *** *11", "via": "vneid"}
    with pytest.raises(otp.OtpError, match="otp_expired"):
        otp.verify(account_id=world.account_id, purpose="takeover",
                   flow_id="flow-before-change", code="000000")
    # the session ended with the change: the page asks to sign in
    assert client.get("/account/phone").status_code == 401


@pytest.mark.parametrize(("how", "code"), [
    ({"amr": ("pwd",), "level": 2, "link": False}, "phone_change_needs_vneid"),
    ({"amr": ("pwd",), "level": 2, "link": True}, "phone_change_needs_vneid"),
    ({"amr": ("vneid",), "level": 1, "link": True}, "phone_change_needs_level2"),
    ({"amr": ("vneid",), "level": 2, "link": False}, "phone_change_not_linked"),
])
def test_other_sessions_are_refused_and_told_what_to_do(world, how, code):
    client = world.sign_in(**how)
    page = client.get("/account/phone")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and _codes(page) == [code]
    assert 'id="phone-form"' not in html
    assert ('href="/vneid/start?return=phone"' in html) == (code != "phone_change_needs_level2")
    posted = client.post("/account/phone", data={"csrf_token": _token(client), "phone": NEW})
    assert posted.status_code == 403 and _codes(posted) == [code]
    assert _otps_to(world, NEW) == [] and _account(world).phone == OLD
    refused = Event.query.filter_by(name="account.phone_change_refused").one()
    assert refused.data == {"reason": code, "via": "vneid"}


def test_signed_out_is_asked_to_sign_in(world):
    client = world.test_client()
    assert client.get("/account/phone").status_code == 401
    assert client.post("/account/phone", data={"phone": NEW}).status_code == 401
    assert client.get("/account/phone/verify?flow=x").status_code == 401


def test_a_stale_vneid_sign_in_must_be_fresh_again(world):
    client = world.sign_in()
    world.clock.advance(seconds=601)
    page = client.get("/account/phone")
    assert _codes(page) == ["phone_change_reauth"]
    assert 'href="/vneid/start?return=phone"' in page.get_data(as_text=True)


def test_growing_stale_between_the_code_and_the_confirmation_refuses(world):
    client = world.sign_in()
    world.clock.advance(seconds=300)
    started = _start(client)
    code = _code(world)
    world.clock.advance(seconds=301)  # the sign-in is 601 s old, the code 301 s
    refused = _confirm(client, started.location, code)
    assert refused.status_code == 403 and _codes(refused) == ["phone_change_reauth"]
    assert _account(world).phone == OLD


@pytest.mark.parametrize(("typed", "code"), [
    ("12345", "invalid_phone"), ("024 3825 1234", "phone_not_mobile"),
    ("0912 345 623", "same_phone"), ("", "invalid_phone"),
])
def test_the_new_number_is_validated_before_any_code(world, typed, code):
    client = world.sign_in()
    refused = _start(client, typed)
    assert refused.status_code == 400 and _codes(refused) == [code]
    assert [m for m in sms_sent(world) if m["template"] == "otp"] == []


def test_csrf_is_required(world):
    client = world.sign_in()
    refused = client.post("/account/phone", data={"phone": NEW, "csrf_token": "forged"})
    assert refused.status_code == 400 and _codes(refused) == ["csrf_failed"]
    started = _start(client)
    refused = client.post(started.location, data={"otp": _code(world)})
    assert refused.status_code == 400 and _codes(refused) == ["csrf_failed"]
    assert _account(world).phone == OLD


def test_a_wrong_code_changes_nothing(world):
    client = world.sign_in()
    started = _start(client)
    right = _code(world)
    wrong = "000000" if right != "000000" else "111111"
    refused = _confirm(client, started.location, wrong)
    assert refused.status_code == 400 and _codes(refused) == ["otp_invalid"]
    assert _account(world).phone == OLD
    done = _confirm(client, started.location, right)
    assert _codes(done) == ["phone_change_done"] and _account(world).phone == NEW


def test_the_change_belongs_to_its_session(world):
    client = world.sign_in()
    started = _start(client)
    other = world.sign_in()  # the same person, another browser and session
    refused = _confirm(other, started.location, _code(world))
    assert refused.status_code == 400 and _codes(refused) == ["phone_change_expired"]
    assert _account(world).phone == OLD


def test_a_counter_change_meanwhile_wins(world):
    client = world.sign_in()
    started = _start(client)
    code = _code(world)
    person = _account(world)
    counter.change_phone(person, cccd_shown=person.cccd, new_phone="0903 111 222",
                         actor=audit.Actor("clerk.an", "office_staff", "BHXH-001"),
                         reason="Đổi số tại quầy")
    # the counter ended every session: this browser is signed out
    assert _confirm_status(client, started.location, code) == 401
    assert _account(world).phone == "+84903111222"


def _confirm_status(client, location, code) -> int:
    page = client.get(location)
    if page.status_code != 200:
        return page.status_code
    return client.post(location, data={"csrf_token": csrf_of(page.get_data(as_text=True)),
                                       "otp": code}).status_code


def test_starts_are_limited_per_account(world):
    client = world.sign_in()
    for i in range(5):
        assert _start(client, f"098700011{i}").status_code == 303
    refused = _start(client, "0987000119")
    assert refused.status_code == 429 and _codes(refused) == ["phone_change_rate_limited"]
    assert int(refused.headers["Retry-After"]) > 0
    assert len([m for m in sms_sent(world) if m["template"] == "otp"]) == 5


@pytest.mark.parametrize("settings", [{"OTP_RESEND_COOLDOWN": 1}])
def test_resend_sends_again_to_the_new_number(world):
    client = world.sign_in()
    started = _start(client)
    flow = started.location.split("flow=")[1]
    token = _token(client)
    too_soon = client.post(f"/account/phone/resend?flow={flow}", data={"csrf_token": token})
    assert too_soon.status_code == 429 and _codes(too_soon) == ["otp_rate_limited"]
    time.sleep(1.1)  # the store's cooldown runs on its own (real) time
    again = client.post(f"/account/phone/resend?flow={flow}", data={"csrf_token": token})
    assert again.status_code == 303 and len(_otps_to(world, NEW)) == 2
    done = _confirm(client, started.location, _code(world))
    assert _codes(done) == ["phone_change_done"]


def test_two_confirmations_at_once_change_the_phone_once(world):
    client = world.sign_in()
    started = _start(client)
    code = _code(world)
    token = _token(client)
    cookies = {c.key: c.value for c in client._cookies.values()}

    def submit(_):
        racer = world.test_client()
        for key, value in cookies.items():
            racer.set_cookie(key, value)
        with world.app_context():
            return racer.post(started.location, data={"csrf_token": token, "otp": code})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(submit, range(4)))
    assert sorted(a.status_code for a in answers).count(200) == 1
    db.session.expire_all()
    assert AuditRecord.query.filter_by(action="account.phone_changed").count() == 1
    assert OutboxMessage.query.filter_by(template="phone_changed").count() == 1
    assert _account(world).phone == NEW
