"""Password pages in a real browser: the forced change after an issued or expired password,
the self-service change, and "sign out of every device"."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode

import pytest

from gateway.crypto.password_hashing import verify_password
from gateway.extensions import db
from gateway.i18n import MESSAGES
from gateway.models import Account
from gateway.services.clients import create_client
from tests.helpers import PASSWORD, authorize_params, new_account, random_bhxh
from tests.helpers.browser import shot, submit
from tests.helpers.network import free_port, serve

pytestmark = pytest.mark.browser
NEW = "Một mật khẩu mới rất dài 7"
VI = MESSAGES["vi"]


def _sign_in(page, base: str, username: str, password: str) -> int:
    page.wait_for_url(f"{base}/login?flow=*")
    page.fill("#username", username)
    page.fill("#password", password)
    return submit(page)


def _fill_change(page, new: str, current: str | None = PASSWORD, confirm: str | None = None):
    if current is not None:
        page.fill("#current_password", current)
    page.fill("#new_password", new)
    page.fill("#confirm_password", new if confirm is None else confirm)


def _twin(make_app, base: str):
    """An app over the same database and store as the served one, for setting up data."""
    return make_app(ISSUER=base)


def test_issued_password_is_changed_before_the_code(page, site, make_app):
    username = random_bhxh()
    with _twin(make_app, site.base).app_context():
        new_account(bhxh=username, must_change_password=True)
        db.session.remove()

    page.goto(site.other_authorize_url(state="issued"))
    assert _sign_in(page, site.base, username, PASSWORD) == 302
    page.wait_for_url(f"{site.base}/login/password?flow=*")
    assert page.locator("html").get_attribute("lang") == "vi"
    assert page.locator("h1").inner_text() == VI["change_title"]
    assert page.locator("#why").inner_text() == VI["change_must_change"]
    assert "Mật khẩu của bạn do hệ thống cấp" in VI["change_must_change"]
    assert page.locator("label[for=new_password]").inner_text() == VI["new_password_label"]
    shot(page, "change-issued")

    # A new password containing the social-insurance number is refused, the rule named.
    _fill_change(page, f"Mới-{username}-dài")
    assert submit(page) == 400
    error = page.locator("p.error[data-code=contains_personal_data]")
    assert error.inner_text() == VI["contains_personal_data"]
    assert page.locator("p.error").count() == 1
    assert page.url.startswith(f"{site.base}/login/password")
    shot(page, "change-issued-rejected")

    # The language switch on the re-rendered form keeps the sign-in going.
    page.click("a.lang")
    page.wait_for_url(f"{site.base}/login/password?**lang=en*")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("#why").inner_text() == MESSAGES["en"]["change_must_change"]

    _fill_change(page, NEW)
    assert submit(page) == 302
    landed = site.landed_at_other(page)
    assert landed["code"] and landed["state"] == "issued" and landed["iss"] == site.base


@pytest.fixture
def aged(make_app, clock):
    """A served gateway on a FixedClock with one account and a web client; yields
    (base, username, authorize URL maker, landing URL, clock)."""
    with serve(_ok) as other_base:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        redirect_uri = f"{other_base}/callback"
        app = make_app(clock=clock, ISSUER=base)
        with app.app_context():
            username = random_bhxh()
            new_account(bhxh=username)
            client, _ = create_client(name="Cổng có đồng hồ", type="web",
                                      redirect_uris=[redirect_uri])
            db.session.commit()
            client_id = client.client_id
            db.session.remove()

        def authorize_url(**extra):
            params = authorize_params(client_id, secrets.token_urlsafe(48),
                                      redirect_uri=redirect_uri, scope="openid", **extra)
            return f"{base}/authorize?{urlencode(params)}"

        with serve(app, port):
            yield base, username, authorize_url, redirect_uri


def _ok(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def test_expired_password_is_changed_before_the_code(page, aged, clock):
    base, username, authorize_url, redirect_uri = aged
    clock.advance(days=181)

    page.goto(authorize_url(state="aged"))
    assert _sign_in(page, base, username, PASSWORD) == 302
    page.wait_for_url(f"{base}/login/password?flow=*")
    assert page.locator("#why").inner_text() == VI["change_expired"]
    assert "Mật khẩu đã quá 6 tháng" in VI["change_expired"]
    shot(page, "change-expired")

    _fill_change(page, NEW)
    assert submit(page) == 302
    page.wait_for_url(f"{redirect_uri}?**")
    assert "code=" in page.url and "state=aged" in page.url


def test_self_service_change_keeps_this_session(page, site, make_app):
    first = page.goto(f"{site.base}/account/password")
    assert first.status == 401
    assert page.locator("#message").get_attribute("data-code") == "sign_in_first"

    page.goto(site.other_authorize_url())
    assert _sign_in(page, site.base, site.username, site.password) == 302
    site.landed_at_other(page)

    page.goto(f"{site.base}/account/password")
    assert page.locator("h1").inner_text() == VI["change_title"]
    _fill_change(page, NEW, current=site.password, confirm=NEW + "!")
    assert submit(page) == 400
    assert page.locator("p.error").get_attribute("data-code") == "password_mismatch"
    assert page.locator("p.error").inner_text() == VI["password_mismatch"]
    shot(page, "account-password-mismatch")

    _fill_change(page, NEW, current=site.password)
    assert submit(page) == 200
    message = page.locator("#message")
    assert message.get_attribute("data-code") == "password_changed_done"
    assert message.inner_text() == VI["password_changed_done"]
    shot(page, "account-password-done")

    # This browser's session survives the change: single sign-on, no login page.
    seen = []
    page.on("request", lambda r: seen.append(r.url))
    page.goto(site.other_authorize_url())
    assert site.landed_at_other(page)["code"]
    assert not [u for u in seen if u.startswith(f"{site.base}/login")], seen

    # The new password is the one stored now.
    with _twin(make_app, site.base).app_context():
        account = Account.query.filter_by(bhxh=site.username).one()
        assert verify_password(account.password_hash, NEW).ok
        db.session.remove()


def test_sign_out_everywhere(page, site):
    page.goto(site.other_authorize_url())
    assert _sign_in(page, site.base, site.username, site.password) == 302
    site.landed_at_other(page)

    page.goto(f"{site.base}/account/sign-out-everywhere")
    assert page.locator("h1").inner_text() == VI["sign_out_everywhere_title"]
    page.fill("#password", site.password + "-wrong")
    assert submit(page) == 401
    assert page.locator("p.error").get_attribute("data-code") == "invalid_current_password"
    shot(page, "sign-out-everywhere-error")

    page.fill("#password", site.password)
    assert submit(page) == 200
    message = page.locator("#message")
    assert message.get_attribute("data-code") == "signed_out_everywhere"
    assert message.inner_text() == VI["signed_out_everywhere"]
    shot(page, "sign-out-everywhere-done")

    page.goto(site.other_authorize_url())
    page.wait_for_url(f"{site.base}/login?flow=*")
    assert page.locator("h1").inner_text() == VI["login_title"]
