"""The declaration through HTTP (POST /api/v1/applications and the /register page): created,
refused per field, too large, rate-limited, and the same answer whether or not the person
already has an account or an open application — with nothing stored when nothing is kept."""

from __future__ import annotations

import io
import re
from contextlib import contextmanager

import pytest
import requests
from PIL import Image

from gateway.extensions import db
from gateway.models import Application, Event, OutboxMessage
from providers.files import content_type_of
from tests.helpers import csrf_of, new_account, race
from tests.helpers import declarations as make
from tests.helpers.network import serve
from tests.helpers.sms import sms_sent

API = "/api/v1/applications"


@pytest.fixture
def site(make_app, tmp_path):
    """An app with the shipped offices and a file store of this test's own."""
    app = make_app(FILE_STORE_DIR=str(tmp_path / "uploads"), SMS_OUTBOX=str(tmp_path / "sms"))
    with app.app_context():
        make.load_offices()
        yield app
        db.session.remove()


@pytest.fixture
def client(site):
    return site.test_client()


@contextmanager
def limited(make_app, tmp_path, **settings):
    """As ``site``, with other settings."""
    app = make_app(FILE_STORE_DIR=str(tmp_path / "uploads"), SMS_OUTBOX=str(tmp_path / "sms"),
                   **settings)
    with app.app_context():
        make.load_offices()
        yield app
        db.session.remove()


def declare(client, values=None, files=None, **kwargs):
    return client.post(API, data=make.multipart(values or make.fields(), files or make.photos()),
                       content_type="multipart/form-data", **kwargs)


def stored(app) -> list[str]:
    return make.stored_files(app.config["FILE_STORE_DIR"])


def applications() -> list[Application]:
    db.session.expire_all()
    return db.session.query(Application).order_by(Application.id).all()


def test_a_declaration_is_created_with_its_photos_cleaned(site, client):
    values = make.fields(full_name="  Nguye\u0302\u0303n  Thị Hoa ", sex="female",
                         id_number="001190123456", phone="091 234 5678")
    answer = declare(client, values)
    assert answer.status_code == 201, answer.json
    assert set(answer.json) == {"reference", "status"} and answer.json["status"] == "submitted"
    reference = answer.json["reference"]
    assert re.fullmatch(r"DK-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}", reference)
    assert answer.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in answer.headers  # the API keeps no session

    (created,) = applications()
    assert (created.reference, created.status, created.bhxh) == (reference, "submitted",
                                                                 values["bhxh_number"])
    assert (created.full_name, created.sex, created.cccd) == ("Nguyễn Thị Hoa", "female",
                                                               "001190123456")
    assert (created.phone, created.email, created.office_code) == (
        "+84912345678", "binh.nguyen@example.vn", make.OFFICE)
    assert created.previous_id is None and created.submitted_at is not None

    files = site.extensions["gateway.files"]
    keys = [created.portrait_file, created.id_front_file, created.id_back_file]
    assert [content_type_of(k) for k in keys] == ["image/jpeg", "image/jpeg", "image/png"]
    assert len(stored(site)) == 3
    for key in keys:
        data = files.get(key)
        assert not any(m in data for m in (b"SECRET", b"Exif", b"GPS", b"tEXt", b"xmpmeta"))
        assert not Image.open(io.BytesIO(data)).getexif()

    (event,) = Event.query.filter_by(name="application.submitted").all()
    assert event.data["reference"] == reference
    assert event.data["bhxh"] == "******" + values["bhxh_number"][-4:]
    assert event.data["cccd"] == "********3456" and event.data["phone"] == "+84 9** *** *78"
    assert values["bhxh_number"] not in str(event.data) and "001190123456" not in str(event.data)

    (sms,) = sms_sent(site)
    assert sms["to"] == "+84912345678" and sms["template"] == "application_received"
    assert reference in sms["text"] and sms["text"].startswith("VssID: Da nhan ho so")


def test_english_on_request(site, client):
    assert declare(client, query_string={"lang": "en"}).status_code == 201
    assert sms_sent(site)[0]["text"].startswith("VssID: we received your account application")


def _answer_shape(answer):
    headers = sorted(k for k in answer.headers.keys() if k not in ("X-Request-Id",))
    return answer.status_code, sorted(answer.json), answer.json["status"], headers


