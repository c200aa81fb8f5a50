"""The self-service phone change through the JSON API (/api/v1/phone, /phone/resend,
/phone/confirm), with access tokens from real sign-ins on a served gateway: the token's
session (``sid``) must be a recent level-2 VNeID sign-in to the linked account — a VNeID
sandbox sign-in here — and a password sign-in's token is refused."""

from __future__ import annotations

import re

import requests

from gateway.models import Account, AuditRecord
from tests.helpers import PASSWORD
from tests.helpers.sms import sms_sent
from tests.helpers.vneid import ACCOUNTS, AN, tokens_for

NEW = "+84987000111"


def _token(world, person, answer) -> str:
    query = person.follow_to_client(answer)
    return tokens_for(world.base, world.web_id, world.web_secret, query["code"],
                      person.verifier)["access_token"]


def _vneid_token(world) -> str:
    person = world.person()
    return _token(world, person, person.sign_in(world.web_id, AN))


def _password_token(world) -> str:
    person = world.person()
    login = person.authorize(world.web_id)
    page = person.get(login.headers["Location"])
    flow = re.search(r'name="flow" value="([^"]+)"', page.text).group(1)
    answer = person.form(page, {"flow": flow, "username": ACCOUNTS[AN]["bhxh"],
                                "password": PASSWORD})
    return _token(world, person, answer)


def _api(world, path, token, body):
    return requests.post(f"{world.base}/api/v1{path}", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token}"})


def _code(world) -> str:
    texts = [m["text"] for m in sms_sent(world.app) if m["template"] == "otp" and m["to"] == NEW]
    return re.search(r"\b(\d{6})\b", texts[-1])[1]


def _phone(world) -> str:
    with world.app.app_context():
        return Account.query.filter_by(bhxh=ACCOUNTS[AN]["bhxh"]).one().phone


def test_a_vneid_token_changes_the_phone(vworld):
    token = _vneid_token(vworld)
    started = _api(vworld, "/phone", token, {"phone": "0987000111"})
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["otp_sent_to"] == "+84 9** *** *11" and body["expires_in"] > 0
    wrong = _api(vworld, "/phone/confirm", token, {"flow_id": body["flow_id"], "otp": "12345"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "otp_invalid"
    done = _api(vworld, "/phone/confirm", token,
                {"flow_id": body["flow_id"], "otp": _code(vworld)})
    assert done.status_code == 200 and done.json() == {"old": "+84 9** *** *23",
                                                       "new": "+84 9** *** *11"}
    assert _phone(vworld) == NEW
    with vworld.app.app_context():
        assert AuditRecord.query.filter_by(action="account.phone_changed").one().actor == \
            "citizen:******6789"
    # every session and token ended with the change, this one too
    assert _api(vworld, "/phone", token, {"phone": "0987000222"}).status_code == 401


def test_a_password_token_is_refused(vworld):
    token = _password_token(vworld)
    refused = _api(vworld, "/phone", token, {"phone": "0987000111"})
    assert refused.status_code == 403 and refused.json()["error"] == "phone_change_needs_vneid"
    assert [m for m in sms_sent(vworld.app) if m["to"] == NEW] == []


def test_no_token_and_bad_input(vworld):
    assert requests.post(f"{vworld.base}/api/v1/phone", json={"phone": NEW},
                         timeout=30).status_code == 401
    token = _vneid_token(vworld)
    refused = _api(vworld, "/phone", token, {"phone": "024 3825 1234"})
    assert refused.status_code == 400 and refused.json() == {"error": "phone_not_mobile",
                                                             "field": "phone"}
    unknown = _api(vworld, "/phone/confirm", token, {"flow_id": "nope", "otp": "123456"})
    assert unknown.status_code == 400 and unknown.json()["error"] == "flow_expired"
    assert _phone(vworld) == "+84912345623"
