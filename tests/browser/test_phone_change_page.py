"""Changing one's own registered phone in Chromium, through the offline VNeID sandbox: a
password sign-in is refused and offered VNeID; the sandbox's level-2 citizen signs in and
comes back to the page; a bad number is refused; the code sent to the new number moves the
phone and signs the person out everywhere."""

from __future__ import annotations

import pytest

from gateway.extensions import db
from gateway.i18n import MESSAGES
from gateway.models import Account
from tests.helpers import PASSWORD
from tests.helpers.browser import shot, submit
from tests.helpers.sms import last_otp, sms_sent
from tests.helpers.vneid import ACCOUNTS, AN

pytestmark = pytest.mark.browser
VI, EN = MESSAGES["vi"], MESSAGES["en"]


def test_a_level2_vneid_sign_in_changes_the_phone(page, vneid_site):
    site = vneid_site
    page.goto(site.authorize_url())
    page.fill("#username", ACCOUNTS[AN]["bhxh"])
    page.fill("#password", PASSWORD)
    submit(page)
    site.landed(page)

    page.goto(f"{site.base}/account/phone")
    assert page.locator("h1").inner_text() == VI["phone_change_title"]
    assert page.locator("#phone-refused").get_attribute("data-code") == \
        "phone_change_needs_vneid"
    assert page.locator("#phone-refused").inner_text() == VI["phone_change_needs_vneid"]
    assert page.locator("#phone-form").count() == 0
    shot(page, "phone-change-password-refused")

    page.click("#vneid")
    page.wait_for_url(f"{site.base}/sandbox/vneid/authorize?**")
    page.click(f"tr[data-tech-id='{AN}'] button")
    page.wait_for_url(f"{site.base}/account/phone")
    assert page.locator("#phone-refused").count() == 0
    assert page.locator("#current-phone").inner_text() == "+84 9** *** *23"
    shot(page, "phone-change-form")

    page.fill("#phone", "024 3825 1234")
    assert submit(page) == 400
    assert page.locator("#phone-error").inner_text() == VI["phone_not_mobile"]

    page.fill("#phone", "0987 000 111")
    assert submit(page) == 303
    page.wait_for_url(f"{site.base}/account/phone/verify?flow=**")
    assert page.locator("#otp-sent").inner_text() == VI["phone_change_otp_sent"].format(
        phone="+84 9** *** *11")
    shot(page, "phone-change-otp")
    page.click("a.lang")
    assert page.locator("h1").inner_text() == EN["phone_change_otp_title"]
    page.fill("#otp", last_otp(site.app))
    assert submit(page, "#otp-form button[type=submit]") == 200
    assert page.locator("#message").get_attribute("data-code") == "phone_change_done"
    assert page.locator("#message").inner_text() == EN["phone_change_done"]
    shot(page, "phone-change-done")

    with site.app.app_context():
        assert Account.query.filter_by(bhxh=ACCOUNTS[AN]["bhxh"]).one().phone == \
            "+84987000111"
        db.session.remove()
    notices = [m["to"] for m in sms_sent(site.app) if m["template"] == "phone_changed"]
    assert notices == ["+84912345623"]
    page.goto(f"{site.base}/account/phone")
    assert page.locator("#message").get_attribute("data-code") == "sign_in_first"
