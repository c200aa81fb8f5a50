"""The login page as a person sees it: Vietnamese first, English on request, one generic
error for a wrong password and for an unknown account."""

from __future__ import annotations

import pytest

from gateway.i18n import MESSAGES
from tests.helpers import random_bhxh
from tests.helpers.browser import shot, submit

pytestmark = pytest.mark.browser


def _sign_in(page, username, password) -> int:
    """Submits the form; returns the status of the POST (waited for, so no stale page)."""
    page.fill("#username", username)
    page.fill("#password", password)
    return submit(page)


def test_login_page_languages_and_generic_error(page, site):
    page.goto(site.other_authorize_url())
    assert page.url.startswith(f"{site.base}/login?flow=")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("label[for=username]").inner_text() == "Mã số BHXH"
    assert page.locator("label[for=password]").inner_text() == "Mật khẩu"
    assert page.locator("h1").inner_text() == "Đăng nhập"
    shot(page, "login-vi")

    page.click("a.lang")
    assert "lang=en" in page.url and "flow=" in page.url
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("label[for=username]").inner_text() == "Social insurance number"
    assert page.locator("label[for=password]").inner_text() == "Password"
    shot(page, "login-en")

    generic = MESSAGES["en"]["invalid_credentials"]
    assert _sign_in(page, site.username, site.password + "-wrong") == 401
    wrong_password = page.locator("#login-error").inner_text()
    assert page.locator("#username").input_value() == site.username
    assert _sign_in(page, random_bhxh(), site.password) == 401
    unknown_account = page.locator("#login-error").inner_text()
    assert wrong_password == unknown_account == generic
    shot(page, "login-error-en")

    # The form still works after the errors: the right password signs in.
    assert _sign_in(page, site.username, site.password) == 302
    code = site.landed_at_other(page)
    assert code["iss"] == site.base and code["code"]
