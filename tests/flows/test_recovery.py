"""Forgot password in the browser and the app API; the same answer for everyone."""

import json
import re

import pytest

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


# ---------------------------------------------------------------- no pair told apart

KNOWN, UNKNOWN = "0123456789", "0999999999"
CASES = {"matching pair": (KNOWN, "0912345623"), "unknown number": (UNKNOWN, "0912345623"),
         "wrong phone": (KNOWN, "0987654321")}


class CountingStore:
    """The app's real store, recording each operation it is asked for (while ``on``)."""

    def __init__(self, real, log):
        self._real, self._log = real, log

    def __getattr__(self, name):
        method = getattr(self._real, name)
        if name not in ("put", "add", "get", "get_many", "take", "delete", "incr", "incr_get"):
            return method

        def counted(*args, **kwargs):
            self._log.append(f"store.{name}")
            return method(*args, **kwargs)

        return counted


def _work_of(app, call):
    """(store operations, SQL statements) done while ``call()`` runs: the request path."""
    from sqlalchemy import event

    from gateway.extensions import db

    log = []
    real = app.extensions["gateway.store"]
    app.extensions["gateway.store"] = CountingStore(real, log)

    def sql(conn, cursor, statement, *args):
        log.append("sql " + " ".join(statement.split()))

    engine = db.engine
    event.listen(engine, "before_cursor_execute", sql)
    try:
        result = call()
    finally:
        event.remove(engine, "before_cursor_execute", sql)
        app.extensions["gateway.store"] = real
    return log, result


def test_start_and_a_wrong_code_do_the_same_work_for_every_pair(app, client):
    """The same store operations and SQL statements, in the same order, on the request path
    of a start and of a wrong code, for a matching pair, an unknown number and a known number
    with another phone; the code and its SMS are made after the response, for the match only."""
    new_account()
    client.post("/api/v1/recovery", json={"username": UNKNOWN, "phone": "0912345623"})  # warm
    work, answers = {}, {}
    for case, (username, phone) in CASES.items():
        log, response = _work_of(app, lambda: client.post(  # noqa: B023
            "/api/v1/recovery", json={"username": username, "phone": phone},  # noqa: B023
            buffered=False))
        assert not [x for x in log if "outbox" in x or "events" in x], log
        messages_before = OutboxMessage.query.count()
        response.close()  # the server sent the answer: deferred work runs now
        sent = OutboxMessage.query.count() - messages_before
        assert sent == (1 if case == "matching pair" else 0), case
        work[case], answers[case] = log, response
    assert work["matching pair"] == work["unknown number"] == work["wrong phone"]
    assert [x for x in work["matching pair"] if x.startswith("store.")], "nothing counted"
    assert {(a.status_code, tuple(sorted(a.json))) for a in answers.values()} == {
        (202, ("expires_in", "otp_sent_to", "recovery_id"))}

    code = _last_otp(app)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    tried = {}
    for case, answer in answers.items():
        log, response = _work_of(app, lambda: client.post(  # noqa: B023
            "/api/v1/recovery/complete", json={
                "recovery_id": answer.json["recovery_id"],  # noqa: B023
                "otp": wrong, "new_password": NEW}))
        assert (response.status_code, response.json) == (
            400, {"error": "otp_invalid", "field": "otp"})
        tried[case] = log
    assert tried["matching pair"] == tried["unknown number"] == tried["wrong phone"]


def _answers(client, recovery_id, code, n):
    out = []
    for _ in range(n):
        r = client.post("/api/v1/recovery/complete", json={
            "recovery_id": recovery_id, "otp": code, "new_password": NEW})
        out.append((r.status_code, r.json))
    return out


def _start(client, case):
    username, phone = CASES[case]
    return client.post("/api/v1/recovery", json={"username": username, "phone": phone}).json


def _wrong(app, case):
    """A code that is not the matching pair's real one (any code, for the others)."""
    if case != "matching pair":
        return "000000"
    return f"{(int(_last_otp(app)) + 1) % 10**6:06d}"


INVALID = (400, {"error": "otp_invalid", "field": "otp"})
EXCEEDED = (400, {"error": "otp_attempts_exceeded", "field": "otp"})
EXPIRED = (400, {"error": "otp_expired", "field": "otp"})
BUDGET = (429, {"error": "otp_budget_exhausted", "field": "otp"})


@pytest.fixture
def recovery_app(make_app, clock, tmp_path):
    """Locks kept out of the way (they apply to every pair alike; tested above)."""
    app = make_app(clock=clock, LOCKOUT_THRESHOLD=1000, SMS_OUTBOX=str(tmp_path / "sms.jsonl"))
    with app.app_context():
        new_account()
        yield app


@pytest.mark.parametrize("case", CASES)
def test_five_wrong_codes_burn_the_recovery_for_every_pair(recovery_app, case):
    client = recovery_app.test_client()
    started = _start(client, case)
    wrong = _wrong(recovery_app, case)
    assert _answers(client, started["recovery_id"], wrong, 6) == [INVALID] * 4 + [EXCEEDED] * 2
    if case == "matching pair":  # the real code is burned too
        assert _answers(client, started["recovery_id"], _last_otp(recovery_app), 1) == [EXCEEDED]


@pytest.mark.parametrize("case", CASES)
def test_an_expired_recovery_answers_the_same_for_every_pair(recovery_app, clock, case):
    client = recovery_app.test_client()
    started = _start(client, case)
    wrong = _wrong(recovery_app, case)
    assert _answers(client, started["recovery_id"], wrong, 1) == [INVALID]
    clock.advance(seconds=recovery_app.config["OTP_TTL"])
    assert _answers(client, started["recovery_id"], wrong, 2) == [EXPIRED] * 2
    if case == "matching pair":
        assert _answers(client, started["recovery_id"], _last_otp(recovery_app), 1) == [EXPIRED]


@pytest.mark.parametrize("case", CASES)
def test_the_daily_budget_answers_the_same_for_every_pair(recovery_app, case):
    client = recovery_app.test_client()
    first = _start(client, case)
    wrong = _wrong(recovery_app, case)
    answers = _answers(client, first["recovery_id"], wrong, 5)
    second = _start(client, case)
    wrong = _wrong(recovery_app, case)
    answers += _answers(client, second["recovery_id"], wrong, 5)
    assert answers == [INVALID] * 4 + [EXCEEDED] + [INVALID] * 4 + [BUDGET]
    third = _start(client, case)  # a new recovery cannot get round the 24-hour budget
    assert _answers(client, third["recovery_id"], "000000", 1) == [BUDGET]
    if case == "matching pair":  # and no code is even sent for it
        with open(recovery_app.config["SMS_OUTBOX"], encoding="utf-8") as fh:
            assert len([x for x in fh if '"otp"' in x]) == 2
