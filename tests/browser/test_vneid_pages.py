"""Signing in with VNeID as a person does it in Chromium: the login page's button, the offline
sandbox's page of citizens, the proof pages, the plain pages that end a sign-in, and the
app's sign-in in the system browser with the one-device warning."""

from __future__ import annotations

import pytest

from examples.vssid_app_client import AppClient
from gateway.models import VneidLink
from tests.helpers import PASSWORD
from tests.helpers.browser import shot, submit
from tests.helpers.sms import last_otp
from tests.helpers.vneid import AN, BINH, CUONG, EM, ORGANISATION

pytestmark = pytest.mark.browser


def _to_sandbox(page, site, **extra):
    page.goto(site.authorize_url(**extra))
    assert page.url.startswith(f"{site.base}/login?flow=")
    assert page.locator("#vneid").inner_text() == "Đăng nhập bằng VNeID"
    page.click("#vneid")
    page.wait_for_url(f"{site.base}/sandbox/vneid/authorize?**")
    assert page.locator("#sandbox-notice").is_visible()


def _choose(page, tech_id):
    page.click(f"tr[data-tech-id='{tech_id}'] button")
    page.wait_for_load_state()


def test_a_verified_citizen_is_linked_and_lands_at_the_service(page, vneid_site):
    page.goto(vneid_site.authorize_url())
    shot(page, "vneid-login-button")
    _to_sandbox(page, vneid_site)
    assert page.locator("tr[data-tech-id]").count() == 6
    assert "Nguyễn Văn An" in page.locator(f"tr[data-tech-id='{AN}']").inner_text()
    shot(page, "vneid-sandbox-citizens")
    _choose(page, AN)
    query = vneid_site.landed(page)
    assert query["code"] and query["iss"] == vneid_site.base
    with vneid_site.app.app_context():
        assert VneidLink.query.one().subject == AN


def test_the_proof_pages(page, vneid_site):
    _to_sandbox(page, vneid_site)
    _choose(page, BINH)
    page.wait_for_url(f"{vneid_site.base}/vneid/prove?flow=**")
    assert page.locator("h1").inner_text() == "Xác nhận tài khoản VssID"
    assert "******5678" in page.locator("#intro").inner_text()
    shot(page, "vneid-prove")
    page.fill("#password", PASSWORD + "-sai")
    assert submit(page) == 401
    assert page.locator("#prove-error").inner_text() == "Mật khẩu không đúng."
    page.fill("#password", PASSWORD)
    assert submit(page) == 303
    page.wait_for_url(f"{vneid_site.base}/vneid/prove/otp?flow=**")
    assert "+84 9** *** *21" in page.locator("#otp-sent").inner_text()
    shot(page, "vneid-prove-otp")
    page.fill("#otp", last_otp(vneid_site.app))
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.click("#otp-form button[type=submit]")
    assert vneid_site.landed(page)["code"]


@pytest.mark.parametrize(("tech_id", "title_vi", "title_en", "code"), [
    (CUONG, "Đang chờ cán bộ BHXH xem xét", "Waiting for BHXH staff",
     "review:birthdate_mismatch"),
    (EM, "Chưa có tài khoản VssID", "No VssID account yet", "declare:not_in_register"),
    (ORGANISATION, "Tài khoản tổ chức", "An organisation's account", "refuse:not_a_citizen"),
])
def test_the_pages_that_end_a_sign_in(page, vneid_site, tech_id, title_vi, title_en, code):
    _to_sandbox(page, vneid_site)
    _choose(page, tech_id)
    assert page.locator("h1").inner_text() == title_vi
    assert page.locator("#message").get_attribute("data-code") == code
    shot(page, f"vneid-{code.split(':')[0]}-vi")
    page.click("a.lang")
    assert page.locator("h1").inner_text() == title_en
    shot(page, f"vneid-{code.split(':')[0]}-en")
    page.click("#back-to-login")
    assert page.url.startswith(f"{vneid_site.base}/login?flow=")


def test_cancelling_at_vneid_says_so_and_changes_nothing(page, vneid_site):
    _to_sandbox(page, vneid_site)
    page.click("#cancel")
    page.wait_for_load_state()
    assert page.locator("#message").get_attribute("data-code") == "vneid_cancelled"
    shot(page, "vneid-cancelled")
    with vneid_site.app.app_context():
        assert VneidLink.query.count() == 0


def test_the_app_in_the_system_browser_with_another_device_active(page, vneid_site):
    old = AppClient(vneid_site.base, vneid_site.app_id, device_id="old-phone-0001",
                    device_name="Điện thoại cũ")
    old.sign_in("0123456789", PASSWORD)
    new = AppClient(vneid_site.base, vneid_site.app_id, device_id="new-phone-0002",
                    device_name="Điện thoại mới")
    page.goto(new.vneid_authorization_url(vneid_site.app_redirect))
    page.wait_for_url(f"{vneid_site.base}/sandbox/vneid/authorize?**")  # no login page
    _choose(page, AN)
    page.wait_for_url(f"{vneid_site.base}/vneid/device?flow=**")
    assert "Điện thoại cũ" in page.locator("#warning").inner_text()
    shot(page, "vneid-app-device-warning")
    assert submit(page) == 303
    page.wait_for_url(f"{vneid_site.base}/vneid/device/otp?flow=**")
    page.fill("#otp", last_otp(vneid_site.app))
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.click("#otp-form button[type=submit]")
    page.wait_for_url(f"{vneid_site.app_redirect}?**")
    tokens = new.finish_vneid(page.url)
    assert tokens.token_type == "DPoP"
