"""Passkeys in Debian's Chromium with a virtual authenticator (the DevTools protocol's WebAuthn
domain: CTAP2, internal transport, resident keys, user verification): register on
/account/passkeys, step up on the login page (the relying party asks for the phishing-resistant
acr), a cloned credential (the same key with its counter set back) refused, and a passkey
assertion made on another origin (a look-alike page on the same host: the RP ID matches, the
origin does not) refused, and the clone disabled.

The gateway is served as http://localhost:<port>: WebAuthn refuses an IP address as RP ID, and
localhost is a secure context without TLS."""

from __future__ import annotations

import json
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from gateway.extensions import db
from gateway.models import Event
from gateway.oidc.tokens import read_id_token
from gateway.services.clients import create_client
from policies.assurance import ACR_LEVEL_2_PHR
from tests.browser.conftest import _second_party
from tests.helpers import PASSWORD, authorize_params, basic, new_account, random_bhxh
from tests.helpers.browser import shot, submit
from tests.helpers.network import free_port, serve

pytestmark = pytest.mark.browser


@pytest.fixture
def gateway(make_app, tmp_path):
    with serve(_second_party) as other:
        port = free_port()
        base = f"http://localhost:{port}"
        redirect = other.replace("127.0.0.1", "localhost") + "/callback"
        app = make_app(ISSUER=base, SMS_OUTBOX=str(tmp_path / "sms.jsonl"))
        with app.app_context():
            username = random_bhxh()
            new_account(bhxh=username)
            client, secret = create_client(name="Cổng dịch vụ công", type="web",
                                           redirect_uris=[redirect])
            db.session.commit()
            facts = dict(app=app, base=base, redirect=redirect, username=username,
                         client_id=client.client_id, secret=secret,
                         other=other.replace("127.0.0.1", "localhost"))
            db.session.remove()
        with serve(app, port):
            yield facts


def _authorize(g, **extra) -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    params = authorize_params(g["client_id"], verifier, redirect_uri=g["redirect"],
                              scope="openid profile", **extra)
    return f"{g['base']}/authorize?{urlencode(params)}", verifier


def _landed(page, g) -> str:
    page.wait_for_url(f"{g['redirect']}?**")
    return parse_qs(urlsplit(page.url).query)["code"][0]


def _id_token(g, code, verifier) -> dict:
    answer = requests.post(f"{g['base']}/token", timeout=30, headers=basic(g["client_id"],
                                                                           g["secret"]),
                           data={"grant_type": "authorization_code", "code": code,
                                 "code_verifier": verifier, "redirect_uri": g["redirect"]})
    assert answer.status_code == 200, answer.text
    with g["app"].app_context():
        return read_id_token(answer.json()["id_token"])


def _posting(page, button: str, path: str) -> int:
    """Clicks ``button`` (the script asks for options, runs the ceremony and posts the form);
    the status of the form's POST to ``path``."""
    def form_post(response):
        return response.request.method == "POST" and urlsplit(response.url).path == path

    with page.expect_response(form_post) as posted:
        page.click(button)
    page.wait_for_load_state()
    return posted.value.status


def _passkey_button(page) -> int:
    return _posting(page, "#passkey-button", "/login/passkey")


