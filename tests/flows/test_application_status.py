"""The status look-up (reference → code by SMS to the declared phone → status) and the one
correction of a rejected application, through the JSON API and the pages; the same answers
for unknown references; one winner among racers."""

from __future__ import annotations

import re

import pytest
import requests

from gateway.extensions import db
from gateway.models import Application
from tests.helpers import csrf_of, race
from tests.helpers import declarations as make
from tests.helpers.network import serve
from tests.helpers.sms import last_otp, sms_sent

START, VERIFY = "/api/v1/applications/status", "/api/v1/applications/status/verify"
RESUBMIT = "/api/v1/applications/resubmission"


@pytest.fixture
def site(make_app, tmp_path):
    app = make_app(FILE_STORE_DIR=str(tmp_path / "uploads"), SMS_OUTBOX=str(tmp_path / "sms"))
    with app.app_context():
        make.load_offices()
        yield app
        db.session.remove()


@pytest.fixture
def client(site):
    return site.test_client()


def declared(client, **values) -> str:
    answer = client.post("/api/v1/applications",
                         data=make.multipart(make.fields(**values), make.photos()),
                         content_type="multipart/form-data")
    assert answer.status_code == 201, answer.json
    return answer.json["reference"]


def look_up(client, site, reference: str) -> str:
    """A verified API look-up of ``reference``; its status_id."""
    started = client.post(START, json={"reference": reference})
    assert started.status_code == 202, started.json
    status_id = started.json["status_id"]
    verified = client.post(VERIFY, json={"status_id": status_id, "otp": last_otp(site)})
    assert verified.status_code == 200, verified.json
    return status_id


def resubmit(client, status_id, values=None, files=None):
    data = make.multipart(values or make.fields(), files or make.photos())
    data["status_id"] = status_id
    return client.post(RESUBMIT, data=data, content_type="multipart/form-data")


def test_the_status_after_the_code_sent_to_the_declared_phone(site, client):
    reference = declared(client, phone="0987001122")
    started = client.post(START, json={"reference": reference.lower().replace("-", " ")})
    assert started.status_code == 202 and started.headers["Cache-Control"] == "no-store"
    assert set(started.json) == {"status_id", "expires_in"}
    assert started.json["expires_in"] == site.config["OTP_TTL"]
    code_sms = sms_sent(site)[-1]
    assert code_sms["to"] == "+84987001122" and code_sms["template"] == "otp"
    assert "tra cuu ho so dang ky" in code_sms["text"]

    verified = client.post(VERIFY, data={"status_id": started.json["status_id"],
                                         "otp": last_otp(site)})
    assert verified.status_code == 200
    assert verified.json == {
        "reference": reference, "status": "submitted",
        "submitted_at": verified.json["submitted_at"],
        "office": {"code": make.OFFICE, "name": "Bảo hiểm xã hội thành phố Hà Nội"},
        "rejection": None, "corrected_by": None, "can_resubmit": False}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", verified.json["submitted_at"])
    # the code is used: the look-up goes on only through the pages' view or a correction
    again = client.post(VERIFY, json={"status_id": started.json["status_id"],
                                      "otp": last_otp(site)})
    assert (again.status_code, again.json["error"]) == (400, "otp_expired")


def test_an_unknown_reference_gets_the_same_answer_and_no_code(site, client):
    known = client.post(START, json={"reference": declared(client)})
    sent = len(sms_sent(site))
    unknown = client.post(START, json={"reference": "DK-2222-3333"})
    assert unknown.status_code == known.status_code == 202
    assert sorted(unknown.json) == sorted(known.json)
    assert unknown.json["expires_in"] == known.json["expires_in"]
    assert sorted(unknown.headers.keys()) == sorted(known.headers.keys())
    assert len(sms_sent(site)) == sent  # nothing was sent for it
    wrong_known = client.post(VERIFY, json={"status_id": known.json["status_id"],
                                            "otp": "000000" if last_otp(site) != "000000"
                                            else "111111"})
    wrong_unknown = client.post(VERIFY, json={"status_id": unknown.json["status_id"],
                                              "otp": last_otp(site)})
    assert (wrong_unknown.status_code, wrong_unknown.json) == (
        wrong_known.status_code, wrong_known.json) == (400, {"error": "otp_invalid",
                                                             "field": "otp"})


def test_a_reference_that_cannot_be_one(site, client):
    answer = client.post(START, json={"reference": "DK-0000-OOOO"})
    assert (answer.status_code, answer.json) == (400, {"error": "invalid_reference",
                                                       "field": "reference"})


def test_wrong_codes_burn_the_look_up(site, client):
    started = client.post(START, json={"reference": declared(client)}).json
    right = last_otp(site)
    wrong = "000000" if right != "000000" else "111111"
    answers = [client.post(VERIFY, json={"status_id": started["status_id"], "otp": wrong})
               .json["error"] for _ in range(site.config["OTP_MAX_ATTEMPTS"])]
    assert answers[-1] == "otp_attempts_exceeded" and set(answers[:-1]) == {"otp_invalid"}
    late = client.post(VERIFY, json={"status_id": started["status_id"], "otp": right})
    assert late.json["error"] == "otp_attempts_exceeded"


