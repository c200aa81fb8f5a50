"""The app signs in with VNeID in the system browser (RFC 8252): /authorize?idp=vneid, PKCE,
the code bound to its DPoP key (dpop_jkt, RFC 9449 §10), and the one-active-device rule on
the VNeID flow's own pages — as the example app client (examples/vssid_app_client.py) does it."""

from __future__ import annotations

import secrets

import pytest
from joserfc.jwk import ECKey

from examples.vssid_app_client import AppClient, Challenge
from gateway.models import ActiveDevice, Event, LoginSession, VneidLink
from gateway.oidc.dpop import create_proof
from tests.helpers import PASSWORD
from tests.helpers.oidc import decode_unverified
from tests.helpers.sms import last_otp, sms_sent
from tests.helpers.vneid import AN, APP_REDIRECT, BINH, EM, callback_params


def _phone(world, name="Điện thoại của An") -> AppClient:
    return AppClient(world.base, world.app_id, device_id=f"dev-{secrets.token_hex(6)}",
                     device_name=name)


def _to_app(person, answer) -> str:
    """Follows the gateway's answers until the app's redirect URI; returns that URL."""
    while answer.status_code in (302, 303):
        location = answer.headers["Location"]
        if location.startswith(APP_REDIRECT):
            return location
        answer = person.get(location)
    raise AssertionError(f"{answer.status_code}: {answer.text[:300]}")


def _vneid(world, phone: AppClient, tech_id=AN):
    """The system browser: /authorize → straight to the upstream → the callback's answer."""
    person = world.person()
    first = person.get(phone.vneid_authorization_url(APP_REDIRECT))
    assert first.status_code == 302
    upstream = first.headers["Location"]
    assert upstream.startswith(world.base + "/sandbox/vneid/authorize?")  # no login page
    return person, person.callback(person.choose(upstream, tech_id))


def test_the_app_signs_in_with_vneid_and_gets_dpop_bound_tokens(vworld):
    phone = _phone(vworld)
    person, answer = _vneid(vworld, phone)
    tokens = phone.finish_vneid(_to_app(person, answer))
    assert tokens.token_type == "DPoP" and tokens.refresh_token
    _, claims = decode_unverified(tokens.id_token)
    assert claims["amr"] == ["vneid"]
    _, access = decode_unverified(tokens.access_token)
    assert access["cnf"]["jkt"] == phone.key.thumbprint()
    assert phone.userinfo().status_code == 200
    assert phone.refresh().access_token
    with vworld.app.app_context():
        device = ActiveDevice.query.one()
        assert (device.device_id, device.jkt) == (phone.device_id, phone.key.thumbprint())
        session = LoginSession.query.filter_by(sid=device.sid).one()
        assert session.kind == "app" and session.amr == ["vneid"]
        assert VneidLink.query.one().subject == AN
    assert not person.ua.cookies.get(vworld.app.config["SSO_COOKIE_NAME"])  # no browser SSO


def test_the_code_needs_a_proof_by_the_key_it_names(vworld):
    phone = _phone(vworld)
    person, answer = _vneid(vworld, phone)
    query = callback_params(_to_app(person, answer))
    thief = ECKey.generate_key("P-256", private=True)
    url = f"{vworld.base}/token"
    form = {"grant_type": "authorization_code", "code": query["code"], "client_id":
            vworld.app_id, "code_verifier": phone._verifier, "redirect_uri": APP_REDIRECT}
    stolen = phone.http.post(url, data=form, timeout=10,
                             headers={"DPoP": create_proof(thief, method="POST", url=url)})
    assert stolen.status_code in (400, 401) and stolen.json()["error"] == "invalid_dpop_proof"
    bare = phone.http.post(url, data=form, timeout=10)
    assert bare.status_code in (400, 401)
    # The refusals did not burn the code: the right device redeems it.
    right = phone.http.post(url, data=form, timeout=10,
                            headers={"DPoP": phone.proof("POST", url)})
    assert right.status_code == 200 and right.json()["token_type"] == "DPoP"


