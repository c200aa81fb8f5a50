"""Staff of the console as the tests need them: an office, a staff account with a known
password, the TOTP code of any step, and signing in to /staff/login through a test client."""

from __future__ import annotations

import re

import pyotp

from gateway.clock import clock, utcnow
from gateway.extensions import db
from gateway.models import Office, StaffAccount
from gateway.services import audit, staff_totp
from gateway.services.staff import create_staff
from tests.helpers import csrf_of

STAFF_PASSWORD = "Mật-khẩu-cán-bộ-2026"
OPERATOR = audit.Actor("cli:test")


def new_office(code: str = "BHXH-001", *, active: bool = True) -> str:
    if db.session.get(Office, code) is None:
        db.session.add(Office(code=code, name=f"Văn phòng {code}", province="001",
                              active=active, updated_at=utcnow()))
        db.session.commit()
    return code


def new_staff(username: str = "clerk.an", role: str = "office_staff",
              office: str | None = "BHXH-001", password: str = STAFF_PASSWORD) -> StaffAccount:
    if office:
        new_office(office)
    made = create_staff(username=username, role=role, office=office, password=password,
                        actor=OPERATOR)
    db.session.commit()
    return made.staff


def secret_of(staff: StaffAccount) -> str:
    return staff_totp.unseal(staff.totp_secret_sealed, staff.id)


def code_at(staff: StaffAccount, step_offset: int = 0) -> str:
    """The code of the step ``step_offset`` steps from the app clock's present one."""
    step = clock().timestamp() // 30 + step_offset
    return pyotp.TOTP(secret_of(staff)).at(step * 30)


def sign_in_form(client) -> str:
    """Opens the sign-in page; its form's CSRF token."""
    page = client.get("/staff/login")
    assert page.status_code == 200, page.status_code
    return csrf_of(page.get_data(as_text=True))


def sign_in(client, username: str, code: str, password: str = STAFF_PASSWORD,
            csrf: str | None = None):
    """Submits the sign-in form (opening it first unless a token is given)."""
    token = csrf if csrf is not None else sign_in_form(client)
    return client.post("/staff/login", data={"csrf_token": token, "username": username,
                                             "password": password, "totp": code})


def page_token(client, path: str) -> str:
    """The CSRF token of the forms of a signed-in console page."""
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return csrf_of(page.get_data(as_text=True))


def codes_on(html: str) -> list[str]:
    """Every stable code a console page shows (notices and refusals: data-code)."""
    return re.findall(r'data-code="([^"]+)"', html)


def console_client(app, clock, username: str):
    """A fresh browser signed in to the console as ``username``: the clock first moves on a
    TOTP step, since a code is accepted once."""
    from gateway.services.staff import find_by_username

    clock.advance(seconds=30)
    client = app.test_client()
    response = sign_in(client, username, code_at(find_by_username(username)))
    assert response.status_code == 302 and response.location == "/staff/", response.data
    return client
