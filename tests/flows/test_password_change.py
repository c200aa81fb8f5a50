"""Issued and expired passwords must be changed before anything is issued; every change has
the same checks and consequences."""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

from gateway.clock import FixedClock
from gateway.crypto.password_hashing import verify_password
from gateway.extensions import db
from gateway.models import Account, Event, LoginSession, OutboxMessage
from gateway.services.outbox import deliver_pending
from gateway.services.passwords import PasswordRejectedError, change_password, issue_password
from tests.helpers import (
    PASSWORD,
    authorize_params,
    csrf_of,
    exchange,
    get_code,
    login,
    new_account,
    new_client,
)

NEW = "Một mật khẩu mới rất dài 7"


def _start(client, client_id, verifier="v" * 43):
    params = authorize_params(client_id, verifier)
    response = client.get("/authorize?" + urlencode(params))
    return login(client, response.location), params


def _change(client, location, current=PASSWORD, new=NEW, confirm=None):
    page = client.get(location).get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', page).group(1)
    return client.post("/login/password", data={
        "csrf_token": csrf_of(page), "flow": flow, "current_password": current,
        "new_password": new, "confirm_password": new if confirm is None else confirm})


def test_issued_password_must_be_changed_before_any_code(app, client):
    new_account(must_change_password=True)
    client_id, secret = new_client()
    response, params = _start(client, client_id)
    assert response.status_code == 302 and response.location.startswith("/login/password")
    # Around the change step: no session, so /authorize asks for a login again.
    again = client.get("/authorize?" + urlencode(params))
    assert again.location.startswith("/login?")
    assert LoginSession.query.count() == 0
    # A weak or personal new password is refused with the rule named.
    weak = _change(client, response.location, new="0123456789abc")
    assert weak.status_code == 400 and 'data-code="contains_personal_data"' in weak.get_data(
        as_text=True)
    done = _change(client, response.location)
    assert done.status_code == 302 and "login_flow=" in done.location
    final = client.get(done.location)
    code = parse_qs(urlsplit(final.location).query)["code"][0]
    assert exchange(client, client_id, secret, code, "v" * 43).status_code == 200
    account = Account.query.one()
    assert not account.must_change_password
    assert verify_password(account.password_hash, NEW).ok


def test_expired_password_forces_a_change_day_181_not_day_180(make_app):
    clock = FixedClock()
    app = make_app(clock=clock)
    with app.app_context():
        new_account()
        client_id, _ = new_client()
        clock.advance(days=180, hours=23)
        client = app.test_client()
        ok, _ = _start(client, client_id)
        assert ok.location.startswith("/authorize?")
        clock.advance(hours=2)
        client = app.test_client()
        forced, _ = _start(client, client_id)
        assert forced.location.startswith("/login/password")
        assert "6 tháng" in client.get(forced.location).get_data(as_text=True)


def test_change_revokes_other_sessions_and_sends_sms(app, client):
    account = new_account()
    client_id, secret = new_client()
    result, verifier, _ = get_code(client, client_id)
    tokens = exchange(client, client_id, secret, result["code"], verifier).json
    change_password(account, NEW, reason="self_service", current_password=PASSWORD)
    refresh = client.post("/token", data={"grant_type": "refresh_token",
                                          "refresh_token": tokens["refresh_token"]},
                          auth=(client_id, secret))
    assert refresh.status_code == 400 and refresh.json["reason"] == "password_changed"
    assert LoginSession.query.filter(LoginSession.revoked_at.is_(None)).count() == 0
    assert OutboxMessage.query.filter_by(template="password_changed").count() == 1
    names = [e.name for e in Event.query.all()]
    assert "password.changed" in names
    text = " ".join(str(e.data) for e in Event.query.all())
    assert NEW not in text and PASSWORD not in text


def test_history_and_similarity_are_enforced(app):
    account = new_account()
    change_password(account, NEW, reason="t", current_password=PASSWORD)
    for attempt, code in [(PASSWORD, "reused_password"), (NEW, "reused_password"),
                          ("Một mật khẩu mới rất dài 8", "too_similar")]:
        try:
            change_password(account, attempt, reason="t", current_password=NEW)
            raise AssertionError(f"{attempt!r} must be refused")
        except PasswordRejectedError as exc:
            assert code in exc.violations


def test_staff_reset_sends_one_time_password_and_forces_change(make_app, backend_settings):
    app = make_app()
    with app.app_context():
        account = new_account()
        temporary = issue_password(account, reason="staff_reset")
        db.session.refresh(account)
        assert account.must_change_password
        deliver_pending()
        with open(app.config["SMS_OUTBOX"], encoding="utf-8") as fh:
            assert temporary in fh.read()
        message = OutboxMessage.query.filter_by(template="password_reset").one()
        assert message.delivered_at is not None and message.payload_encrypted == b""
        client = app.test_client()
        client_id, _ = new_client()
        params = authorize_params(client_id, "v" * 43)
        response = login(client, client.get("/authorize?" + urlencode(params)).location,
                         password=temporary)
        assert response.location.startswith("/login/password")


def test_change_step_expires_with_the_flow(app, client):
    new_account(must_change_password=True)
    client_id, _ = new_client()
    response, _ = _start(client, client_id)
    flow = parse_qs(urlsplit(response.location).query)["flow"][0]
    assert client.get(f"/login/password?flow={flow}x").status_code == 400
    assert timedelta  # imported for readers: lifetimes come from LOGIN_FLOW_TTL


def test_the_forced_change_submitted_twice_at_once_changes_the_password_once(make_app):
    """A double-clicked form: one submission changes the password and signs in; the others
    find no flow, and the session the winner started stays alive."""
    import requests

    from tests.helpers import race
    from tests.helpers.network import serve

    app = make_app()
    with app.app_context():
        new_account(must_change_password=True)
        client_id, _ = new_client()
        db.session.remove()
    with serve(app) as base:
        browser = requests.Session()
        first = browser.get(base + "/authorize?" + urlencode(authorize_params(client_id,
                                                                              "v" * 43)))
        page = first.text
        flow = re.search(r'name="flow" value="([^"]+)"', page).group(1)
        forced = browser.post(base + "/login", data={
            "csrf_token": csrf_of(page), "flow": flow, "username": "0123456789",
            "password": PASSWORD}, allow_redirects=False)
        change_page = browser.get(base + forced.headers["Location"]).text
        form = {"csrf_token": csrf_of(change_page), "flow": flow, "current_password": PASSWORD,
                "new_password": NEW, "confirm_password": NEW}
        cookies = browser.cookies.get_dict()

        def submit(_):
            return requests.post(base + "/login/password", data=form, cookies=cookies,
                                 allow_redirects=False, timeout=30).status_code

        statuses = race(4, submit)
    assert statuses.count(302) == 1, statuses
    with app.app_context():
        assert Event.query.filter_by(name="password.changed").count() == 1
        live = LoginSession.query.filter(LoginSession.revoked_at.is_(None)).count()
        assert live == 1
