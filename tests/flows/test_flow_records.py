"""The flow record seen from outside: a login flow belongs to the browser that started it,
and each flow's last step is taken by one request among concurrent ones (real HTTP, threads
released together)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import requests

from examples.vssid_app_client import Challenge
from gateway.extensions import db
from gateway.models import Account, Event, LoginSession
from gateway.services.outbox import deliver_pending
from tests.helpers import (
    PASSWORD,
    REDIRECT,
    authorize_params,
    csrf_of,
    login,
    new_account,
    new_client,
    race,
)
from tests.helpers.network import serve
from tests.helpers.oidc import authorize, query_of

RACERS = 8
NEW = "Một mật khẩu mới hoàn toàn khác {}"


def _flow_of(location: str) -> str:
    return query_of(location)["flow"]


# ------------------------------------------------------------- the login flow's browser


def test_a_login_flow_is_useless_in_another_browser(app):
    new_account()
    client_id, _ = new_client()
    person, other = app.test_client(), app.test_client()
    start = authorize(person, client_id)
    assert start.location.startswith("/login?")
    leaked = other.get(start.location)  # the id, copied from a URL, in another browser
    assert leaked.status_code == 400 and "flow_expired" in leaked.get_data(as_text=True)
    page = other.get(authorize(other, client_id).location).get_data(as_text=True)  # its own
    posted = other.post("/login", data={"csrf_token": csrf_of(page),
                                        "flow": _flow_of(start.location),
                                        "username": "0123456789", "password": PASSWORD})
    assert posted.status_code == 400 and LoginSession.query.count() == 0
    signed_in = login(person, start.location)  # the person's own browser still can
    assert signed_in.status_code == 302 and "login_flow=" in signed_in.location


def test_a_return_url_replayed_elsewhere_does_not_spend_the_flow(app):
    """max_age=0 needs the fresh sign-in: another browser presenting the return URL first
    must not use up the flow, or the person would be sent round again."""
    new_account()
    client_id, _ = new_client()
    person, other = app.test_client(), app.test_client()
    after = login(person, authorize(person, client_id, max_age="0").location)
    assert after.location.startswith("/authorize?")
    assert other.get(after.location).location.startswith("/login?")  # no session there
    final = person.get(after.location)
    assert final.status_code == 302 and final.location.startswith(REDIRECT + "?code="), (
        final.location)


def test_the_return_to_authorize_is_taken_once_among_racers(app):
    new_account()
    client_id, _ = new_client()
    with serve(app) as base:
        browser = requests.Session()
        browser.trust_env = False
        params = authorize_params(client_id, "v" * 43, max_age="0")
        start = browser.get(f"{base}/authorize?" + urlencode(params), allow_redirects=False)
        page = browser.get(base + start.headers["Location"]).text
        after = browser.post(f"{base}/login", allow_redirects=False, data={
            "csrf_token": csrf_of(page), "flow": re.search(r'name="flow" value="([^"]+)"',
                                                           page)[1],
            "username": "0123456789", "password": PASSWORD})
        back = base + after.headers["Location"]
        cookies = browser.cookies.get_dict()

        def follow(_):
            with requests.Session() as tab:  # the same browser: its cookies, another tab
                tab.trust_env = False
                return tab.get(back, cookies=cookies, allow_redirects=False,
                               timeout=60).headers["Location"]

        places = race(RACERS, follow)
    codes = [p for p in places if p.startswith(REDIRECT + "?code=")]
    assert len(codes) == 1, places
    assert all(p.startswith("/login?") for p in places if p not in codes), places


# ------------------------------------------------------------- recovery's completion


def _otp(app) -> str:
    deliver_pending()
    with open(app.config["SMS_OUTBOX"], encoding="utf-8") as fh:
        lines = [json.loads(x) for x in fh if x.strip()]
    return re.search(r"\b(\d{6})\b", [x for x in lines if x["template"] == "otp"][-1]["text"])[1]


def test_a_recovery_changes_the_password_once_among_racers(app, client):
    new_account()
    started = client.post("/api/v1/recovery", json={"username": "0123456789",
                                                    "phone": "0912345623"}).json
    weak = client.post("/api/v1/recovery/complete", json={
        "recovery_id": started["recovery_id"], "otp": _otp(app), "new_password": "123456789"})
    assert weak.status_code == 400  # the code is verified; the recovery waits for a password
    with serve(app) as base:
        def complete(i):
            answer = requests.post(f"{base}/api/v1/recovery/complete", timeout=60, json={
                "recovery_id": started["recovery_id"], "otp": "",
                "new_password": NEW.format(i)})
            return answer.status_code, (answer.json() if answer.content else None)

        outcomes = race(RACERS, complete)
    assert sorted(outcomes, key=str) == sorted(
        [(204, None)] + [(400, {"error": "otp_expired", "field": "otp"})] * (RACERS - 1),
        key=str), outcomes
    db.session.remove()
    assert Event.query.filter_by(name="recovery.completed").count() == 1
    assert Event.query.filter_by(name="password.changed").count() == 1


# ------------------------------------------------------------- the device flow's finish


def test_a_device_sign_in_ends_once_among_racers(world):
    with world.app.app_context():
        account = Account.query.one()
        account.must_change_password = True
        db.session.commit()
    phone = world.device("An")
    try:
        phone.sign_in(world.username, world.password)
        raise AssertionError("a forced change was expected")
    except Challenge as step:
        assert step.reason == "password_change_required"
        auth_session = step.auth_session

    def new_password(i):
        try:
            phone.set_new_password(auth_session, NEW.format(i))
            return "signed_in"
        except Challenge as exc:
            return exc.reason or f"{exc.status} {exc.body}"

    outcomes = race(RACERS, new_password)
    assert sorted(outcomes) == ["session_expired"] * (RACERS - 1) + ["signed_in"], outcomes
    with world.app.app_context():
        assert LoginSession.query.count() == 1  # the losers started no session
