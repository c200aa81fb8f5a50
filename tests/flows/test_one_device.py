"""One active device per account: conflict, OTP takeover, and what the old device loses."""

import re
import threading

import requests
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from examples.vssid_app_client import AppClient, Challenge
from gateway.models import ActiveDevice, Event, LoginSession
from tests.helpers.devices import expect_challenge


def _introspect(world, token):
    return requests.post(f"{world.base}/introspect", data={"token": token},
                         auth=(world.service_id, world.service_secret), timeout=10).json()


def _take_over(world, device):
    conflict = expect_challenge(lambda: device.sign_in(world.username, world.password))
    assert conflict.reason == "device_conflict"
    otp_step = expect_challenge(lambda: device.confirm_takeover(conflict.auth_session))
    assert otp_step.reason == "otp_required"
    return otp_step


def test_two_devices_end_to_end(world):
    phone_a, phone_b = world.device("Điện thoại của An"), world.device("Máy tính bảng")
    tokens_a = phone_a.sign_in(world.username, world.password)
    assert tokens_a.token_type == "DPoP"
    assert phone_a.userinfo().status_code == 200
    assert _introspect(world, tokens_a.access_token)["active"] is True

    conflict = expect_challenge(lambda: phone_b.sign_in(world.username, world.password))
    assert conflict.status == 400 and conflict.error == "insufficient_authorization"
    assert conflict.body["active_device"]["name"] == "Điện thoại của An"
    assert conflict.body["active_device"]["last_seen_at"]
    otp_step = expect_challenge(lambda: phone_b.confirm_takeover(conflict.auth_session))
    assert otp_step.reason == "otp_required"
    assert otp_step.body["otp_sent_to"] == "+84 9** *** *23"
    tokens_b = phone_b.submit_otp(otp_step.auth_session, world.last_otp())
    assert tokens_b.token_type == "DPoP"

    refused = expect_challenge(phone_a.refresh)
    assert refused.error == "invalid_grant" and refused.reason == "session_replaced"
    assert _introspect(world, tokens_a.access_token) == {"active": False}
    assert phone_a.userinfo().status_code == 401
    assert phone_b.userinfo().status_code == 200

    with world.app.app_context():
        sid_a = jwt.decode(tokens_a.id_token, KeySet.import_key_set(
            requests.get(f"{world.base}/jwks.json", timeout=10).json())).claims["sid"]
        names = {e.name for e in Event.query.all()}
        assert {"device.bound", "device.taken_over"} <= names
    world.sms()  # delivers the outbox, back-channel logout included
    assert len(world.receiver.tokens) == 1
    jwks = KeySet.import_key_set(requests.get(f"{world.base}/jwks.json", timeout=10).json())
    logout = jwt.decode(world.receiver.tokens[0], jwks)
    assert logout.header["typ"] == "logout+jwt"
    assert logout.claims["sid"] == sid_a and logout.claims["aud"] == world.client_id
    assert "http://schemas.openid.net/event/backchannel-logout" in logout.claims["events"]
    notices = [m for m in world.sms() if m["template"] == "new_device_signed_in"]
    assert len(notices) == 1 and "May tinh bang" in notices[0]["text"]


def test_same_device_signs_in_again_without_otp(world):
    phone = world.device("An")
    first = phone.sign_in(world.username, world.password)
    again = phone.sign_in(world.username, world.password)
    assert again.access_token != first.access_token
    assert [m for m in world.sms() if m["template"] == "otp"] == []
    refused = expect_challenge(lambda: AppClient.refresh(_with_tokens(phone, first)))
    assert refused.reason == "signed_in_again"


def _with_tokens(device, tokens):
    device.tokens = tokens
    return device


def test_wrong_reused_and_foreign_otps(world):
    world.device("A").sign_in(world.username, world.password)
    phone_b = world.device("B")
    otp_step = _take_over(world, phone_b)
    wrong = expect_challenge(lambda: phone_b.submit_otp(otp_step.auth_session, "000000"))
    assert wrong.reason == "otp_invalid" and wrong.auth_session == otp_step.auth_session
    # A recovery code for the same account does not work for the takeover.
    requests.post(f"{world.base}/api/v1/recovery", timeout=10,
                  json={"username": world.username, "phone": "0912345623"})
    recovery_code = world.last_otp()
    foreign = expect_challenge(lambda: phone_b.submit_otp(otp_step.auth_session, recovery_code))
    assert foreign.reason == "otp_invalid"
    # The takeover code: once.
    codes = [m["text"] for m in world.sms() if m["template"] == "otp"]
    takeover_code = re.search(r"\b(\d{6})\b", codes[0])[1]
    phone_b.submit_otp(otp_step.auth_session, takeover_code)
    reused = expect_challenge(lambda: phone_b.submit_otp(otp_step.auth_session, takeover_code))
    assert reused.error == "invalid_session" and reused.reason == "session_expired"


def test_dpop_key_is_the_device(world):
    phone = world.device("A")
    tokens = phone.sign_in(world.username, world.password)
    thief = AppClient(world.base, world.client_id, device_id="thief-device-01",
                      device_name="Thief", key=ECKey.generate_key("P-256", private=True))
    thief.tokens = tokens
    stolen = expect_challenge(thief.refresh)
    assert stolen.error == "invalid_dpop_proof" and stolen.reason == "key_mismatch"
    assert thief.userinfo().status_code == 401
    bearer = requests.get(f"{world.base}/userinfo", timeout=10,
                          headers={"Authorization": f"Bearer {tokens.access_token}"})
    assert bearer.status_code == 401
    assert phone.refresh().token_type == "DPoP"  # the real device still can
    # An auth_session continued with another key is refused.
    phone_b = world.device("B")
    conflict = expect_challenge(lambda: phone_b.sign_in(world.username, world.password))
    other = AppClient(world.base, world.client_id, device_id="dev-B-0001", device_name="B")
    refused = expect_challenge(lambda: other.confirm_takeover(conflict.auth_session))
    assert refused.error == "invalid_session" and refused.reason == "dpop_key_mismatch"