@pytest.mark.parametrize("existing", ["account_bhxh", "account_cccd", "open_bhxh",
                                      "open_cccd", "field_verified_bhxh"])
def test_the_same_answer_when_the_person_already_has_an_account_or_application(
        site, client, existing):
    first = make.fields()
    if existing.startswith("account"):
        new_account(bhxh=first["bhxh_number"], cccd=first["id_number"], sex=first["sex"],
                    dob=first["date_of_birth"], phone="0987654321")
    else:
        assert declare(client, first).status_code == 201
        if existing.startswith("field_verified"):
            applications()[0].status = "field_verified"
            db.session.commit()
    before_rows, before_files = len(applications()), len(stored(site))
    sent_before = len(sms_sent(site))

    fresh = declare(client, make.fields(phone="0987000111"))
    again = make.fields(phone="0961234567", full_name="Người Khác")
    if existing.endswith("cccd"):  # another number, the same CCCD
        again["id_number"] = first["id_number"]
    else:
        again["bhxh_number"] = first["bhxh_number"]
    duplicate = declare(client, again)

    assert _answer_shape(duplicate) == _answer_shape(fresh)
    assert duplicate.json["reference"] != fresh.json["reference"]
    rows = applications()
    assert len(rows) == before_rows + 1  # only `fresh` was created
    assert duplicate.json["reference"] not in {a.reference for a in rows}
    assert len(stored(site)) == before_files + 3  # the duplicate's photos were removed
    sent = sms_sent(site)[sent_before:]
    assert [(m["to"], m["template"]) for m in sent] == [
        ("+84987000111", "application_received"), ("+84961234567", "application_duplicate")]
    why = "account_exists" if existing.startswith("account") else "application_open"
    (declined,) = Event.query.filter_by(name="application.declined").all()
    assert declined.data["why"] == why and declined.data["phone"] == "+84 9** *** *67"


def test_a_rejected_application_is_not_open(site, client):
    values = make.fields()
    make.reject(declare(client, values).json["reference"])
    assert declare(client, values).status_code == 201
    assert [a.status for a in applications()] == ["rejected", "submitted"]


def test_every_field_refused_at_once_and_nothing_kept(site, client):
    answer = declare(client, make.fields(bhxh_number="０１２３４５６７８９", full_name="An 2",
                                         date_of_birth="2999-01-01", sex="x",
                                         id_number="999999999999", phone="02438253456",
                                         email="@", office="BHXH-999"),
                     make.photos(portrait=make.renamed_program(),
                                 id_front=make.truncated_jpeg(), id_back=make.png_bomb()))
    assert answer.status_code == 422
    assert answer.json == {"error": "invalid_request", "fields": {
        "bhxh_number": "invalid_bhxh", "full_name": "invalid_name",
        "date_of_birth": "dob_in_future", "sex": "invalid_sex",
        "id_number": "unknown_cccd_province", "phone": "phone_not_mobile",
        "email": "invalid_email", "office": "unknown_office",
        "portrait": "unsupported_image", "id_front": "image_unreadable",
        "id_back": "image_too_large"}}
    assert applications() == [] and stored(site) == []
    assert OutboxMessage.query.count() == 0


@pytest.mark.parametrize(("hostile", "code"), [
    (make.renamed_program, "unsupported_image"), (make.truncated_jpeg, "image_unreadable"),
    (make.png_bomb, "image_too_large"), (make.jpeg_bomb, "image_too_large"),
    (make.gif, "unsupported_image"), (make.tiny_png, "image_too_small")])
def test_one_bad_photo_keeps_nothing(site, client, hostile, code):
    answer = declare(client, files=make.photos(id_back=hostile()))
    assert (answer.status_code, answer.json["fields"]) == (422, {"id_back": code})
    assert applications() == [] and stored(site) == []