def test_an_expired_code_is_refused(site, client):
    from gateway.clock import FixedClock

    clock = FixedClock()
    app = site
    app.extensions["clock"] = clock
    started = client.post(START, json={"reference": declared(client)}).json
    code = last_otp(app)
    clock.advance(seconds=app.config["OTP_TTL"] + 1)
    late = client.post(VERIFY, json={"status_id": started["status_id"], "otp": code})
    assert late.json["error"] == "otp_expired"


def test_starts_are_limited_per_address(make_app, tmp_path):
    app = make_app(FILE_STORE_DIR=str(tmp_path), APPLICATION_STATUS_STARTS_PER_ADDRESS=2)
    with app.app_context():
        client = app.test_client()
        for _ in range(2):
            assert client.post(START, json={"reference": "DK-2222-3333"}).status_code == 202
        refused = client.post(START, json={"reference": "DK-2222-3333"})
        assert (refused.status_code, refused.json["error"]) == (429, "too_many_attempts")
        assert refused.headers["Retry-After"]


def test_a_rejection_shows_its_reason_and_is_corrected_once(site, client):
    first = make.fields(phone="0912000333")
    reference = declared(client, **first)
    make.reject(reference, "photo_unusable", "Ảnh chân dung bị mờ.")
    status_id = look_up(client, site, reference)
    seen = client.post(START, json={"reference": reference})
    shown = client.post(VERIFY, json={"status_id": seen.json["status_id"],
                                      "otp": last_otp(site)}).json
    assert shown["status"] == "rejected" and shown["can_resubmit"] is True
    assert shown["rejection"] == {
        "reason_code": "photo_unusable", "reason": "Ảnh chân dung bị mờ.",
        "reason_text": "Ảnh chân dung hoặc ảnh giấy tờ không dùng được để đối chiếu."}

    # a correction with a mistake: refused, and the look-up stays to try again
    bad = resubmit(client, status_id, dict(first, email="@"))
    assert (bad.status_code, bad.json["fields"]) == (422, {"email": "invalid_email"})
    corrected = resubmit(client, status_id, dict(first, full_name="Nguyễn Văn Bình Minh"))
    assert corrected.status_code == 201 and corrected.json["status"] == "submitted"
    new_reference = corrected.json["reference"]
    old, new = make.application(reference), make.application(new_reference)
    assert new.previous_id == old.id and new.full_name == "Nguyễn Văn Bình Minh"
    assert old.status == "rejected" and new.status == "submitted"
    assert sms_sent(site)[-1]["template"] == "application_received"

    # the look-up is used up; another one sees the correction and cannot correct again
    gone = resubmit(client, status_id)
    assert (gone.status_code, gone.json["error"]) == (400, "flow_expired")
    refused = resubmit(client, seen.json["status_id"])
    assert (refused.status_code, refused.json["error"]) == (409, "resubmission_not_allowed")
    later = look_up(client, site, reference)
    assert later
    shown = client.post(START, json={"reference": reference}).json
    after = client.post(VERIFY, json={"status_id": shown["status_id"],
                                      "otp": last_otp(site)}).json
    assert (after["corrected_by"], after["can_resubmit"]) == (new_reference, False)
    assert db.session.query(Application).count() == 2


def test_a_look_up_not_verified_cannot_correct(site, client):
    reference = declared(client)
    make.reject(reference)
    started = client.post(START, json={"reference": reference}).json
    refused = resubmit(client, started["status_id"])
    assert (refused.status_code, refused.json) == (400, {"error": "flow_expired"})
    assert db.session.query(Application).count() == 1


def test_only_a_rejected_application_is_corrected(site, client):
    status_id = look_up(client, site, declared(client))
    refused = resubmit(client, status_id)
    assert (refused.status_code, refused.json["error"]) == (409, "resubmission_not_allowed")
    assert db.session.query(Application).count() == 1


def test_a_look_up_belongs_to_where_it_started(site, client):
    reference = declared(client)
    status_id = client.post(START, json={"reference": reference}).json["status_id"]
    page = client.get(f"/register/status/verify?id={status_id}")
    assert page.status_code == 400 and 'data-code="status_expired"' in page.get_data(True)
    # a page's look-up is not found by the API
    form = client.get("/register/status").get_data(as_text=True)
    started = client.post("/register/status", data={"csrf_token": csrf_of(form),
                                                    "reference": reference})
    page_id = re.search(r"id=([A-Za-z0-9_-]+)", started.location)[1]
    answer = client.post(VERIFY, json={"status_id": page_id, "otp": last_otp(site)})
    assert (answer.status_code, answer.json["error"]) == (400, "otp_expired")


