"""The demo relying party in a real browser: sign in with VssID, see the ID token claims and
userinfo, single sign-on into a second party without the login page, then sign out."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser


def test_demo_sign_in_sso_and_logout(page, site):
    page.goto(f"{site.base}/demo/")
    page.get_by_role("link", name="Đăng nhập bằng VssID").click()
    page.wait_for_url(f"{site.base}/login?flow=*")
    page.fill("#username", site.username)
    page.fill("#password", site.password)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{site.base}/demo/")

    claims = json.loads(page.locator("#id-token-claims").inner_text())
    assert claims["sub"] == site.sub
    assert claims["aud"] == "demo-portal" and claims["iss"] == site.base
    assert claims["nonce"] and claims["sid"] and claims["amr"] == ["pwd"]
    userinfo = json.loads(page.locator("#userinfo").inner_text())
    assert userinfo["sub"] == site.sub and userinfo["name"] == site.name

    # Single sign-on: a second party's request is answered with a code at once.
    pages_seen = []
    page.on("request", lambda r: pages_seen.append(r.url))
    state_sent = "sso-state"
    page.goto(site.other_authorize_url(state=state_sent))
    code = site.landed_at_other(page)
    assert code["code"] and code["state"] == state_sent and code["iss"] == site.base
    assert not [u for u in pages_seen if u.startswith(f"{site.base}/login")], pages_seen

    # Demo sign-out: RP-initiated logout with the ID token, back to the demo page.
    page.goto(f"{site.base}/demo/")
    with page.expect_request(lambda r: r.url.startswith(f"{site.base}/logout?")) as logout:
        page.get_by_role("link", name="Đăng xuất").click()
    assert "id_token_hint=" in logout.value.url
    page.get_by_role("link", name="Đăng nhập bằng VssID").wait_for()
    assert page.url == f"{site.base}/demo/"
    assert page.locator("#id-token-claims").count() == 0

    # The SSO session is over: the second party now gets the login page.
    page.goto(site.other_authorize_url())
    page.wait_for_url(f"{site.base}/login?flow=*")
