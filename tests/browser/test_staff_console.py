"""The staff console in a real browser (Debian's Chromium): the clerk signs in with a TOTP
code, changes a person's phone number at the counter, and the supervisor reads and checks the
audit trail."""

from __future__ import annotations

import pytest

from gateway.extensions import db
from gateway.i18n import MESSAGES
from gateway.services.staff import find_by_username
from tests.helpers import new_account
from tests.helpers.browser import shot, submit
from tests.helpers.network import free_port, serve
from tests.helpers.staff import STAFF_PASSWORD, code_at, new_staff

pytestmark = pytest.mark.browser
VI, EN = MESSAGES["vi"], MESSAGES["en"]
CCCD = "001085012345"


@pytest.fixture
def counter(make_app):
    """A served gateway with a clerk, a supervisor and one person's account; yields
    (base URL, a function giving a staff member's current TOTP code)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(ISSUER=base)
    with app.app_context():
        new_staff("clerk.an", role="office_staff")
        new_staff("boss.chi", role="supervisor", office=None)
        new_account(cccd=CCCD, sex="male", phone="0912345623")
        db.session.remove()

    def code(username: str, offset: int = 0) -> str:
        with app.app_context():
            value = code_at(find_by_username(username), offset)
            db.session.remove()
            return value

    with serve(app, port):
        yield base, code


def _sign_in(page, base, username, code, password=STAFF_PASSWORD) -> int:
    page.goto(f"{base}/staff/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#totp", code)
    return submit(page)


def test_console_sign_in(page, counter):
    base, code = counter
    page.goto(f"{base}/staff/")
    page.wait_for_url(f"{base}/staff/login")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").inner_text() == VI["staff_login_title"]
    assert page.locator("label[for=totp]").inner_text() == VI["staff_totp_label"]
    shot(page, "staff-login-vi")

    wrong = "000000" if code("clerk.an") != "000000" else "111111"
    assert _sign_in(page, base, "clerk.an", wrong) == 401
    assert page.locator("#login-error").inner_text() == VI["staff_invalid_credentials"]
    assert page.locator("#username").input_value() == "clerk.an"
    shot(page, "staff-login-refused")

    page.click("a.lang")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == EN["staff_login_title"]

    assert _sign_in(page, base, "clerk.an", code("clerk.an")) == 302
    page.wait_for_url(f"{base}/staff/")
    assert page.locator("#home-username").inner_text() == "clerk.an"
    assert page.locator("#nav-accounts").is_visible()
    assert page.locator("#nav-audit").count() == 0
    cookies = {c["name"]: c for c in page.context.cookies()}
    staff_cookie = cookies["vssid_staff"]
    assert (staff_cookie["path"], staff_cookie["httpOnly"], staff_cookie["sameSite"]) == (
        "/staff", True, "Strict")
    assert "vssid_sso" not in cookies and "vssid_ui" not in cookies
    assert page.evaluate("document.cookie").find("vssid_staff") == -1  # HttpOnly
    shot(page, "staff-home")

    submit(page, "#sign-out")
    page.wait_for_url(f"{base}/staff/login?why=signed_out")
    assert page.locator("#login-notice").get_attribute("data-code") == "staff_signed_out"
    page.goto(f"{base}/staff/")
    page.wait_for_url(f"{base}/staff/login")


def test_phone_change_at_the_counter(page, counter):
    base, code = counter
    assert _sign_in(page, base, "clerk.an", code("clerk.an")) == 302
    page.click("#nav-accounts")
    page.wait_for_url(f"{base}/staff/accounts")
    page.fill("#bhxh", "0123456789")
    page.fill("#reason", "Người dân mất SIM, có mặt tại quầy")
    assert submit(page, "#look-up") == 303
    page.wait_for_url(f"{base}/staff/accounts/*")
    assert page.locator("#account-name").inner_text() == "Nguyễn Văn An"
    assert page.locator("#account-bhxh").inner_text() == "******6789"
    assert page.locator("#account-cccd").inner_text() == "********2345"
    assert page.locator("#account-phone").inner_text() == "+84 9** *** *23"
    shot(page, "staff-account")

    section = page.locator("#section-change-phone")
    section.locator("#change_phone-reason").fill("Mất SIM, đổi số tại quầy")
    section.locator("#cccd").fill("001085012346")
    section.locator("#phone").fill("0987 000 111")
    assert submit(page, "#change-phone") == 400
    assert page.locator("#change_phone-error").inner_text() == VI["cccd_mismatch"]
    assert section.locator("#phone").input_value() == "0987 000 111"
    shot(page, "staff-phone-refused")

    section.locator("#cccd").fill(CCCD)
    assert submit(page, "#change-phone") == 303
    page.wait_for_url(f"{base}/staff/accounts/*done=phone_changed*")
    assert page.locator("#done").inner_text() == VI["staff_done_phone_changed"]
    assert page.locator("#account-phone").inner_text() == "+84 9** *** *11"
    shot(page, "staff-phone-changed")


def test_the_audit_page(page, counter, context):
    base, code = counter
    assert _sign_in(page, base, "clerk.an", code("clerk.an")) == 302
    page.goto(f"{base}/staff/accounts")
    page.fill("#bhxh", "0123456789")
    page.fill("#reason", "Người dân hỏi về thiết bị")
    assert submit(page, "#look-up") == 303
    page.goto(f"{base}/staff/audit")
    assert page.locator("#message").get_attribute("data-code") == "staff_forbidden"
    context.clear_cookies()

    assert _sign_in(page, base, "boss.chi", code("boss.chi")) == 302
    page.click("#nav-audit")
    page.wait_for_url(f"{base}/staff/audit")
    rows = page.locator("#audit-records tbody tr")
    assert rows.count() == 3
    assert rows.first.get_attribute("data-action") == "account.viewed"
    assert "Người dân hỏi về thiết bị" in rows.first.inner_text()
    assert "clerk.an" in rows.first.inner_text() and "BHXH-001" in rows.first.inner_text()

    page.fill("#filter-action", "staff.created")
    page.click("#filter")
    page.wait_for_url(f"{base}/staff/audit?**action=staff.created**")
    assert rows.count() == 2

    assert submit(page, "#verify-chain") == 200
    result = page.locator("#verify-result")
    assert result.get_attribute("data-code") == "chain_intact"
    assert result.inner_text() == VI["staff_chain_intact"].format(checked=3)
    shot(page, "staff-audit")
