"""Sign out everywhere (lost phone) from the page, the API and the staff CLI: every session
ends, and the active device is forgotten, so the next phone binds as a first device."""

import json

import pytest
import requests

from gateway.extensions import db
from gateway.models import ActiveDevice, Event
from tests.helpers import PASSWORD, csrf_of, get_code, new_client
from tests.helpers.devices import expect_challenge


def _by_page(world, lost_phone):
    with world.app.app_context():
        web_client, _ = new_client()
        db.session.remove()
    browser = world.app.test_client()
    get_code(browser, web_client)  # signs in: the browser has an SSO session
    page = browser.get("/account/sign-out-everywhere")
    done = browser.post("/account/sign-out-everywhere", data={
        "csrf_token": csrf_of(page.get_data(as_text=True)), "password": PASSWORD})
    assert done.status_code == 200, done.get_data(as_text=True)
    assert 'data-code="signed_out_everywhere"' in done.get_data(as_text=True)
    return "signed_out_by_user"


def _by_api(world, lost_phone):
    url = f"{world.base}/api/v1/sessions/revoke-all"
    token = lost_phone.tokens.access_token
    answer = requests.post(url, json={"password": PASSWORD}, timeout=10, headers={
        "Authorization": f"DPoP {token}",
        "DPoP": lost_phone.proof("POST", url, access_token=token)})
    assert answer.status_code == 200 and answer.json()["revoked"] >= 1, answer.text
    return "signed_out_by_user"


def _by_staff(world, lost_phone):
    result = world.app.test_cli_runner().invoke(
        args=["accounts", "sign-out-all", "--bhxh", world.username, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["revoked"] >= 1
    return "signed_out_by_staff"


@pytest.mark.parametrize("sign_out", [_by_page, _by_api, _by_staff],
                         ids=["page", "api", "staff"])
def test_sign_out_everywhere_frees_the_device_binding(world, sign_out):
    lost = world.device("Điện thoại bị mất")
    lost.sign_in(world.username, world.password)
    reason = sign_out(world, lost)

    refused = expect_challenge(lost.refresh)
    assert refused.error == "invalid_grant" and refused.reason == reason
    assert lost.userinfo().status_code == 401
    with world.app.app_context():
        assert ActiveDevice.query.count() == 0
        [cleared] = Event.query.filter_by(name="device.cleared").all()
        assert cleared.data == {"device": "Điện thoại bị mất",
                                "by": "staff" if reason.endswith("staff") else "user"}
        assert Event.query.filter_by(name="account.signed_out_everywhere").count() == 1

    # The owner's new phone: the password alone, no device_conflict, no OTP.
    new_phone = world.device("Điện thoại mới")
    tokens = new_phone.sign_in(world.username, world.password)
    assert tokens.token_type == "DPoP" and new_phone.userinfo().status_code == 200
    assert [m for m in world.sms() if m["template"] == "otp"] == []
    with world.app.app_context():
        [active] = ActiveDevice.query.all()
        assert active.device_name == "Điện thoại mới"
    # Now the lost phone is the second device: it meets the conflict and the OTP step.
    conflict = expect_challenge(lambda: lost.sign_in(world.username, world.password))
    assert conflict.reason == "device_conflict"