def test_another_active_device_gets_the_warning_then_an_sms_code(vworld):
    phone_a = _phone(vworld, "Điện thoại của An")
    phone_a.sign_in("0123456789", PASSWORD)  # the password way, at the challenge endpoint
    phone_b = _phone(vworld, "Máy tính bảng")
    person, answer = _vneid(vworld, phone_b)
    assert answer.status_code == 303 and "/vneid/device?flow=" in answer.headers["Location"]
    warning = person.get(answer.headers["Location"])
    assert warning.status_code == 200 and "Điện thoại của An" in warning.text
    sent = person.form(warning, {})
    assert sent.status_code == 303 and "/vneid/device/otp?flow=" in sent.headers["Location"]
    otp_page = sent.headers["Location"]
    wrong = person.form(otp_page, {"otp": "000000" if last_otp(vworld.app) != "000000"
                                   else "111111"})
    assert wrong.status_code == 400
    tokens = phone_b.finish_vneid(_to_app(person, person.form(otp_page, {
        "otp": last_otp(vworld.app)})))
    _, claims = decode_unverified(tokens.id_token)
    assert claims["amr"] == ["vneid", "otp", "sms"]
    with pytest.raises(Challenge):
        phone_a.refresh()  # the old device was signed out
    with vworld.app.app_context():
        assert ActiveDevice.query.one().device_name == "Máy tính bảng"
        assert Event.query.filter_by(name="device.taken_over").count() == 1
    assert "new_device_signed_in" in [m["template"] for m in sms_sent(vworld.app)]


def test_the_same_device_signs_in_again_without_a_warning(vworld):
    phone = _phone(vworld)
    person, answer = _vneid(vworld, phone)
    phone.finish_vneid(_to_app(person, answer))
    person, answer = _vneid(vworld, phone)
    assert phone.finish_vneid(_to_app(person, answer)).access_token
    with vworld.app.app_context():
        assert ActiveDevice.query.count() == 1


def test_the_proof_then_the_device_rule(vworld):
    phone = _phone(vworld, "Điện thoại của Bình")
    person, answer = _vneid(vworld, phone, BINH)
    assert "/vneid/prove?flow=" in answer.headers["Location"]
    otp_page = person.form(answer.headers["Location"], {"password": PASSWORD}).headers[
        "Location"]
    tokens = phone.finish_vneid(_to_app(person, person.form(otp_page, {
        "otp": last_otp(vworld.app)})))
    _, claims = decode_unverified(tokens.id_token)
    assert claims["amr"] == ["vneid", "pwd", "otp", "sms"]


def test_the_return_to_authorize_is_used_once(vworld):
    phone = _phone(vworld)
    person, answer = _vneid(vworld, phone)
    back = answer.headers["Location"]
    assert "vneid_flow=" in back
    first = person.get(back)
    assert first.headers["Location"].startswith(APP_REDIRECT)
    replay = person.get(back)  # a second code? No: a new VNeID sign-in starts
    assert replay.status_code == 302
    assert replay.headers["Location"].startswith(vworld.base + "/sandbox/vneid/authorize?")
    stranger = vworld.person().get(back)
    assert stranger.headers["Location"].startswith(vworld.base + "/sandbox/vneid/authorize?")


def test_an_ending_without_a_session_offers_the_way_back_to_the_app(vworld):
    phone = _phone(vworld)
    person, answer = _vneid(vworld, phone, EM)
    assert answer.status_code == 200 and 'data-code="declare:not_in_register"' in answer.text
    back = answer.text.split('id="back-to-app" href="')[1].split('"')[0].replace("&amp;", "&")
    query = callback_params(back)
    assert back.startswith(APP_REDIRECT)
    assert (query["error"], query["iss"]) == ("access_denied", vworld.base)
    with pytest.raises(Challenge) as refused:
        phone.finish_vneid(back)
    assert refused.value.error == "access_denied"


@pytest.mark.parametrize(("extra", "error"), [
    ({"idp": None}, "unauthorized_client"),
    ({"idp": "google"}, "unauthorized_client"),
    ({"dpop_jkt": None}, "invalid_request"),
    ({"dpop_jkt": "short"}, "invalid_request"),
    ({"device_id": "x"}, "invalid_request"),
    ({"device_name": " "}, "invalid_request"),
    ({"prompt": "none"}, "login_required"),
])
def test_what_an_app_must_send(vworld, extra, error):
    phone = _phone(vworld)
    url = phone.vneid_authorization_url(APP_REDIRECT)
    from urllib.parse import parse_qsl, urlencode, urlsplit

    params = dict(parse_qsl(urlsplit(url).query))
    params.update(extra)
    person = vworld.person()
    answer = person.get("/authorize?" + urlencode({k: v for k, v in params.items()
                                                   if v is not None}))
    assert answer.status_code == 302
    query = callback_params(answer.headers["Location"])
    assert answer.headers["Location"].startswith(APP_REDIRECT)
    assert query["error"] == error and query["state"] == params["state"]
