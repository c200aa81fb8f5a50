"""The console's application pages over HTTP: the queue (masked numbers, search, status
filter, the office's applications only), one application with its photos (served only to
staff who may open it, no-store, nosniff, the right type), the decision form (CSRF, the
decisions the role allows, refusals as the clerk reads them), and a foreign application as a
404 page."""

from __future__ import annotations

import re

import pytest

from gateway.extensions import db
from gateway.models import Account, Application, Event
from policies import applications as rules
from tests.helpers import new_account
from tests.helpers.applications import (
    OTHER_OFFICE,
    form_token_of,
    new_application,
    new_staff,
    photo_bytes,
    staff_sign_in,
)


@pytest.fixture
def clerk_client(app):
    client = app.test_client()
    clerk = new_staff(rules.OFFICE_STAFF)
    assert staff_sign_in(client, clerk).status_code == 302
    client.staff = clerk
    return client


def signed_in(app, role, office=None):
    client = app.test_client()
    staff = new_staff(role, office=office) if office else new_staff(role)
    assert staff_sign_in(client, staff).status_code == 302
    client.staff = staff
    return client


def post_decision(client, reference, **fields):
    page = client.get(f"/staff/applications/{reference}").get_data(as_text=True)
    return client.post(f"/staff/applications/{reference}",
                       data={"csrf_token": form_token_of(page), **fields})


