"""An `app` client gets no code from the browser flow: the one-active-device rule is enforced
at /authorize-challenge, and a password typed into /login must not walk around it."""

import secrets
from urllib.parse import urlencode

import requests

from gateway.models import ActiveDevice, Event
from tests.helpers import PASSWORD, authorize_params, login, new_account, new_client, s256
from tests.helpers.oidc import query_of

APP_REDIRECT = "http://127.0.0.1:9/cb"  # the app client's registered URI in the world fixture


def _authorize(session: requests.Session, base: str, client_id: str, **extra):
    params = authorize_params(client_id, secrets.token_urlsafe(48), redirect_uri=APP_REDIRECT,
                              **extra)
    return session.get(f"{base}/authorize?{urlencode(params)}", allow_redirects=False,
                       timeout=10)


def test_app_client_is_refused_at_authorize_while_a_device_is_active(world):
    phone_a = world.device("Điện thoại của An")
    phone_a.sign_in(world.username, world.password)
    browser = requests.Session()
    response = _authorize(browser, world.base, world.client_id, state="s1")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(APP_REDIRECT + "?")
    query = query_of(location)
    assert query["error"] == "unauthorized_client" and query["state"] == "s1"
    assert query["iss"] == world.base and "code" not in query
    # device A stays the one active device and keeps refreshing
    assert phone_a.refresh().access_token
    with world.app.app_context():
        active = ActiveDevice.query.one()
        assert active.device_name == "Điện thoại của An"
        assert Event.query.filter_by(name="session.started").count() == 1


def test_app_client_is_refused_even_with_a_browser_session(app, client):
    """An SSO cookie from the portal gives the app client nothing either (prompt=none too)."""
    new_account()
    web_id, _ = new_client()
    app_id, _ = new_client(type="app", redirect_uris=[APP_REDIRECT])
    params = authorize_params(web_id, "v" * 43)
    first = client.get("/authorize?" + urlencode(params))
    assert login(client, first.location, "0123456789", PASSWORD).status_code == 302
    for extra in ({}, {"prompt": "none"}, {"prompt": "login"}):
        verifier = secrets.token_urlsafe(48)
        response = client.get("/authorize?" + urlencode({
            "response_type": "code", "client_id": app_id, "redirect_uri": APP_REDIRECT,
            "scope": "openid offline_access", "state": "s", "code_challenge": s256(verifier),
            "code_challenge_method": "S256", **extra}))
        assert response.status_code == 302, extra
        query = query_of(response.location)
        assert query["error"] == "unauthorized_client" and "code" not in query, extra
