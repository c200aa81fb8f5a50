"""Forgot password in a real browser: from the login page's link to a new password set with
the SMS code, and the very same answer for an account that does not exist."""

from __future__ import annotations

import pytest

from gateway.i18n import MESSAGES
from tests.helpers import random_bhxh
from tests.helpers.browser import shot, submit
from tests.helpers.sms import last_otp

pytestmark = pytest.mark.browser
PHONE = "0912345623"  # tests.helpers.new_account's registered phone
NEW = "Bây giờ là mật khẩu mới 42"
VI, EN = MESSAGES["vi"], MESSAGES["en"]


def _ask_for_code(page, base: str, username: str, phone: str) -> str:
    """Fills the recovery form; returns the text of the page that follows."""
    page.fill("#username", username)
    page.fill("#phone", phone)
    assert submit(page) == 302
    page.wait_for_url(f"{base}/recover/verify?**")
    return page.locator("main").inner_text()


def test_forgot_password_from_the_login_page(page, site, make_app):
    twin = make_app(ISSUER=site.base)  # same database and store as the served app
    page.goto(site.other_authorize_url())
    page.wait_for_url(f"{site.base}/login?flow=*")
    forgot = page.locator("#forgot")
    assert forgot.inner_text() == "Quên mật khẩu?"
    forgot.click()
    page.wait_for_url(f"{site.base}/recover")
    assert page.locator("h1").inner_text() == VI["recover_title"]
    assert page.locator("label[for=phone]").inner_text() == VI["phone_label"]
    shot(page, "recover")

    known = _ask_for_code(page, site.base, site.username, PHONE)
    sent = page.locator("#otp-sent").inner_text()
    assert "+84 9** *** *23" in sent
    assert sent == VI["otp_sent_if_match"].format(phone="+84 9** *** *23")
    shot(page, "recover-verify")

    code = last_otp(twin)
    page.fill("#otp", code)
    page.fill("#new_password", NEW)
    page.fill("#confirm_password", NEW)
    assert submit(page) == 200
    message = page.locator("#message")
    assert message.get_attribute("data-code") == "password_reset_done"
    assert message.inner_text() == VI["password_reset_done"]
    shot(page, "recover-done")

    # The new password signs in.
    page.goto(site.other_authorize_url(state="after-reset"))
    page.wait_for_url(f"{site.base}/login?flow=*")
    page.fill("#username", site.username)
    page.fill("#password", NEW)
    assert submit(page) == 302
    landed = site.landed_at_other(page)
    assert landed["code"] and landed["state"] == "after-reset"

    # An account that does not exist gets the very same next page, and a code for it fails
    # like a wrong code.
    page.goto(f"{site.base}/recover")
    assert _ask_for_code(page, site.base, random_bhxh(), PHONE) == known
    recovery_id = page.locator("input[name=id]").input_value()
    page.fill("#otp", "123456")
    page.fill("#new_password", NEW)
    page.fill("#confirm_password", NEW)
    assert submit(page) == 400
    assert page.locator("p.error").get_attribute("data-code") == "otp_invalid"
    assert page.locator("p.error").inner_text() == VI["otp_invalid"]
    shot(page, "recover-verify-error")

    # The language switch on the re-rendered page keeps the recovery and the number.
    page.click("a.lang")
    page.wait_for_url(f"{site.base}/recover/verify?**lang=en*")
    assert page.locator("#otp-sent").inner_text() == EN["otp_sent_if_match"].format(
        phone="+84 9** *** *23")
    assert page.locator("input[name=id]").input_value() == recovery_id

    # The number shown is the one typed, masked the same way (English is remembered now).
    page.goto(f"{site.base}/recover")
    _ask_for_code(page, site.base, random_bhxh(), "0987654321")
    assert page.locator("#otp-sent").inner_text() == EN["otp_sent_if_match"].format(
        phone="+84 9** *** *21")
