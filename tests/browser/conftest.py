"""A real browser (Debian's Chromium through Playwright) against a live gateway on loopback.

Never a downloaded browser: `make test-deps` installs Debian's chromium package. The issuer is
the live server's base URL, so the port is chosen before the app is built.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask

from gateway.extensions import db
from gateway.services.clients import create_client
from tests.helpers import PASSWORD, authorize_params, new_account, random_bhxh
from tests.helpers.network import free_port, serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-quic"]


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make test-deps` (Debian's chromium package)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(locale="vi-VN")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    return context.new_page()


@dataclass
class Site:
    base: str
    username: str
    password: str
    name: str
    sub: str
    other_client_id: str
    # The second relying party's redirect URI, on a tiny loopback server that only says
    # "ok" (page.route cannot catch the end of a redirect chain, and Chromium refuses
    # "unsafe" ports such as 9): the code is read from the URL the browser lands on.
    other_redirect: str
    # The served app itself, for a test that needs a second party's tokens from the real flow.
    app: Flask

    def other_authorize_url(self, **extra) -> str:
        """An authorization request of the second relying party (code + PKCE S256)."""
        verifier = secrets.token_urlsafe(48)
        params = authorize_params(self.other_client_id, verifier,
                                  redirect_uri=self.other_redirect, scope="openid profile",
                                  **extra)
        return f"{self.base}/authorize?{urlencode(params)}"

    def landed_at_other(self, page) -> dict:
        """Waits for the browser to land on the second party's redirect URI; returns the
        query it carried there (code, state, iss)."""
        page.wait_for_url(f"{self.other_redirect}?**")
        return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


def _second_party(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.fixture
def site(make_app, tmp_path):
    """A served gateway with the demo relying party, one account and a second web client."""
    with serve(_second_party) as other_base:
        yield from _site(make_app, tmp_path, f"{other_base}/callback")


def _site(make_app, tmp_path, other_redirect):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    demo_file = tmp_path / "demo-client.json"
    app = make_app(ISSUER=base, DEMO_ENABLED=True, DEMO_CLIENT_FILE=str(demo_file))
    with app.app_context():
        username = random_bhxh()
        account = new_account(bhxh=username)
        _, secret = create_client(client_id="demo-portal", name="Cổng dịch vụ công (demo)",
                                  type="web", redirect_uris=[f"{base}/demo/callback"],
                                  post_logout_redirect_uris=[f"{base}/demo/"])
        other, _ = create_client(name="Cổng thứ hai", type="web", redirect_uris=[other_redirect])
        db.session.commit()
        demo_file.write_text(json.dumps({"client_id": "demo-portal", "client_secret": secret}))
        facts = Site(base=base, username=username, password=PASSWORD, name=account.full_name,
                     sub=account.sub, other_client_id=other.client_id,
                     other_redirect=other_redirect, app=app)
        db.session.remove()
    with serve(app, port) as url:
        assert url == base
        yield facts


@dataclass
class VneidSite:
    base: str
    app: Flask
    client_id: str
    redirect: str       # the web client's callback, on the tiny loopback server
    app_id: str
    app_redirect: str   # the app client's loopback redirect (RFC 8252 §7.3)

    def authorize_url(self, **extra) -> str:
        params = authorize_params(self.client_id, secrets.token_urlsafe(48),
                                  redirect_uri=self.redirect, scope="openid profile", **extra)
        return f"{self.base}/authorize?{urlencode(params)}"

    def landed(self, page, redirect: str | None = None) -> dict:
        page.wait_for_url(f"{redirect or self.redirect}?**")
        return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


@pytest.fixture
def vneid_site(make_app, tmp_path):
    """A served gateway signing in with its own VNeID sandbox, with the sandbox citizens'
    accounts, a web client and an app client whose redirects land on a loopback server."""
    from tests.helpers.vneid import seed_accounts

    with serve(_second_party) as other_base:
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        app = make_app(ISSUER=base, SMS_OUTBOX=str(tmp_path / "sms.jsonl"))
        with app.app_context():
            seed_accounts()
            web, _ = create_client(name="Cổng dịch vụ công", type="web",
                                   redirect_uris=[f"{other_base}/callback"])
            phone, _ = create_client(name="VssID", type="app",
                                     redirect_uris=[f"{other_base}/app-callback"])
            db.session.commit()
            facts = VneidSite(base, app, web.client_id, f"{other_base}/callback",
                              phone.client_id, f"{other_base}/app-callback")
            db.session.remove()
        with serve(app, port):
            yield facts