def test_signed_out_the_pages_send_to_the_sign_in(app, client):
    application = new_application()
    for path in ("/staff/applications", f"/staff/applications/{application.reference}",
                 f"/staff/applications/{application.reference}/photos/portrait"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.startswith("/staff/login")
    assert client.post(f"/staff/applications/{application.reference}",
                       data={"decision": "approve"}).status_code == 302
    assert db.session.get(Application, application.id).status == rules.SUBMITTED


def test_the_queue_masks_numbers_and_keeps_to_the_office(app, clerk_client):
    mine = new_application(bhxh="0123456789", cccd="079085001234", full_name="Lê Thị Hoa")
    foreign = new_application(office=OTHER_OFFICE, full_name="Trần Văn Bắc")
    response = clerk_client.get("/staff/applications")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert mine.reference in html and "Lê Thị Hoa" in html
    assert "******6789" in html and "********1234" in html
    assert "0123456789" not in html and "079085001234" not in html
    assert foreign.reference not in html and "Trần Văn Bắc" not in html


def test_the_queue_searches_and_filters(app, clerk_client):
    hoa = new_application(full_name="Lê Thị Hoa")
    nam = new_application(full_name="Phạm Văn Nam", status=rules.APPROVED)
    html = clerk_client.get("/staff/applications?q=LÊ+THỊ").get_data(as_text=True)
    assert hoa.reference in html and nam.reference not in html
    html = clerk_client.get("/staff/applications?status=approved").get_data(as_text=True)
    assert nam.reference in html and hoa.reference not in html
    html = clerk_client.get("/staff/applications?status=bogus&page=x").get_data(as_text=True)
    assert hoa.reference in html  # an unknown filter is the open queue
    html = clerk_client.get(f"/staff/applications?q={nam.bhxh}&status=all").get_data(
        as_text=True)
    assert nam.reference in html and hoa.reference not in html


def test_an_application_page_shows_the_details_and_the_photos(app, clerk_client):
    application = new_application(email="hoa@example.vn")
    html = clerk_client.get(f"/staff/applications/{application.reference}").get_data(
        as_text=True)
    assert application.bhxh in html and application.cccd in html and "+84912345623" in html
    for kind in ("portrait", "id_front", "id_back"):
        assert f'src="/staff/applications/{application.reference}/photos/{kind}"' in html
    assert 'value="approve"' in html and 'value="reject"' in html
    assert 'value="field_verified"' not in html
    [viewed] = Event.query.filter_by(name="application.viewed").all()
    assert viewed.data["staff_id"] == clerk_client.staff.id


@pytest.mark.parametrize(("kind", "content_type"), [
    ("portrait", "image/jpeg"), ("id_front", "image/png"), ("id_back", "image/jpeg")])
def test_photos_are_served_to_the_office_only(app, clerk_client, kind, content_type):
    application = new_application()
    response = clerk_client.get(f"/staff/applications/{application.reference}/photos/{kind}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data == photo_bytes(kind)
    foreign = new_application(office=OTHER_OFFICE)
    refused = clerk_client.get(f"/staff/applications/{foreign.reference}/photos/{kind}")
    assert refused.status_code == 404 and refused.data != photo_bytes(kind)


def test_other_photo_names_are_not_found(app, clerk_client):
    application = new_application()
    for kind in ("portrait_file", "..", "passport"):
        response = clerk_client.get(f"/staff/applications/{application.reference}/photos/{kind}")
        assert response.status_code == 404


def test_a_foreign_application_is_a_404_page_like_a_missing_one(app, clerk_client):
    foreign = new_application(office=OTHER_OFFICE)
    refused = clerk_client.get(f"/staff/applications/{foreign.reference}")
    missing = clerk_client.get("/staff/applications/NOSUCHREF1")
    assert refused.status_code == missing.status_code == 404
    strip = re.compile(r'name="csrf_token" value="[^"]+"')
    assert strip.sub("", refused.get_data(as_text=True)) == strip.sub(
        "", missing.get_data(as_text=True))
    assert foreign.full_name not in refused.get_data(as_text=True)
    decided = post_decision(clerk_client, foreign.reference, decision="approve")
    assert decided.status_code == 404
    assert db.session.get(Application, foreign.id).status == rules.SUBMITTED
    whys = [e.data["why"] for e in Event.query.filter_by(name="application.access_refused")]
    assert whys == ["other_office", "not_found", "other_office", "other_office"]


def test_approving_through_the_form(app, clerk_client):
    application = new_application()
    response = post_decision(clerk_client, application.reference, decision="approve")
    assert response.status_code == 303
    assert response.location.endswith(f"/staff/applications/{application.reference}"
                                      "?done=approved")
    html = clerk_client.get(response.location).get_data(as_text=True)
    assert 'id="done" data-code="approved"' in html and 'id="decision-form"' not in html
    db.session.expire_all()
    account = Account.query.one()
    assert db.session.get(Application, application.id).account_id == account.id
    assert account.verified_by == clerk_client.staff.id


def test_a_form_without_its_token_decides_nothing(app, clerk_client):
    application = new_application()
    response = clerk_client.post(f"/staff/applications/{application.reference}",
                                 data={"decision": "approve", "csrf_token": "forged"})
    assert response.status_code == 400
    assert db.session.get(Application, application.id).status == rules.SUBMITTED


def test_refusals_are_shown_on_the_application_page(app, clerk_client):
    application = new_application()
    response = post_decision(clerk_client, application.reference, decision="reject",
                             reason_code="", reason="Ảnh mờ quá.")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'data-code="reason_code_required"' in html
    assert "Ảnh mờ quá." in html  # what the clerk typed is kept
    response = post_decision(clerk_client, application.reference, decision="")
    assert response.status_code == 400 and 'data-code="unknown_decision"' in response.get_data(
        as_text=True)
    new_account(bhxh=application.bhxh)
    response = post_decision(clerk_client, application.reference, decision="approve")
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and 'data-code="account_exists"' in html
    assert "đã có tài khoản" in html


def test_an_agent_is_offered_the_field_verification_only(app):
    application = new_application()
    agent = signed_in(app, rules.POST_OFFICE_AGENT)
    html = agent.get(f"/staff/applications/{application.reference}").get_data(as_text=True)
    assert 'value="field_verified"' in html and 'value="approve"' not in html
    assert 'id="reason_code"' not in html
    refused = post_decision(agent, application.reference, decision="approve")
    assert refused.status_code == 409 and 'data-code="role_not_allowed"' in refused.get_data(
        as_text=True)
    done = post_decision(agent, application.reference, decision="field_verified")
    assert done.status_code == 303
    html = agent.get(done.location).get_data(as_text=True)
    assert 'id="field-verified"' in html and agent.staff.username in html
    assert 'id="decision-form"' not in html


def test_a_clerk_sees_who_verified_at_the_post_office(app, clerk_client):
    application = new_application()
    agent = signed_in(app, rules.POST_OFFICE_AGENT)
    assert post_decision(agent, application.reference,
                         decision="field_verified").status_code == 303
    html = clerk_client.get(f"/staff/applications/{application.reference}").get_data(
        as_text=True)
    assert f"Đã xác minh tại bưu điện bởi {agent.staff.username}" in html
    assert "Xác nhận kết quả xác minh" in html and "Bác bỏ kết quả xác minh" in html
