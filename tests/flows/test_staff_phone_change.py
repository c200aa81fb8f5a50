"""A phone number changed at the counter, end to end on a served gateway: the clerk signs in to
the console, looks the person up, types the CCCD shown and the new number; the lost phone is
signed out, the old number gets a notice, a code already sent to the old SIM completes
nothing, and the SMS factor now reaches the new number."""

from __future__ import annotations

import re

import requests

from gateway.extensions import db
from gateway.models import Account, AuditRecord
from gateway.services import audit
from tests.helpers import csrf_of
from tests.helpers.devices import expect_challenge
from tests.helpers.staff import STAFF_PASSWORD, code_at, codes_on, new_staff

CCCD = "001085012345"
NEW_PHONE = "0987000111"
OLD_E164, NEW_E164 = "+84912345623", "+84987000111"


def _clerk(world) -> requests.Session:
    with world.app.app_context():
        staff = new_staff("clerk.an")
        code = code_at(staff)
        db.session.remove()
    browser = requests.Session()
    page = browser.get(f"{world.base}/staff/login", timeout=10)
    done = browser.post(f"{world.base}/staff/login", timeout=10, allow_redirects=False, data={
        "csrf_token": csrf_of(page.text), "username": "clerk.an", "password": STAFF_PASSWORD,
        "totp": code})
    assert done.status_code == 302, done.text
    return browser


def _recovery(world, phone: str) -> str:
    started = requests.post(f"{world.base}/api/v1/recovery", timeout=10,
                            json={"username": world.username, "phone": phone})
    assert started.status_code == 202, started.text
    return started.json()["recovery_id"]


def _complete(world, recovery_id: str, code: str) -> requests.Response:
    return requests.post(f"{world.base}/api/v1/recovery/complete", timeout=10, json={
        "recovery_id": recovery_id, "otp": code, "new_password": "Một mật khẩu mới rất dài 9"})


def test_a_counter_phone_change_moves_the_sms_factor(world):
    with world.app.app_context():
        account = Account.query.filter_by(bhxh=world.username).one()
        account.cccd, account.sex = CCCD, "male"
        db.session.commit()
        account_id = account.id
        db.session.remove()
    lost = world.device("Điện thoại bị mất")
    lost.sign_in(world.username, world.password)
    stale_recovery = _recovery(world, "0912345623")  # a code goes to the old SIM
    stale_code = world.last_otp()

    clerk = _clerk(world)
    search = clerk.get(f"{world.base}/staff/accounts", timeout=10)
    found = clerk.post(f"{world.base}/staff/accounts", timeout=10, allow_redirects=False,
                       data={"csrf_token": csrf_of(search.text), "bhxh": world.username,
                             "reason": "Mất điện thoại và SIM, có CCCD"})
    assert found.status_code == 303
    page = clerk.get(f"{world.base}{found.headers['Location']}", timeout=10)
    assert "Điện thoại bị mất" in page.text and "+84 9** *** *23" in page.text
    ticket = re.search(r'name="ticket" value="([^"]+)"', page.text).group(1)
    url = f"{world.base}/staff/accounts/{account_id}/change-phone"
    form = {"csrf_token": csrf_of(page.text), "ticket": ticket,
            "reason": "Mất SIM, đổi số tại quầy", "phone": NEW_PHONE}

    wrong = clerk.post(url, timeout=10, data={**form, "cccd": "001085012346"})
    assert wrong.status_code == 400 and codes_on(wrong.text) == ["cccd_mismatch"]
    assert 'id="change_phone-error"' in wrong.text and NEW_PHONE in wrong.text  # kept

    done = clerk.post(url, timeout=10, allow_redirects=False, data={**form, "cccd": CCCD})
    assert done.status_code == 303, done.text
    shown = clerk.get(f"{world.base}{done.headers['Location']}", timeout=10)
    assert codes_on(shown.text) == ["staff_done_phone_changed"]
    assert "+84 9** *** *11" in shown.text and "Điện thoại bị mất" not in shown.text

    # The lost phone is signed out, and its owner's old SIM got the notice.
    refused = expect_challenge(lost.refresh)
    assert refused.error == "invalid_grant" and refused.reason == "phone_changed"
    notices = [m for m in world.sms() if m["template"] == "phone_changed"]
    assert [m["to"] for m in notices] == [OLD_E164]
    # The code in the old SIM's inbox completes nothing.
    stale = _complete(world, stale_recovery, stale_code)
    assert stale.status_code == 400 and stale.json()["error"] == "otp_invalid"
    # The old number no longer receives codes; the new one does.
    before = len(world.sms())
    _recovery(world, "0912345623")
    assert [m for m in world.sms()[before:] if m["template"] == "otp"] == []
    fresh = _recovery(world, NEW_PHONE)
    [otp_sms] = [m for m in world.sms()[before:] if m["template"] == "otp"]
    assert otp_sms["to"] == NEW_E164
    assert _complete(world, fresh, world.last_otp()).status_code == 204

    with world.app.app_context():
        records = AuditRecord.query.order_by(AuditRecord.seq).all()
        assert [r.action for r in records] == ["staff.created", "account.viewed",
                                               "account.phone_changed"]
        assert records[-1].changes == {"phone": ["+84 9** *** *23", "+84 9** *** *11"]}
        assert audit.verify() == (3, None)
        db.session.remove()