def test_the_right_code_raced_verifies_once(site):
    client = site.test_client()
    reference = declared(client)
    status_id = client.post(START, json={"reference": reference}).json["status_id"]
    code = last_otp(site)
    with serve(site) as base:
        outcomes = race(10, lambda i: requests.post(
            f"{base}{VERIFY}", json={"status_id": status_id, "otp": code}, timeout=60))
    statuses = sorted(o.status_code for o in outcomes)
    assert statuses == [200] + [400] * 9
    # The losers find the code taken (as an expired one) or, in the instant between the
    # winner's take and its advance, no code at all (as a wrong one, counted: the fifth
    # burns the look-up's tries): never a second status.
    assert {o.json()["error"] for o in outcomes if o.status_code == 400} <= {
        "otp_expired", "otp_invalid", "otp_attempts_exceeded"}


def test_corrections_raced_make_one(site):
    client = site.test_client()
    reference = declared(client)
    make.reject(reference)
    status_ids = [look_up(client, site, reference) for _ in range(3)]
    files = {name: (filename, content, kind)
             for name, (content, filename, kind) in make.photos().items()}
    with serve(site) as base:
        def send(i):
            values = make.fields(phone=f"09120004{i:02d}")
            answer = requests.post(f"{base}{RESUBMIT}", files=files, timeout=60,
                                   data={**values, "status_id": status_ids[i % 3]})
            return answer.status_code, answer.json().get("error")

        outcomes = race(6, send)
    # Each look-up is used once at most; a racer that lost its look-up or the rejection
    # is refused, and one that came after a correction was made may be declined as a
    # duplicate of it (answered 201 like any declaration, nothing created).
    assert 1 <= outcomes.count((201, None)) <= 3, outcomes
    assert {o for o in outcomes if o[0] != 201} <= {(409, "resubmission_not_allowed"),
                                                    (400, "flow_expired")}, outcomes
    db.session.expire_all()
    previous = make.application(reference)
    assert db.session.query(Application).filter_by(previous_id=previous.id).count() == 1
    assert len(make.stored_files(site.config["FILE_STORE_DIR"])) == 6  # two applications


# --- the pages ----------------------------------------------------------------------------


def page_look_up(client, site, reference: str) -> str:
    form = client.get("/register/status").get_data(as_text=True)
    started = client.post("/register/status", data={"csrf_token": csrf_of(form),
                                                    "reference": reference})
    assert started.status_code == 303, started.get_data(True)
    verify = client.get(started.location).get_data(as_text=True)
    assert f"Nếu mã hồ sơ {reference.upper()}" in verify or "Nếu mã hồ sơ" in verify
    shown = client.post(started.location, data={"csrf_token": csrf_of(verify),
                                                "otp": last_otp(site)})
    assert shown.status_code == 303 and "/register/status/view" in shown.location
    return shown.location


def test_the_pages_show_the_status_and_correct_a_rejection(site, client):
    values = make.fields()
    reference = declared(client, **values)
    make.reject(reference, "data_mismatch", "Sai ngày sinh.")
    view = page_look_up(client, site, reference)
    html = client.get(view).get_data(as_text=True)
    assert 'data-status="rejected"' in html and "Bị từ chối." in html
    assert "Thông tin khai báo không khớp với giấy tờ." in html and "Sai ngày sinh." in html
    resubmit_url = re.search(r'id="resubmit" href="([^"]+)"', html)[1].replace("&amp;", "&")
    form = client.get(resubmit_url).get_data(as_text=True)
    assert "Sửa hồ sơ bị từ chối" in form
    assert f'value="{values["bhxh_number"]}"' in form and 'value="0912345678"' in form
    assert f'<option value="{make.OFFICE}" selected>' in form
    sent = client.post(resubmit_url, content_type="multipart/form-data", data={
        **make.multipart(values, make.photos()), "csrf_token": csrf_of(form)})
    assert sent.status_code == 303 and sent.location.endswith("/register/submitted")
    done = client.get("/register/submitted").get_data(as_text=True)
    correction = db.session.query(Application).filter(
        Application.reference != reference).one()
    assert correction.reference in done and correction.previous_id is not None
    # the look-up was used by the correction
    assert 'data-code="status_expired"' in client.get(view).get_data(as_text=True)


def test_the_pages_say_a_wrong_code_and_an_unknown_reference_alike(site, client):
    reference = declared(client)
    pages = []
    for typed in (reference, "DK-2222-3333"):
        form = client.get("/register/status").get_data(as_text=True)
        started = client.post("/register/status", data={"csrf_token": csrf_of(form),
                                                        "reference": typed})
        verify = client.get(started.location).get_data(as_text=True)
        wrong = client.post(started.location, data={"csrf_token": csrf_of(verify),
                                                    "otp": "999999"})
        pages.append((started.status_code, wrong.status_code,
                      re.findall(r'data-code="([a-z_]+)"', wrong.get_data(True))))
    code = last_otp(site)
    if code != "999999":
        assert pages[0] == pages[1] == (303, 400, ["otp_invalid"])


def test_another_browser_cannot_use_the_look_up(site, client):
    reference = declared(client)
    view = page_look_up(client, site, reference)
    stranger = site.test_client()
    html = stranger.get(view).get_data(as_text=True)
    assert 'data-code="status_expired"' in html and reference not in html