def test_missing_empty_and_repeated_photos(site, client):
    files = make.photos()
    del files["portrait"]
    files["id_front"] = (b"", "", "application/octet-stream")  # no file chosen
    assert declare(client, files=files).json["fields"] == {"portrait": "required",
                                                           "id_front": "required"}
    data = make.multipart(make.fields(), make.photos())
    data["id_back"] = [data["id_back"], (io.BytesIO(make.png()), "b.png", "image/png")]
    answer = client.post(API, data=data, content_type="multipart/form-data")
    assert answer.json["fields"] == {"id_back": "repeated"}
    assert stored(site) == []


def test_the_content_decides_not_the_name_or_declared_type(site, client):
    files = make.photos(portrait=(make.png((600, 800)), "portrait.jpg", "image/jpeg"),
                        id_back=(make.jpeg((856, 540)), "back.png", "image/png"))
    assert declare(client, files=files).status_code == 201
    (created,) = applications()
    assert created.portrait_file.endswith(".png") and created.id_back_file.endswith(".jpg")


def test_a_photo_over_the_byte_limit(make_app, tmp_path):
    with limited(make_app, tmp_path, UPLOAD_MAX_BYTES=100 * 1024) as app:
        big = make.noisy_jpeg((400, 400))
        assert len(big) > 100 * 1024
        answer = declare(app.test_client(), files=make.photos(portrait=(big, "a.jpg",
                                                                        "image/jpeg")))
        assert (answer.status_code, answer.json["fields"]) == (422, {"portrait":
                                                                     "file_too_large"})
        assert stored(app) == []


def test_a_50_mb_body_is_413_and_read_no_further(site, client):
    body = b"x" * (50 * 1024 * 1024)
    answer = client.post(API, data=make.multipart(make.fields(), make.photos(
        portrait=(body, "a.jpg", "image/jpeg"))), content_type="multipart/form-data")
    assert answer.status_code == 413 and answer.json == {"error": "request_too_large"}
    assert applications() == [] and stored(site) == []


def test_the_limit_is_three_photos_plus_the_form_limit(site, client):
    limit = 3 * site.config["UPLOAD_MAX_BYTES"] + site.config["MAX_CONTENT_LENGTH"]
    for size, status in ((limit + 1, 413), (limit, 422)):
        body = make.multipart_body(make.fields(), make.photos(), size)
        assert len(body) == size
        answer = client.post(API, data=body,
                             content_type=f"multipart/form-data; boundary={make.BOUNDARY}")
        assert answer.status_code == status, (size, answer.json)
    assert answer.json["fields"] == {"portrait": "file_too_large"}


def test_large_photos_are_read_whatever_their_bytes(site, client):
    """Werkzeug's multipart decoder keeps back a read's tail that could start a boundary (a
    CR, a LF, dashes) and holds it with the next read under the form-memory limit: photos
    full of such bytes must still be read, not refused as too large."""
    tricky = b"\x89PNG\r\n\x1a\n" + (b"\r\n--" + b"x" * 994) * 3000  # 3 MB
    answer = declare(client, files=make.photos(portrait=(tricky, "a.png", "image/png")))
    assert (answer.status_code, answer.json["fields"]) == (422, {"portrait":
                                                                 "image_unreadable"})
    big = make.noisy_jpeg((1800, 1800), quality=97)
    assert len(big) > 2_000_000
    assert declare(client, files=make.photos(id_front=(big, "a.jpg", "image/jpeg"))) \
        .status_code == 201


def test_other_requests_keep_the_small_limit(site, client):
    answer = client.post("/api/v1/recovery", data={"username": "x" * 70_000, "phone": "1"})
    assert answer.status_code == 413


def test_json_is_not_a_declaration(site, client):
    answer = client.post(API, json=make.fields())
    assert (answer.status_code, answer.json) == (415, {"error": "unsupported_media_type"})


def test_the_address_is_limited_valid_or_not(make_app, tmp_path):
    with limited(make_app, tmp_path, APPLICATIONS_PER_ADDRESS=2) as app:
        client = app.test_client()
        assert declare(client, make.fields(full_name="1")).status_code == 422
        assert declare(client).status_code == 201
        refused = declare(client)
        assert (refused.status_code, refused.json) == (429, {"error": "too_many_attempts"})
        assert int(refused.headers["Retry-After"]) == app.config["ADDRESS_FAILURE_WINDOW"]
        other = declare(client, environ_base={"REMOTE_ADDR": "192.0.2.7"})
        assert other.status_code == 201
        assert len(applications()) == 2 and len(stored(app)) == 6