def test_wrong_credentials_and_locked_never_reveal_the_account(world):
    phone = world.device("A")
    unknown = expect_challenge(lambda: phone.sign_in("0999999999", world.password))
    wrong = expect_challenge(lambda: phone.sign_in(world.username, "not-the-password"))
    assert (unknown.status, unknown.body) == (wrong.status, wrong.body)
    assert wrong.reason == "invalid_credentials"


def test_concurrent_takeovers_have_one_winner(world):
    world.device("A").sign_in(world.username, world.password)
    racers = [world.device(f"R{i}") for i in range(2)]
    steps = []
    for racer in racers:
        steps.append(_take_over(world, racer))
    codes = [re.search(r"\b(\d{6})\b", m["text"])[1]
             for m in world.sms() if m["template"] == "otp"]
    barrier = threading.Barrier(2)
    outcomes = [None, None]

    def finish(i):
        barrier.wait()
        try:
            racers[i].submit_otp(steps[i].auth_session, codes[i])
            outcomes[i] = "won"
        except Challenge as exc:
            outcomes[i] = exc.reason

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["device_changed", "won"]
    with world.app.app_context():
        assert ActiveDevice.query.count() == 1
        # the loser's session went with its lost compare-and-set: only the winner's is live
        live = LoginSession.query.filter_by(kind="app", revoked_at=None).all()
        assert [s.sid for s in live] == [ActiveDevice.query.one().sid]


def test_refresh_racing_a_takeover_leaves_the_old_device_nothing(world):
    phone_a = world.device("A")
    phone_a.sign_in(world.username, world.password)
    phone_b = world.device("B")
    otp_step = _take_over(world, phone_b)
    code = world.last_otp()
    barrier = threading.Barrier(2)
    results = {}

    def refresh_a():
        barrier.wait()
        try:
            results["a"] = phone_a.refresh()
        except Challenge as exc:
            results["a"] = exc

    def take_b():
        barrier.wait()
        results["b"] = phone_b.submit_otp(otp_step.auth_session, code)

    threads = [threading.Thread(target=refresh_a), threading.Thread(target=take_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    leftover = phone_a.tokens
    assert _introspect(world, leftover.access_token) == {"active": False}
    after = expect_challenge(phone_a.refresh)
    assert after.error == "invalid_grant"


def test_dpop_resource_errors_use_the_dpop_challenge(world):
    phone = world.device("A")
    tokens = phone.sign_in(world.username, world.password)
    no_proof = requests.get(f"{world.base}/userinfo", timeout=10,
                            headers={"Authorization": f"DPoP {tokens.access_token}"})
    assert no_proof.status_code == 401
    assert no_proof.headers["WWW-Authenticate"].startswith("DPoP ")
    assert 'error="invalid_dpop_proof"' in no_proof.headers["WWW-Authenticate"]
    replay_proof = phone.proof("GET", f"{world.base}/userinfo", access_token=tokens.access_token)
    headers = {"Authorization": f"DPoP {tokens.access_token}", "DPoP": replay_proof}
    assert requests.get(f"{world.base}/userinfo", headers=headers, timeout=10).status_code == 200
    replayed = requests.get(f"{world.base}/userinfo", headers=headers, timeout=10)
    assert replayed.status_code == 401 and "invalid_dpop_proof" in replayed.headers[
        "WWW-Authenticate"]
    api = requests.post(f"{world.base}/api/v1/password", timeout=10, json={})
    assert api.status_code == 401


def test_person_sees_and_staff_clears_the_active_device(world):
    phone = world.device("Điện thoại của An")
    tokens = phone.sign_in(world.username, world.password)
    url = f"{world.base}/api/v1/devices/active"
    seen = requests.get(url, timeout=10, headers={
        "Authorization": f"DPoP {tokens.access_token}",
        "DPoP": phone.proof("GET", url, access_token=tokens.access_token)}).json()
    assert seen["active_device"]["name"] == "Điện thoại của An"
    assert seen["active_device"]["this_session"] is True
    result = world.app.test_cli_runner().invoke(args=["devices", "clear", "--bhxh",
                                                      world.username])
    assert result.exit_code == 0 and '"cleared": true' in result.output
    refused = expect_challenge(phone.refresh)
    assert refused.reason == "device_cleared"
    assert _introspect(world, tokens.access_token) == {"active": False}
    with world.app.app_context():
        assert "device.cleared" in {e.name for e in Event.query.all()}
    # After clearing, a new device signs in with no warning and no OTP.
    world.device("Máy mới").sign_in(world.username, world.password)


def test_app_rule_does_not_touch_browser_sessions_unless_configured(make_app):
    from gateway.models import LoginSession
    from gateway.services.sessions import start_session
    from tests.helpers import new_account

    app = make_app(BROWSER_SESSIONS_PER_ACCOUNT=2)
    with app.app_context():
        account = new_account()
        for _ in range(3):
            start_session(account, amr=["pwd"])
        live = LoginSession.query.filter(LoginSession.revoked_at.is_(None)).count()
        assert live == 2
