"""Forgot password in the browser and the app API; the same answer for everyone."""

import json
import re

from gateway.clock import FixedClock
from gateway.models import Account, Event, OutboxMessage
from gateway.services.outbox import deliver_pending
from tests.helpers import basic, csrf_of, exchange, get_code, new_account, new_client

NEW = "Bây giờ là mật khẩu mới 42"


def _last_otp(app) -> str:
    deliver_pending()
    with open(app.config["SMS_OUTBOX"], encoding="utf-8") as fh:
        lines = [json.loads(x) for x in fh if x.strip()]
    return re.search(r"\b(\d{6})\b", [x for x in lines if x["template"] == "otp"][-1]["text"])[1]


def test_api_recovery_resets_password_and_signs_out_everywhere(app, client):
    new_account()
    client_id, secret = new_client()
    result, verifier, _ = get_code(client, client_id)
    tokens = exchange(client, client_id, secret, result["code"], verifier).json
    started = client.post("/api/v1/recovery", json={"username": "0123456789",
                                                    "phone": "0912345623"})
    assert started.status_code == 202
    assert started.json["otp_sent_to"] == "+84 9** *** *23"
    code = _last_otp(app)
    done = client.post("/api/v1/recovery/complete", json={
        "recovery_id": started.json["recovery_id"], "otp": code, "new_password": NEW})
    assert done.status_code == 204, done.json
    refresh = client.post("/token", data={"grant_type": "refresh_token",
                                          "refresh_token": tokens["refresh_token"]},
                          headers=basic(client_id, secret))
    assert refresh.status_code == 400
    introspect = client.post("/introspect", data={"token": tokens["access_token"]},
                             headers=basic(client_id, secret))
    assert introspect.json == {"active": False}
    again = client.post("/api/v1/recovery/complete", json={
        "recovery_id": started.json["recovery_id"], "otp": code, "new_password": NEW + "x"})
    assert again.status_code == 400 and again.json["error"] == "otp_expired"
    assert "recovery.completed" in {e.name for e in Event.query.all()}


def test_same_answer_for_unknown_account_and_wrong_phone(app, client):
    new_account()
    answers = [client.post("/api/v1/recovery", json={"username": u, "phone": p})
               for u, p in [("0123456789", "0912345623"), ("0999999999", "0912345623"),
                            ("0123456789", "0987654321")]]
    assert {a.status_code for a in answers} == {202}
    shapes = [sorted(a.json) for a in answers]
    assert shapes[0] == shapes[1] == shapes[2]
    assert answers[0].json["otp_sent_to"] == answers[1].json["otp_sent_to"]
    assert OutboxMessage.query.count() == 1  # only the real, matching one gets a code
    for answer in answers[1:]:
        wrong = client.post("/api/v1/recovery/complete", json={
            "recovery_id": answer.json["recovery_id"], "otp": "123456", "new_password": NEW})
        assert wrong.status_code == 400 and wrong.json["error"] == "otp_invalid"


def test_refused_password_does_not_spend_the_verified_code(app, client):
    new_account()
    started = client.post("/api/v1/recovery", json={"username": "0123456789",
                                                    "phone": "+84912345623"}).json
    code = _last_otp(app)
    weak = client.post("/api/v1/recovery/complete", json={
        "recovery_id": started["recovery_id"], "otp": code, "new_password": "123456789"})
    assert weak.status_code == 400 and "common_password" in weak.json["violations"]
    ok = client.post("/api/v1/recovery/complete", json={
        "recovery_id": started["recovery_id"], "otp": "", "new_password": NEW})
    assert ok.status_code == 204


def test_wrong_codes_count_towards_the_login_lock(make_app):
    app = make_app(LOCKOUT_THRESHOLD=3)
    with app.app_context():
        new_account()
        client = app.test_client()
        started = client.post("/api/v1/recovery", json={"username": "0123456789",
                                                        "phone": "0912345623"}).json
        for _ in range(3):
            client.post("/api/v1/recovery/complete", json={
                "recovery_id": started["recovery_id"], "otp": "000000", "new_password": NEW})
        locked = client.post("/api/v1/recovery/complete", json={
            "recovery_id": started["recovery_id"], "otp": _last_otp(app), "new_password": NEW})
        assert locked.status_code == 429 and locked.json["error"] == "account_locked"


def test_browser_recovery_pages(app, client):
    new_account()
    page = client.get("/recover").get_data(as_text=True)
    assert "Quên mật khẩu" in page
    step = client.post("/recover", data={"csrf_token": csrf_of(page), "username": "0123456789",
                                         "phone": "0912 345 623"})
    assert step.status_code == 302
    verify_page = client.get(step.location).get_data(as_text=True)
    assert "+84 9** *** *23" in verify_page
    recovery_id = re.search(r'name="id" value="([^"]+)"', verify_page)[1]
    done = client.post("/recover/verify", data={
        "csrf_token": csrf_of(verify_page), "id": recovery_id, "to": "+84 9** *** *23",
        "otp": _last_otp(app), "new_password": NEW, "confirm_password": NEW})
    assert done.status_code == 200 and 'data-code="password_reset_done"' in done.get_data(
        as_text=True)


def test_api_change_password_and_sign_out_everywhere(app, client):
    new_account()
    client_id, secret = new_client()
    result, verifier, _ = get_code(client, client_id)
    tokens = exchange(client, client_id, secret, result["code"], verifier).json
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    wrong = client.post("/api/v1/password", json={"current_password": "nope-nope",
                                                  "new_password": NEW}, headers=auth)
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_credentials"
    ok = client.post("/api/v1/password", json={"current_password": "Mật-khẩu-đủ-dài-2026",
                                               "new_password": NEW}, headers=auth)
    assert ok.status_code == 204
    # the session that asked keeps working; then the person signs out everywhere
    out = client.post("/api/v1/sessions/revoke-all", json={"password": NEW}, headers=auth)
    assert out.status_code == 200
    assert client.get("/userinfo", headers=auth).status_code == 401
    assert not Account.query.one().must_change_password


def test_reminders_once_per_window(make_app):
    clock = FixedClock()
    app = make_app(clock=clock)
    with app.app_context():
        from gateway.jobs.password_reminders import send_reminders

        new_account()
        assert send_reminders()["sent"] == 0
        clock.advance(days=170)
        assert send_reminders()["sent"] == 1
        assert send_reminders()["sent"] == 0
        clock.advance(days=20)  # expired: the forced change takes over, no more reminders
        assert send_reminders()["sent"] == 0
        assert OutboxMessage.query.filter_by(template="password_expiry_reminder").count() == 1


def test_recovery_starts_are_limited_per_address(make_app):
    app = make_app(RECOVERY_STARTS_PER_ADDRESS=2)
    with app.app_context():
        client = app.test_client()
        answers = [client.post("/api/v1/recovery", json={"username": "0999999999",
                                                        "phone": "0912345623"})
                   for _ in range(3)]
        assert [a.status_code for a in answers] == [202, 202, 429]
        assert answers[2].json["error"] == "too_many_attempts"
