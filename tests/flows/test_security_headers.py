"""Content-Security-Policy: no <base>, no plugins, no framing, and forms that may end only at
the gateway — plus, on the login pages, at the one verified redirect URI's origin."""

import re
import secrets
from urllib.parse import urlencode

from tests.helpers import authorize_params, csrf_of, new_account, new_client


def _directives(response) -> dict:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (x.strip() for x in policy.split(";")) if d}


def _login_page(client, client_id, redirect_uri):
    params = authorize_params(client_id, secrets.token_urlsafe(48), redirect_uri=redirect_uri)
    started = client.get("/authorize?" + urlencode(params))
    assert started.status_code == 302 and started.location.startswith("/login?")
    return started.location


def test_every_answer_forbids_base_plugins_framing_and_foreign_forms(app, client):
    for path in ("/healthz", "/recover", "/.well-known/openid-configuration", "/nowhere"):
        csp = _directives(client.get(path))
        assert csp["base-uri"] == ["'none'"] and csp["object-src"] == ["'none'"]
        assert csp["frame-ancestors"] == ["'none'"] and csp["default-src"] == ["'self'"]
        assert csp["form-action"] == ["'self'"], path


def test_the_login_pages_allow_only_their_clients_redirect_origin(app, client):
    new_account()
    portal, _ = new_client(redirect_uris=("https://Portal.example.vn:8443/callback",))
    other, _ = new_client(redirect_uris=("http://127.0.0.1:9100/cb",))
    location = _login_page(client, portal, "https://Portal.example.vn:8443/callback")
    page = client.get(location)
    assert _directives(page)["form-action"] == ["'self'", "https://portal.example.vn:8443"]
    html = page.get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', html)[1]
    wrong = client.post("/login", data={"csrf_token": csrf_of(html), "flow": flow,
                                        "username": "0123456789", "password": "sai-mat-khau"})
    assert wrong.status_code == 401  # the form is shown again: same allowance
    assert _directives(wrong)["form-action"] == ["'self'", "https://portal.example.vn:8443"]

    page = client.get(_login_page(client, other, "http://127.0.0.1:9100/cb"))
    assert _directives(page)["form-action"] == ["'self'", "http://127.0.0.1:9100"]
    policy = page.headers["Content-Security-Policy"]
    assert " http: " not in f"{policy} " and " https: " not in f"{policy} "


def test_the_forced_password_change_page_allows_the_clients_origin(app, client):
    new_account(must_change_password=True)
    portal, _ = new_client(redirect_uris=("https://portal.example.vn/callback",))
    page = client.get(_login_page(client, portal, "https://portal.example.vn/callback"))
    html = page.get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', html)[1]
    from tests.helpers import PASSWORD

    step = client.post("/login", data={"csrf_token": csrf_of(html), "flow": flow,
                                       "username": "0123456789", "password": PASSWORD})
    assert step.status_code == 302 and step.location.startswith("/login/password")
    change = client.get(step.location)
    assert change.status_code == 200
    assert _directives(change)["form-action"] == ["'self'", "https://portal.example.vn"]


def test_an_expired_flow_allows_nothing_more(app, client):
    page = client.get("/login?flow=" + "x" * 32)
    assert page.status_code == 400 and _directives(page)["form-action"] == ["'self'"]
