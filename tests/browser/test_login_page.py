"""The login page as a person sees it: Vietnamese first, English on request, one generic
error for a wrong password and for an unknown account."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.i18n import MESSAGES
from tests.conftest import random_bhxh

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots to look at; gitignored


def _sign_in(page, username, password) -> int:
    """Submits the form; returns the status of the POST (waited for, so no stale page)."""
    page.fill("#username", username)
    page.fill("#password", password)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.click("button[type=submit]")
    page.wait_for_load_state()
    return posted.value.status


def test_login_page_languages_and_generic_error(page, site):
    page.goto(site.other_authorize_url())
    assert page.url.startswith(f"{site.base}/login?flow=")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("label[for=username]").inner_text() == "Mã số BHXH"
    assert page.locator("label[for=password]").inner_text() == "Mật khẩu"
    assert page.locator("h1").inner_text() == "Đăng nhập"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "login-vi.png"), full_page=True)

    page.click("a.lang")
    assert "lang=en" in page.url and "flow=" in page.url
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("label[for=username]").inner_text() == "Social insurance number"
    assert page.locator("label[for=password]").inner_text() == "Password"
    page.screenshot(path=str(ARTIFACTS / "login-en.png"), full_page=True)

    generic = MESSAGES["en"]["invalid_credentials"]
    assert _sign_in(page, site.username, site.password + "-wrong") == 401
    wrong_password = page.locator("#login-error").inner_text()
    assert page.locator("#username").input_value() == site.username
    assert _sign_in(page, random_bhxh(), site.password) == 401
    unknown_account = page.locator("#login-error").inner_text()
    assert wrong_password == unknown_account == generic
    page.screenshot(path=str(ARTIFACTS / "login-error-en.png"), full_page=True)

    # The form still works after the errors: the right password signs in.
    assert _sign_in(page, site.username, site.password) == 302
    code = site.landed_at_other(page)
    assert code["iss"] == site.base and code["code"]
