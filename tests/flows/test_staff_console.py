"""The staff console over HTTP: its own sign-in (no enumeration, lockout, CSRF), its own
session cookie (isolated from the citizens' SSO both ways), timeouts on the injected clock,
roles, and the account pages' tickets."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

import pytest

from gateway.clock import FixedClock
from gateway.extensions import db
from gateway.models import AuditRecord, Event, StaffSession
from tests.helpers import csrf_of, get_code, new_account, new_client
from tests.helpers.oidc import assert_error_redirect, authorize
from tests.helpers.staff import (
    STAFF_PASSWORD,
    code_at,
    codes_on,
    new_staff,
    page_token,
    sign_in,
    sign_in_form,
)


@pytest.fixture
def console(make_app):
    """An app on a FixedClock (context pushed) with a clerk, an agent and a supervisor."""
    clock = FixedClock()
    app = make_app(clock=clock)
    with app.app_context():
        new_staff("clerk.an", role="office_staff")
        new_staff("agent.binh", role="post_office_agent")
        new_staff("boss.chi", role="supervisor", office=None)
        app.clock = clock
        yield app
        db.session.remove()


def signed_in(app, username="clerk.an"):
    """A fresh browser signed in to the console as ``username`` (a new TOTP step each time)."""
    from gateway.services.staff import find_by_username

    app.clock.advance(seconds=30)
    client = app.test_client()
    response = sign_in(client, username, code_at(find_by_username(username)))
    assert response.status_code == 302 and response.location == "/staff/", response.data
    return client


def _cookies(response) -> dict[str, SimpleCookie]:
    out = {}
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        for name, morsel in cookie.items():
            out[name] = morsel
    return out


# ------------------------------------------------------------------ sign-in


def test_sign_in_sets_only_the_consoles_own_cookie(console):
    client = console.test_client()
    page = client.get("/staff/login")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert set(_cookies(page)) == {"vssid_staff_form"}
    form = _cookies(page)["vssid_staff_form"]
    assert (form["path"], form["samesite"], form["httponly"]) == ("/staff", "Strict", True)
    html = page.get_data(as_text=True)
    assert 'name="totp"' in html and 'lang="vi"' in html and "Đăng nhập cán bộ" in html

    from gateway.services.staff import find_by_username

    staff = find_by_username("clerk.an")
    done = sign_in(client, "clerk.an", code_at(staff), csrf=csrf_of(html))
    assert done.status_code == 302 and done.location == "/staff/"
    cookies = _cookies(done)
    assert set(cookies) == {"vssid_staff"}
    cookie = cookies["vssid_staff"]
    assert (cookie["path"], cookie["samesite"], cookie["httponly"], cookie["secure"]) == (
        "/staff", "Strict", True, "")
    assert not cookie["max-age"] and not cookie["expires"]
    home = client.get("/staff/")
    assert home.status_code == 200
    assert re.search(r'id="home-username">clerk.an<', home.get_data(as_text=True))
    assert not any(name in ("vssid_sso", "vssid_ui") for name in _cookies(home))
    [event] = Event.query.filter_by(name="staff.signed_in").all()
    assert event.data["staff_id"] == staff.id and event.data["role"] == "office_staff"


def test_with_an_https_issuer_the_cookies_are_secure(make_app):
    app = make_app(ISSUER="https://id.vssid.example.vn")
    with app.app_context():
        staff = new_staff()
        client = app.test_client()
        page = client.get("/staff/login", base_url="https://id.vssid.example.vn")
        assert _cookies(page)["vssid_staff_form"]["secure"] is True
        done = client.post("/staff/login", base_url="https://id.vssid.example.vn", data={
            "csrf_token": csrf_of(page.get_data(as_text=True)), "username": "clerk.an",
            "password": STAFF_PASSWORD, "totp": code_at(staff)})
        assert done.status_code == 302
        assert _cookies(done)["vssid_staff"]["secure"] is True
        db.session.remove()


def _normalised(response):
    body = re.sub(r'value="[^"]*"', 'value=""', response.get_data(as_text=True))
    return response.status_code, body


def test_every_wrong_answer_looks_the_same(console):
    from gateway.services.staff import find_by_username

    staff = find_by_username("clerk.an")
    client = console.test_client()
    token = sign_in_form(client)
    wrong_code = next(c for c in (f"{n:06d}" for n in range(10**6))
                      if c not in {code_at(staff, d) for d in (-1, 0, 1)})
    answers = [
        sign_in(client, "clerk.nobody", code_at(staff), csrf=token),
        sign_in(client, "clerk.an", code_at(staff), password="Sai-mật-khẩu-2026", csrf=token),
        sign_in(client, "clerk.an", wrong_code, csrf=token),
    ]
    assert {a.status_code for a in answers} == {401}
    assert codes_on(answers[0].get_data(as_text=True)) == ["staff_invalid_credentials"]
    assert len({_normalised(a) for a in answers}) == 1
    assert StaffSession.query.count() == 0


def test_a_used_code_does_not_open_a_second_session(console):
    from gateway.services.staff import find_by_username

    code = code_at(find_by_username("clerk.an"))
    first, second = console.test_client(), console.test_client()
    assert sign_in(first, "clerk.an", code).status_code == 302
    again = sign_in(second, "clerk.an", code)
    assert again.status_code == 401
    assert codes_on(again.get_data(as_text=True)) == ["staff_invalid_credentials"]


def test_the_lockout_answers_429_with_retry_after(console):
    from gateway.services.staff import find_by_username

    staff = find_by_username("clerk.an")
    client = console.test_client()
    token = sign_in_form(client)
    for _ in range(5):
        assert sign_in(client, "clerk.an", code_at(staff), password="Sai-2026-mật-khẩu",
                       csrf=token).status_code == 401
    locked = sign_in(client, "clerk.an", code_at(staff), csrf=token)
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    html = locked.get_data(as_text=True)
    assert codes_on(html) == ["staff_locked"] and "tạm khoá" in html


@pytest.mark.parametrize("token", ["", "forged", "other-browser"])
def test_sign_in_without_this_browsers_token_is_refused(console, token):
    from gateway.services.staff import find_by_username

    client = console.test_client()
    sign_in_form(client)
    if token == "other-browser":
        token = sign_in_form(console.test_client())
    refused = sign_in(client, "clerk.an", code_at(find_by_username("clerk.an")), csrf=token)
    assert refused.status_code == 400 and codes_on(refused.get_data(as_text=True)) == [
        "csrf_failed"]
    assert StaffSession.query.count() == 0


def test_a_token_without_its_cookie_is_refused(console):
    from gateway.services.staff import find_by_username

    client = console.test_client()
    token = sign_in_form(client)
    client.delete_cookie("vssid_staff_form", path="/staff")
    refused = sign_in(client, "clerk.an", code_at(find_by_username("clerk.an")), csrf=token)
    assert refused.status_code == 400


# ------------------------------------------------------------------ session


def test_sign_out_ends_the_session_on_the_server(console):
    client = signed_in(console)
    handle = client.get_cookie("vssid_staff", path="/staff").value
    token = page_token(client, "/staff/")
    out = client.post("/staff/logout", data={"csrf_token": token})
    assert out.status_code == 302 and out.location == "/staff/login?why=signed_out"
    assert _cookies(out)["vssid_staff"].value == ""
    assert StaffSession.query.one().ended_reason == "signed_out"
    replay = console.test_client()
    replay.set_cookie("vssid_staff", handle, path="/staff")
    assert replay.get("/staff/").status_code == 302  # the old cookie, kept back, is dead
    notice = client.get("/staff/login?why=signed_out").get_data(as_text=True)
    assert codes_on(notice) == ["staff_signed_out"]


def test_sign_out_needs_the_sessions_token(console):
    client = signed_in(console)
    refused = client.post("/staff/logout", data={"csrf_token": sign_in_form(
        console.test_client())})
    assert refused.status_code == 400
    assert StaffSession.query.one().ended_at is None


def test_fifteen_idle_minutes_end_the_session(console):
    client = signed_in(console)
    console.clock.advance(minutes=14)
    assert client.get("/staff/").status_code == 200
    console.clock.advance(minutes=15)
    gone = client.get("/staff/")
    assert gone.status_code == 302 and gone.location == "/staff/login?why=idle_timeout"
    assert _cookies(gone)["vssid_staff"].value == ""
    page = client.get(gone.location).get_data(as_text=True)
    assert codes_on(page) == ["staff_idle_timeout"]


def test_eight_hours_end_the_session(console):
    client = signed_in(console)
    for _ in range(47):
        console.clock.advance(minutes=10)
        assert client.get("/staff/").status_code == 200
    console.clock.advance(minutes=10)
    gone = client.get("/staff/")
    assert gone.location == "/staff/login?why=expired"


def test_a_signed_in_browser_skips_the_sign_in_page(console):
    client = signed_in(console)
    again = client.get("/staff/login")
    assert again.status_code == 302 and again.location == "/staff/"


# ------------------------------------------------------------------ isolation


def test_a_citizens_sso_session_never_opens_the_console(console):
    new_account()
    web_client, _ = new_client()
    citizen = console.test_client()
    get_code(citizen, web_client)  # signed in at /login: an SSO session in this browser
    sso = citizen.get_cookie(console.config["SSO_COOKIE_NAME"])
    assert sso is not None
    for path in ("/staff/", "/staff/accounts", "/staff/audit"):
        response = citizen.get(path)
        assert response.status_code == 302 and response.location.startswith("/staff/login")
    # nor does its handle presented as the console's cookie
    citizen.set_cookie("vssid_staff", sso.value, path="/staff")
    assert citizen.get("/staff/").status_code == 302


def test_a_console_session_is_never_a_citizens_session(console):
    new_account()
    web_client, _ = new_client()
    clerk = signed_in(console)
    handle = clerk.get_cookie("vssid_staff", path="/staff").value
    response = authorize(clerk, web_client, prompt="none", state="staff")
    assert_error_redirect(response, "login_required", console, state="staff")
    assert clerk.get("/account/password").status_code == 401
    clerk.set_cookie(console.config["SSO_COOKIE_NAME"], handle)
    assert clerk.get("/account/password").status_code == 401
    # and the console's cookie is not even sent outside /staff
    assert clerk.get_cookie("vssid_staff", path="/") is None


# ------------------------------------------------------------------ roles and tickets


@pytest.mark.parametrize(("username", "path", "status"), [
    ("agent.binh", "/staff/accounts", 403), ("agent.binh", "/staff/audit", 403),
    ("clerk.an", "/staff/audit", 403), ("clerk.an", "/staff/accounts", 200),
    ("boss.chi", "/staff/accounts", 200), ("boss.chi", "/staff/audit", 200),
    ("agent.binh", "/staff/", 200),
])
def test_who_may_open_what(console, username, path, status):
    response = signed_in(console, username).get(path)
    assert response.status_code == status
    if status == 403:
        assert codes_on(response.get_data(as_text=True)) == ["staff_forbidden"]


def test_the_navigation_shows_what_the_role_may_open(console):
    clerk = signed_in(console).get("/staff/").get_data(as_text=True)
    boss = signed_in(console, "boss.chi").get("/staff/").get_data(as_text=True)
    agent = signed_in(console, "agent.binh").get("/staff/").get_data(as_text=True)
    assert 'href="/staff/applications"' in clerk and 'href="/staff/applications"' in agent
    assert "nav-accounts" in clerk and "nav-audit" not in clerk
    assert "nav-accounts" in boss and "nav-audit" in boss
    assert "nav-accounts" not in agent and "nav-audit" not in agent


def _look_up(client, bhxh="0123456789", reason="Người dân có mặt tại quầy"):
    return client.post("/staff/accounts", data={"csrf_token": page_token(client,
                                                                         "/staff/accounts"),
                                                "bhxh": bhxh, "reason": reason})


def test_an_account_page_opens_only_from_a_look_up_in_this_session(console):
    account = new_account(cccd="001085012345", sex="male")
    clerk = signed_in(console)
    assert clerk.get(f"/staff/accounts/{account.id}").status_code == 403
    found = _look_up(clerk)
    assert found.status_code == 303
    page = clerk.get(found.location)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "******6789" in html and "0123456789" not in html
    assert "********2345" in html and "001085012345" not in html and "+84 9** *** *23" in html
    other = signed_in(console, "boss.chi")
    assert other.get(found.location).status_code == 403  # another session's ticket
    [viewed] = AuditRecord.query.filter_by(action="account.viewed").all()
    assert viewed.actor == "clerk.an" and viewed.reason == "Người dân có mặt tại quầy"


def test_look_up_refusals(console):
    new_account()
    clerk = signed_in(console)
    missing = _look_up(clerk, bhxh="0999999999")
    assert missing.status_code == 404
    assert codes_on(missing.get_data(as_text=True)) == ["staff_account_not_found"]
    no_reason = _look_up(clerk, reason="")
    assert no_reason.status_code == 400
    assert codes_on(no_reason.get_data(as_text=True)) == ["reason_required"]
    forged = clerk.post("/staff/accounts", data={"csrf_token": "x", "bhxh": "0123456789",
                                                 "reason": "Người dân có mặt tại quầy"})
    assert forged.status_code == 400
    assert AuditRecord.query.filter_by(action="account.viewed").count() == 0


def test_an_action_needs_the_ticket_the_token_and_a_reason(console):
    account = new_account(cccd="001085012345", sex="male")
    clerk = signed_in(console)
    page = clerk.get(_look_up(clerk).location).get_data(as_text=True)
    ticket = re.search(r'name="ticket" value="([^"]+)"', page).group(1)
    token = csrf_of(page)
    url = f"/staff/accounts/{account.id}/sign-out"
    assert clerk.post(url, data={"csrf_token": token, "reason": "Mất điện thoại"}
                      ).status_code == 403
    no_token = clerk.post(url, data={"ticket": ticket, "reason": "Mất điện thoại"})
    assert no_token.status_code == 400
    assert codes_on(no_token.get_data(as_text=True)) == ["csrf_failed"]
    no_reason = clerk.post(url, data={"ticket": ticket, "csrf_token": token, "reason": " "})
    assert no_reason.status_code == 400
    assert codes_on(no_reason.get_data(as_text=True)) == ["reason_required"]
    assert AuditRecord.query.filter_by(action="account.signed_out_everywhere").count() == 0
    done = clerk.post(url, data={"ticket": ticket, "csrf_token": token,
                                 "reason": "Mất điện thoại"})
    assert done.status_code == 303 and "done=signed_out" in done.location
    assert codes_on(clerk.get(done.location).get_data(as_text=True)) == [
        "staff_done_signed_out"]
    assert AuditRecord.query.filter_by(action="account.signed_out_everywhere").count() == 1


def test_ten_browsers_racing_with_one_code_open_one_session(make_app):
    """The same code posted by ten browsers at once to a served gateway: one session."""
    import requests

    from tests.helpers import race
    from tests.helpers.network import free_port, serve

    port = free_port()
    app = make_app(ISSUER=f"http://127.0.0.1:{port}", LOCKOUT_THRESHOLD=50)
    with app.app_context():
        code = code_at(new_staff())
        db.session.remove()
    with serve(app, port) as base:
        browsers = [requests.Session() for _ in range(10)]
        tokens = [csrf_of(b.get(f"{base}/staff/login", timeout=10).text) for b in browsers]

        def post(i):
            return browsers[i].post(f"{base}/staff/login", allow_redirects=False, timeout=30,
                                    data={"csrf_token": tokens[i], "username": "clerk.an",
                                          "password": STAFF_PASSWORD, "totp": code}).status_code

        statuses = race(10, post)
    assert sorted(statuses) == [302] + [401] * 9
    with app.app_context():
        assert StaffSession.query.count() == 1
        db.session.remove()
