"""Passkeys end to end through HTTP (the Flask test client) with a software authenticator that
makes real ES256 credentials and signatures (tests/helpers/webauthn.py): registration on the
account page and through the app's DPoP API, passwordless sign-in, step-up to the
phishing-resistant acr, and every refusal — another origin or RP ID, no user verification, a
cloned credential's counter, a challenge used twice (concurrently) or issued for another."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from gateway.extensions import db
from gateway.methods import webauthn
from gateway.models import AuditRecord, Event, Passkey
from gateway.oidc.dpop import create_proof
from gateway.oidc.tokens import read_id_token
from gateway.services import passkeys as passkeys_service
from gateway.services.passkeys import PasskeyError
from policies.assurance import ACR_LEVEL_2, ACR_LEVEL_2_PHR
from tests.helpers import PASSWORD, csrf_of, exchange, new_account, new_client, race
from tests.helpers.oidc import (
    assert_error_redirect,
    authorize,
    ec_key,
    public_tokens,
    query_of,
)
from tests.helpers.oidc import tokens as code_flow_tokens
from tests.helpers.sms import sms_sent
from tests.helpers.webauthn import SoftAuthenticator

ORIGIN = "http://127.0.0.1:8000"  # the tests' ISSUER: RP ID 127.0.0.1


@pytest.fixture
def site(make_app, tmp_path, clock):
    app = make_app(clock=clock, SMS_OUTBOX=str(tmp_path / "sms.jsonl"))
    with app.app_context():
        account = new_account()
        client_id, secret = new_client()
        yield app, account, client_id, secret
        db.session.remove()


def _signed_in_browser(app, client_id, secret):
    browser = app.test_client()
    code_flow_tokens(browser, client_id, secret)
    return browser


def _register(browser, authenticator, name="Điện thoại của An", **create):
    page = browser.get("/account/passkeys")
    csrf = csrf_of(page.get_data(as_text=True))
    options = browser.post("/account/passkeys/options", data={"csrf_token": csrf})
    assert options.status_code == 200, options.json
    credential = authenticator.create(options.json, **create)
    answer = browser.post("/account/passkeys", data={
        "csrf_token": csrf, "name": name, "credential": json.dumps(credential)})
    return options.json, credential, answer


def _login_page(browser, client_id, **extra):
    start = authorize(browser, client_id, **extra)
    assert start.status_code == 302 and start.location.startswith("/login?"), start.location
    html = browser.get(start.location).get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', html).group(1)
    return html, flow, csrf_of(html)


def _page_options(html: str) -> dict:
    """The request options the login page carries (its passkey form's data-request)."""
    return json.loads(unescape(re.search(r'data-request="([^"]+)"', html).group(1)))


def _passkey_sign_in(browser, authenticator, flow, csrf, **get):
    options = _page_options(browser.get(f"/login?flow={flow}").get_data(as_text=True))
    assertion = authenticator.get(options, **get)
    return options, browser.post("/login/passkey", data={
        "flow": flow, "csrf_token": csrf, "credential": json.dumps(assertion)})


def test_register_then_step_up_with_the_passkey(site):
    app, account, client_id, secret = site
    browser = _signed_in_browser(app, client_id, secret)
    phone = SoftAuthenticator(ORIGIN)
    options, _, answer = _register(browser, phone)
    # User verification required, discoverable, no attestation, the issuer's host as RP ID;
    # the user's name is the masked login name, the handle neither the sub nor the number.
    assert options["rp"]["id"] == "127.0.0.1" and options["attestation"] == "none"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert account.bhxh not in str(options) and account.sub not in str(options)
    assert answer.status_code == 303
    listed = browser.get(answer.location).get_data(as_text=True)
    assert "Điện thoại của An" in listed and 'data-code="passkey_added_done"' in listed
    row = Passkey.query.filter_by(account_id=account.id).one()
    assert row.sign_count == 0 and row.backup_eligible is False and row.transports == ["internal"]
    assert Event.query.filter_by(name="passkey.registered", account_id=account.id).count() == 1
    assert AuditRecord.query.filter_by(action="passkey.registered").count() == 1
    assert [m["template"] for m in sms_sent(app)].count("passkey_added") == 1

    # The session is a password's (level 2): a client asking for the phishing-resistant level
    # is sent to the login page, which asks for the passkey first.
    html, flow, csrf = _login_page(browser, client_id, acr_values=ACR_LEVEL_2_PHR, state="s")
    assert 'id="step-up"' in html and 'autocomplete="username webauthn"' in html
    request_options, signed = _passkey_sign_in(browser, phone, flow, csrf)
    assert request_options["userVerification"] == "required"
    assert request_options.get("allowCredentials", []) == []
    assert signed.status_code == 302 and "login_flow=" in signed.location
    code = query_of(browser.get(signed.location).location)["code"]
    claims = read_id_token(exchange(browser, client_id, secret, code, "v" * 43).json["id_token"])
    assert claims["acr"] == ACR_LEVEL_2_PHR and claims["amr"] == ["hwk", "user"]
    assert claims["sub"] == account.sub
    db.session.expire_all()
    assert Passkey.query.filter_by(account_id=account.id).one().sign_count == 1
    # The same session now answers the strong request without asking again; max_age=0 asks
    # for a new sign-in, which the passkey gives too.
    again = authorize(browser, client_id, acr_values=ACR_LEVEL_2_PHR)
    assert "code=" in again.location
    html, flow, csrf = _login_page(browser, client_id, max_age="0")
    assert 'id="step-up"' not in html
    _, signed = _passkey_sign_in(browser, phone, flow, csrf)
    assert "code=" in browser.get(signed.location).location
    discovery = browser.get("/.well-known/openid-configuration").json
    assert discovery["acr_values_supported"][-1] == ACR_LEVEL_2_PHR


def test_an_old_sign_in_adds_a_passkey_only_with_the_password(site, clock):
    app, account, client_id, secret = site
    browser = _signed_in_browser(app, client_id, secret)
    clock.advance(minutes=11)  # a session cookie found on a shared computer, say
    page = browser.get("/account/passkeys").get_data(as_text=True)
    assert 'id="passkey-password"' in page
    csrf = csrf_of(page)
    refused = browser.post("/account/passkeys/options", data={"csrf_token": csrf})
    assert refused.status_code == 403 and refused.json == {"error": "reauth_required"}
    wrong = browser.post("/account/passkeys/options",
                         data={"csrf_token": csrf, "password": "không-phải-mật-khẩu"})
    assert wrong.status_code == 401
    options = browser.post("/account/passkeys/options",
                           data={"csrf_token": csrf, "password": PASSWORD})
    assert options.status_code == 200
    credential = SoftAuthenticator(ORIGIN).create(options.json)
    added = browser.post("/account/passkeys", data={"csrf_token": csrf,
                                                    "credential": json.dumps(credential)})
    assert added.status_code == 303


def test_a_password_never_earns_a_code_for_the_strong_level(site):
    app, account, client_id, secret = site
    browser = app.test_client()
    html, flow, csrf = _login_page(browser, client_id, acr_values=ACR_LEVEL_2_PHR, state="p")
    signed = browser.post("/login", data={"flow": flow, "csrf_token": csrf,
                                          "username": account.bhxh, "password": PASSWORD})
    assert_error_redirect(browser.get(signed.location), "unmet_authentication_requirements",
                          app, state="p")
    # with no passkey registered, the signed-in browser is told at once
    response = authorize(browser, client_id, acr_values=ACR_LEVEL_2_PHR, state="q")
    assert_error_redirect(response, "unmet_authentication_requirements", app, state="q")
    # a level-2 request is met by the password session
    assert "code=" in authorize(browser, client_id, acr_values=ACR_LEVEL_2).location


def test_refusals_are_one_answer_and_a_clone_is_audited(site):
    app, account, client_id, secret = site
    browser = _signed_in_browser(app, client_id, secret)
    phone = SoftAuthenticator(ORIGIN)
    _register(browser, phone)
    credential = phone.credentials[0]
    stranger = app.test_client()
    html, flow, csrf = _login_page(stranger, client_id)
    attempts = [
        dict(origin="https://vssid-login.example.com"),  # a look-alike page relaying
        dict(rp_id="example.com"),                       # a credential of another RP
        dict(uv=False),                                  # no user verification
        dict(user_handle=b"\x02" * 32),                 # signed, but naming another user
    ]
    for attempt in attempts:
        _, answer = _passkey_sign_in(stranger, phone, flow, csrf, **attempt)
        assert answer.status_code == 401 and 'id="login-error"' in answer.get_data(as_text=True)
    unknown = SoftAuthenticator(ORIGIN)
    unknown.credentials.append(phone.clone(credential))
    unknown.credentials[0].id = b"\x01" * 32
    _, answer = _passkey_sign_in(stranger, unknown, flow, csrf)
    assert answer.status_code == 401
    assert Event.query.filter_by(name="login.succeeded").count() == 1  # the password's only

    # The real device signs in (counter 1, say); a copy of its key still at 0 then presents 1.
    _, ok = _passkey_sign_in(stranger, phone, flow, csrf)
    assert ok.status_code == 302
    thief = app.test_client()
    _, flow3, csrf3 = _login_page(thief, client_id)
    _, cloned = _passkey_sign_in(thief, phone, flow3, csrf3, count=credential.sign_count)
    assert cloned.status_code == 401
    assert Event.query.filter_by(name="passkey.clone_suspected").count() == 1
    audit = AuditRecord.query.filter_by(action="passkey.clone_suspected").one()
    assert audit.changes["stored"] == credential.sign_count
    # Which copy is the person's cannot be told: the passkey is disabled for both, the phone
    # told, and the account page marks it (removing it then needs no password).
    _, real = _passkey_sign_in(thief, phone, flow3, csrf3)
    assert real.status_code == 401
    assert [m["template"] for m in sms_sent(app)].count("passkey_disabled") == 1
    assert 'class="error passkey-disabled"' in browser.get("/account/passkeys").get_data(
        as_text=True)
    assert passkeys_service.has_passkey(account.id) is False
    row = Passkey.query.filter_by(account_id=account.id).one()
    assert passkeys_service.remove(account, row.id, password_checked=False) is False


def test_a_challenge_is_used_once_by_racers_and_only_where_issued(site):
    app, account, client_id, secret = site
    browser = _signed_in_browser(app, client_id, secret)
    phone = SoftAuthenticator(ORIGIN)
    _, _, _ = _register(browser, phone)
    options = webauthn.sign_in_options("login:test")
    assertion = phone.get(options)
    with pytest.raises(PasskeyError) as elsewhere:
        webauthn.sign_in("login:another-browser", assertion)
    assert elsewhere.value.code == "passkey_expired"
    options = webauthn.sign_in_options("login:test")
    assertion = phone.get(options)

    def attempt(_):
        with app.app_context():
            try:
                return webauthn.sign_in("login:test", assertion).account.id
            except PasskeyError as exc:
                return exc.code
            finally:
                db.session.remove()

    results = race(4, attempt)
    assert results.count(account.id) == 1 and results.count("passkey_expired") == 3


def test_the_app_api_registers_renames_and_removes_with_the_password_for_the_last(site, clock):
    app, account, client_id, secret = site
    app_id, _ = new_client(type="app", redirect_uris=["http://127.0.0.1:9/cb"])
    key = ec_key()
    client = app.test_client()
    issued = public_tokens(client, app, app_id, key)
    access = issued["access_token"]

    def call(method, path, json=None):
        url = app.config["ISSUER"] + path
        proof = create_proof(key, method=method, url=url, access_token=access,
                             iat=clock.timestamp())
        return client.open(path, method=method, json=json,
                           headers={"Authorization": f"DPoP {access}", "DPoP": proof})

    assert call("GET", "/api/v1/passkeys").json == {"passkeys": []}
    assert client.get("/api/v1/passkeys").status_code == 401  # no token
    phone = SoftAuthenticator(ORIGIN)
    ids = []
    for name in ("Điện thoại", "Máy tính bảng"):
        options = call("POST", "/api/v1/passkeys/options").json
        added = call("POST", "/api/v1/passkeys",
                     {"credential": phone.create(options, backup_eligible=True), "name": name})
        assert added.status_code == 201, added.json
        assert added.json["name"] == name and added.json["backup_eligible"] is True
        ids.append(added.json["id"])
    stale = call("POST", "/api/v1/passkeys", {"credential": phone.create(options)})
    assert stale.status_code == 400 and stale.json["error"] == "passkey_expired"
    renamed = call("PATCH", f"/api/v1/passkeys/{ids[0]}", {"name": "  Điện   thoại cũ "})
    assert renamed.json["name"] == "Điện thoại cũ"
    assert call("PATCH", f"/api/v1/passkeys/{ids[0]}", {"name": "x" * 65}).json[
        "error"] == "invalid_passkey_name"
    assert call("DELETE", f"/api/v1/passkeys/{ids[0]}").json == {"last": False}
    last = call("DELETE", f"/api/v1/passkeys/{ids[1]}", {})
    assert last.status_code == 403 and last.json["error"] == "password_required"
    wrong = call("DELETE", f"/api/v1/passkeys/{ids[1]}", {"password": "sai-mat-khau-roi"})
    assert wrong.status_code == 401
    done = call("DELETE", f"/api/v1/passkeys/{ids[1]}", {"password": PASSWORD})
    assert done.status_code == 200 and done.json == {"last": True}
    assert call("DELETE", f"/api/v1/passkeys/{ids[1]}", {"password": PASSWORD}).status_code == 404
    # A token refreshed long after the sign-in (its auth_time stays) adds one only with the
    # password.
    clock.advance(minutes=11)
    proof = create_proof(key, method="POST", url=app.config["ISSUER"] + "/token",
                         iat=clock.timestamp())
    access = client.post("/token", headers={"DPoP": proof}, data={
        "grant_type": "refresh_token", "client_id": app_id,
        "refresh_token": issued["refresh_token"]}).json["access_token"]
    assert call("POST", "/api/v1/passkeys/options").json == {"error": "reauth_required"}
    assert call("POST", "/api/v1/passkeys/options", {"password": PASSWORD}).status_code == 200
    removed = Event.query.filter_by(name="passkey.removed", account_id=account.id).all()
    assert [e.data["last"] for e in removed] == [False, True]
    assert [m["template"] for m in sms_sent(app)].count("passkey_removed") == 2


def test_two_removals_at_once_never_leave_the_account_without_the_password(site):
    from gateway.services import passkeys

    app, account, client_id, secret = site
    browser = _signed_in_browser(app, client_id, secret)
    phone = SoftAuthenticator(ORIGIN)
    for name in ("một", "hai"):
        assert _register(browser, phone, name=name)[2].status_code == 303
    ids = [p.id for p in Passkey.query.filter_by(account_id=account.id)]
    account_id = account.id
    db.session.remove()

    def remove(i):
        with app.app_context():
            try:
                owner = db.session.get(type(account), account_id)
                return passkeys.remove(owner, ids[i], password_checked=False)
            except PasskeyError as exc:
                return exc.code
            finally:
                db.session.remove()

    assert sorted(map(str, race(2, remove))) == ["False", "password_required"]
    assert Passkey.query.filter_by(account_id=account_id).count() == 1
