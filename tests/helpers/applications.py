"""Applications and staff for the console's tests, made as the real ones are stored: an
Application row (as the declaration path stores it) whose three photos are real image files
put through the app's file store, and offices and staff rows of the roles the tests need.

The photos in tests/helpers/data/ were drawn once by Debian's Chromium (a portrait and both
sides of a made-up CCCD; JPEG, PNG, JPEG), so the console serves real images of both types.
"""

from __future__ import annotations

import secrets
import string
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.models import Application, Office, StaffAccount
from policies.applications import SUBMITTED
from tests.helpers import csrf_of
from tests.helpers import staff as staff_helpers

DATA = Path(__file__).resolve().parent / "data"
PHOTOS = {"portrait": ("portrait.jpg", "image/jpeg"), "id_front": ("id_front.png", "image/png"),
          "id_back": ("id_back.jpg", "image/jpeg")}
OFFICE = "BHXH-079"       # the office of most tests' applications and clerks
OTHER_OFFICE = "BHXH-001"
OFFICES = {OFFICE: ("Bảo hiểm xã hội Thành phố Hồ Chí Minh", "079"),
           OTHER_OFFICE: ("Bảo hiểm xã hội thành phố Hà Nội", "001")}


def photo_bytes(kind: str) -> bytes:
    return (DATA / PHOTOS[kind][0]).read_bytes()


def ensure_offices() -> None:
    """The two offices of the tests, active, if they are not there yet."""
    for code, (name, province) in OFFICES.items():
        if db.session.get(Office, code) is None:
            db.session.add(Office(code=code, name=name, province=province, active=True,
                                  updated_at=utcnow()))
    db.session.commit()


def random_reference() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(10))


def cccd_for(dob: date, sex: str, province: str = "079") -> str:
    """A CCCD consistent with birth date and sex (province, century/sex digit, year)."""
    century = (dob.year // 100 - 19) * 2 + (1 if sex == "female" else 0)
    serial = "".join(secrets.choice(string.digits) for _ in range(6))
    return f"{province}{century}{dob.year % 100:02d}{serial}"


def random_bhxh() -> str:
    return "".join(secrets.choice(string.digits) for _ in range(10))


def new_application(*, office: str = OFFICE, status: str = SUBMITTED,
                    full_name: str = "Nguyễn Văn An", dob: date = date(1985, 4, 12),
                    sex: str = "male", bhxh: str | None = None, cccd: str | None = None,
                    phone: str = "+84912345623", email: str | None = None,
                    reference: str | None = None, submitted_at: datetime | None = None,
                    **columns) -> Application:
    """A committed application with its photos stored through the file store."""
    ensure_offices()
    files = current_app.extensions["gateway.files"]
    keys = {f"{kind}_file": files.put(photo_bytes(kind), content_type)
            for kind, (_, content_type) in PHOTOS.items()}
    now = submitted_at or utcnow()
    application = Application(
        reference=reference or random_reference(), status=status, bhxh=bhxh or random_bhxh(),
        full_name=full_name, dob=dob, sex=sex, cccd=cccd or cccd_for(dob, sex), phone=phone,
        email=email, office_code=office, submitted_at=now, updated_at=now, **keys, **columns)
    db.session.add(application)
    db.session.commit()
    return application


def applications_in_order(n: int, **kw) -> list[Application]:
    """n applications submitted one minute apart, oldest first."""
    start = utcnow() - timedelta(hours=1)
    return [new_application(submitted_at=start + timedelta(minutes=i), **kw) for i in range(n)]


def new_staff(role: str, office: str | None = OFFICE,
              username: str | None = None) -> StaffAccount:
    """A committed staff account of ``role`` at ``office`` (tests.helpers.staff makes it as
    an operator does), with a fresh username; its password is STAFF_PASSWORD."""
    ensure_offices()
    return staff_helpers.new_staff(
        username=username or f"{role[:6].rstrip('_')}{secrets.token_hex(3)}", role=role,
        office=office)


def staff_sign_in(client, staff: StaffAccount):
    """Signs ``staff`` in to the console through its sign-in form (the test client keeps the
    console's cookie); the response of the POST."""
    return staff_helpers.sign_in(client, staff.username, staff_helpers.code_at(staff))


def form_token_of(html: str) -> str:
    return csrf_of(html)
