"""Sign-out confirmation, the error page that never redirects to an unverified address, and
the English switch on pages other than the login page, in a real browser."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import pytest

from gateway.extensions import db
from gateway.i18n import MESSAGES
from tests.helpers import authorize_params, exchange, get_code, new_account, new_client, random_bhxh
from tests.helpers.browser import shot, submit

pytestmark = pytest.mark.browser
VI, EN = MESSAGES["vi"], MESSAGES["en"]


def test_logout_without_hint_asks_first(page, site):
    page.goto(site.other_authorize_url())
    page.wait_for_url(f"{site.base}/login?flow=*")
    page.fill("#username", site.username)
    page.fill("#password", site.password)
    assert submit(page) == 302
    site.landed_at_other(page)

    # A registered post_logout_redirect_uri but no id_token_hint: ask, and never redirect.
    query = urlencode({"client_id": "demo-portal",
                       "post_logout_redirect_uri": f"{site.base}/demo/", "state": "bye"})
    page.goto(f"{site.base}/logout?{query}")
    assert page.locator("h1").inner_text() == VI["logout_title"]
    assert "Bạn có muốn đăng xuất" in page.locator("main").inner_text()
    shot(page, "logout-confirm")

    # Not signed out yet: single sign-on still answers with a code.
    page.goto(site.other_authorize_url())
    assert site.landed_at_other(page)["code"]
    page.goto(f"{site.base}/logout?{query}")

    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name=VI["logout_submit"]).click()
    page.wait_for_load_state()
    assert posted.value.status == 200
    assert page.url == f"{site.base}/logout"
    assert page.locator("#logged-out").inner_text() == "Bạn đã đăng xuất."
    shot(page, "logged-out")

    page.goto(site.other_authorize_url())
    page.wait_for_url(f"{site.base}/login?flow=*")
    assert page.locator("h1").inner_text() == VI["login_title"]


def _strangers_id_token(site, post_logout_redirect_uri: str) -> str:
    """Another person signs in to a portal of their own, in another browser (a test client of
    the served app), and holds a genuine ID token: the attacker's own, in the issue."""
    with site.app.app_context():
        username = random_bhxh()
        new_account(bhxh=username, phone="0912345699")
        client_id, secret = new_client(post_logout_redirect_uris=(post_logout_redirect_uri,))
        elsewhere = site.app.test_client()
        result, verifier, _ = get_code(elsewhere, client_id, username=username)
        issued = exchange(elsewhere, client_id, secret, result["code"], verifier).json
        db.session.remove()
    return issued["id_token"]


def test_logout_with_someone_elses_id_token_asks_first(page, site):
    bye = site.other_redirect.rsplit("/", 1)[0] + "/bye"
    hint = _strangers_id_token(site, bye)
    page.goto(site.other_authorize_url())
    page.wait_for_url(f"{site.base}/login?flow=*")
    page.fill("#username", site.username)
    page.fill("#password", site.password)
    assert submit(page) == 302
    site.landed_at_other(page)

    # A link carrying a valid ID token of another person: a question, never a silent sign-out.
    query = urlencode({"id_token_hint": hint, "post_logout_redirect_uri": bye, "state": "bye"})
    response = page.goto(f"{site.base}/logout?{query}")
    assert response.status == 200 and page.url == f"{site.base}/logout?{query}"
    assert page.locator("h1").inner_text() == VI["logout_title"]
    assert page.locator("#logout-mismatch").inner_text() == VI["logout_hint_mismatch"]
    assert "không khớp với phiên đăng nhập" in page.locator("main").inner_text()
    assert page.get_by_role("button", name=VI["logout_submit"]).is_visible()
    shot(page, "logout-mismatch-vi")

    # Nothing ended: single sign-on still answers with a code.
    page.goto(site.other_authorize_url())
    assert site.landed_at_other(page)["code"]

    # In English too.
    page.goto(f"{site.base}/logout?{query}&lang=en")
    assert page.locator("#logout-mismatch").inner_text() == EN["logout_hint_mismatch"]
    shot(page, "logout-mismatch-en")

    # The person confirms: signed out here, and back to the hint's registered address.
    page.goto(f"{site.base}/logout?{query}&lang=vi")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name=VI["logout_submit"]).click()
    assert posted.value.status == 302
    page.wait_for_url(f"{bye}?state=bye")
    page.goto(site.other_authorize_url())
    page.wait_for_url(f"{site.base}/login?flow=*")


def test_unregistered_redirect_uri_gets_an_error_page(page, site):
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    wrong = f"{site.other_redirect}-not-registered"
    params = authorize_params(site.other_client_id, secrets.token_urlsafe(48),
                              redirect_uri=wrong, scope="openid", state="st")
    url = f"{site.base}/authorize?{urlencode(params)}"
    response = page.goto(url)
    assert response.status == 400
    assert page.url == url  # stayed on the gateway: no redirect, no navigation
    assert page.locator("h1").inner_text() == "Không thể tiếp tục"
    assert page.locator("p.error").inner_text() == VI["invalid_redirect_uri"]
    assert page.locator("p.code").inner_text().startswith("invalid_request")
    shot(page, "error-vi")

    with page.expect_response(lambda r: "lang=en" in r.url) as switched:
        page.click("a.lang")
    page.wait_for_load_state()
    assert switched.value.status == 400
    assert page.url.startswith(f"{site.base}/authorize?") and "lang=en" in page.url
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == EN["error_title"]
    assert page.locator("p.error").inner_text() == EN["invalid_redirect_uri"]
    shot(page, "error-en")
    assert all(u.startswith(site.base) for u in requested), requested


def test_recovery_pages_in_english(page, site, browser):
    # A relying party's ui_locales=en reaches the login page, whose link leads on in English.
    fresh = browser.new_context(locale="vi-VN")
    try:
        other = fresh.new_page()
        other.goto(site.other_authorize_url(ui_locales="fr en"))
        other.wait_for_url(f"{site.base}/login?flow=*")
        assert other.locator("html").get_attribute("lang") == "en"
        assert other.locator("h1").inner_text() == EN["login_title"]
        other.click("#forgot")
        other.wait_for_url(f"{site.base}/recover")
        assert other.locator("h1").inner_text() == EN["recover_title"]
    finally:
        fresh.close()

    # In this browser, the switch on the recovery page itself.
    page.goto(f"{site.base}/recover")
    assert page.locator("html").get_attribute("lang") == "vi"
    page.click("a.lang")
    page.wait_for_url(f"{site.base}/recover?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == EN["recover_title"]
    assert page.locator("label[for=username]").inner_text() == EN["username_label"]
    assert page.locator("label[for=phone]").inner_text() == EN["phone_label"]
    assert page.locator("button[type=submit]").inner_text() == EN["recover_submit"]
    shot(page, "recover-en")

    # The choice is remembered for the next page (the form itself carries no language).
    page.fill("#username", site.username)
    page.fill("#phone", "0912345623")
    assert submit(page) == 302
    page.wait_for_url(f"{site.base}/recover/verify?**")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#otp-sent").inner_text() == EN["otp_sent_if_match"].format(
        phone="+84 9** *** *23")
    assert page.locator("label[for=otp]").inner_text() == EN["otp_label"]