def test_register_step_up_clone_and_another_origin(page, gateway):
    g = gateway
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    authenticator = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True}})["authenticatorId"]

    # A password sign-in, then a passkey on the account page.
    url, _ = _authorize(g)
    page.goto(url)
    page.fill("#username", g["username"])
    page.fill("#password", PASSWORD)
    assert submit(page) == 302
    _landed(page, g)
    page.goto(f"{g['base']}/account/passkeys")
    page.fill("#passkey-name", "Máy tính của An")
    assert _posting(page, "#passkey-add-button", "/account/passkeys") == 303
    assert page.locator("#passkey-done").get_attribute("data-code") == "passkey_added_done"
    assert page.locator(".passkey-name").inner_text() == "Máy tính của An"
    shot(page, "passkeys-list")
    [credential] = cdp.send("WebAuthn.getCredentials",
                            {"authenticatorId": authenticator})["credentials"]
    assert credential["rpId"] == "localhost" and credential["isResidentCredential"]

    # Step-up: the relying party asks for the phishing-resistant level; the password session
    # is not enough, the login page asks for the passkey — here through conditional UI, which
    # the virtual authenticator answers at once — and the code carries the new acr.
    url, verifier = _authorize(g, acr_values=ACR_LEVEL_2_PHR)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/login/passkey") as posted:
        page.goto(url)
    assert posted.value.status == 302
    claims = _id_token(g, _landed(page, g), verifier)
    assert claims["acr"] == ACR_LEVEL_2_PHR and claims["amr"] == ["hwk", "user"]

    # A browser without conditional UI: the page says what is asked and offers the button.
    page.add_init_script("PublicKeyCredential.isConditionalMediationAvailable = "
                         "() => Promise.resolve(false);")
    url, verifier = _authorize(g, acr_values=ACR_LEVEL_2_PHR, prompt="login")
    page.goto(url)
    assert page.locator("#step-up").is_visible()
    assert page.locator("#username").get_attribute("autocomplete") == "username webauthn"
    shot(page, "passkeys-step-up")
    assert _passkey_button(page) == 302
    assert _id_token(g, _landed(page, g), verifier)["acr"] == ACR_LEVEL_2_PHR

    # Another origin: a look-alike page on the same host (so the RP ID "localhost" matches and
    # the authenticator signs) relays the assertion; the gateway sees the page's origin.
    page.goto(_authorize(g, prompt="login")[0])
    options = json.loads(page.locator("#passkey-form").get_attribute("data-request"))
    login_url = page.url
    page.goto(f"{g['other']}/look-alike")
    assertion = page.evaluate("""async (options) => {
        const bytes = (t) => Uint8Array.from(atob(t.replace(/-/g, '+').replace(/_/g, '/')
            + '='.repeat((4 - t.length % 4) % 4)), c => c.charCodeAt(0)).buffer;
        const text = (b) => btoa(String.fromCharCode(...new Uint8Array(b)))
            .replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
        options.challenge = bytes(options.challenge);
        const c = await navigator.credentials.get({publicKey: options});
        return {id: c.id, rawId: text(c.rawId), type: c.type, response: {
            clientDataJSON: text(c.response.clientDataJSON),
            authenticatorData: text(c.response.authenticatorData),
            signature: text(c.response.signature), userHandle: text(c.response.userHandle)}};
    }""", options)
    assert json.loads(bytes_of(assertion["response"]["clientDataJSON"]))["origin"] == g["other"]
    page.goto(login_url)
    page.evaluate("""(credential) => {
        document.querySelector('#passkey-form [name=credential]').value = credential;
    }""", json.dumps(assertion))
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.evaluate("document.getElementById('passkey-form').submit()")
    assert posted.value.status == 401
    shot(page, "passkeys-other-origin")

    # A clone: the same private key elsewhere, its counter where it was at registration.
    [used] = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert used["signCount"] >= 1
    cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator,
                                           "credentialId": used["credentialId"]})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator, "credential": {
        **{k: used[k] for k in ("credentialId", "rpId", "privateKey", "userHandle")},
        "isResidentCredential": True, "signCount": 0}})
    page.goto(_authorize(g, prompt="login")[0])
    assert _passkey_button(page) == 401
    assert page.locator("#login-error").inner_text() != ""
    with g["app"].app_context():
        assert Event.query.filter_by(name="passkey.clone_suspected").count() == 1
    # Disabled for good: which copy is the person's cannot be told. The page marks it.
    page.goto(f"{g['base']}/account/passkeys")
    assert page.locator(".passkey-disabled").is_visible()
    shot(page, "passkeys-disabled")


def bytes_of(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