def test_the_phone_is_limited_per_day_whatever_the_outcome(make_app, tmp_path):
    with limited(make_app, tmp_path, APPLICATIONS_PER_PHONE=1) as app:
        client = app.test_client()
        first = make.fields(phone="0912000001")
        assert declare(client, first).status_code == 201
        # a duplicate and a new person, both naming the phone again: refused alike
        for values in (dict(first), make.fields(phone="0912000001")):
            refused = declare(client, values)
            assert (refused.status_code, refused.json) == (429, {"error": "too_many_attempts"})
            assert 0 < int(refused.headers["Retry-After"]) <= 86400
        assert declare(client, make.fields(phone="0912000002")).status_code == 201
        assert len(applications()) == 2 and len(stored(app)) == 6


def test_two_declarations_racing_create_one_application(site):
    values = make.fields()
    files = {name: (filename, content, content_type)
             for name, (content, filename, content_type) in make.photos().items()}
    with serve(site) as base:
        def send(i):
            answer = requests.post(f"{base}{API}", data=values, files=files, timeout=60)
            return answer.status_code, answer.json()["status"]

        outcomes = race(4, send)
    assert outcomes == [(201, "submitted")] * 4
    assert len(applications()) == 1 and len(stored(site)) == 3
    templates = sorted(m["template"] for m in sms_sent(site))
    assert templates == ["application_duplicate"] * 3 + ["application_received"]


# --- the page -----------------------------------------------------------------------------


def page_post(client, values, files, csrf):
    return client.post("/register", data={**make.multipart(values, files), "csrf_token": csrf},
                       content_type="multipart/form-data")


def test_the_page_declares_and_shows_the_reference(site, client):
    form = client.get("/register")
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "Đăng ký tài khoản" in html
    assert 'enctype="multipart/form-data"' in html and "Bảo hiểm xã hội thành phố Hà Nội" in html
    for name in ("bhxh_number", "full_name", "date_of_birth", "sex", "id_number", "phone",
                 "email", "office", "portrait", "id_front", "id_back"):
        assert f'name="{name}"' in html
    sent = page_post(client, make.fields(), make.photos(), csrf_of(html))
    assert sent.status_code == 303 and sent.location.endswith("/register/submitted")
    done = client.get("/register/submitted").get_data(as_text=True)
    (created,) = applications()
    assert created.reference in done and "Đã gửi hồ sơ" in done


def test_the_page_shows_each_error_and_keeps_what_was_typed(site, client):
    csrf = csrf_of(client.get("/register").get_data(as_text=True))
    values = make.fields(id_number="001190123456", full_name="Trần Văn Nam")
    answer = page_post(client, values, make.photos(portrait=make.truncated_jpeg()), csrf)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="id_number-error" data-code="cccd_sex_mismatch"' in html
    assert 'id="portrait-error" data-code="image_unreadable"' in html
    assert 'value="Trần Văn Nam"' in html and 'value="001190123456"' in html
    assert "chọn lại cả ba ảnh" in html
    assert applications() == [] and stored(site) == []


def test_the_page_needs_its_csrf_token(site, client):
    client.get("/register")
    answer = page_post(client, make.fields(), make.photos(), "forged")
    assert answer.status_code == 400 and 'data-code="csrf_failed"' in answer.get_data(True)
    assert applications() == [] and stored(site) == []


def test_the_page_says_when_the_photos_are_too_large(site, client):
    csrf = csrf_of(client.get("/register").get_data(as_text=True))
    answer = page_post(client, make.fields(), make.photos(
        portrait=(b"x" * (16 * 1024 * 1024), "a.jpg", "image/jpeg")), csrf)
    assert answer.status_code == 413
    assert 'data-code="request_too_large"' in answer.get_data(as_text=True)


def test_the_login_page_links_to_the_declaration(site, client):
    from tests.helpers import new_client, open_login_page

    client_id, _ = new_client()
    flow, _ = open_login_page(client, client_id)
    html = client.get(f"/login?flow={flow}").get_data(as_text=True)
    assert '<a id="register" href="/register">Đăng ký tài khoản</a>' in html
