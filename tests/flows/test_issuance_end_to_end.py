"""The newcomer's path of issue 9 through HTTP only: a person declares with three photos, a
clerk of the chosen office approves at the console, the SMS carries the social-insurance number
and a one-time password, and the person signs in with it — meeting the forced change before any
code is issued. And a rejection: a reason is required, then it goes by SMS and no account is
made (the correction through the status look-up: tests/flows/test_application_status.py)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

from gateway.models import Account, Application
from policies import applications as rules
from tests.helpers import authorize_params, csrf_of, exchange, login, new_client
from tests.helpers.applications import form_token_of, new_staff, staff_sign_in
from tests.helpers.declarations import OFFICE, fields, load_offices, multipart, photos
from tests.helpers.sms import sms_sent

NEW_PASSWORD = "Mật khẩu mới của tôi rất dài 2026"


def _declare(client, **overrides) -> tuple[str, dict]:
    values = fields(**overrides)
    answer = client.post("/api/v1/applications", data=multipart(values, photos()),
                         content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.json["status"] == "submitted"
    return answer.json["reference"], values


def _decide(console, reference, **form):
    page = console.get(f"/staff/applications/{reference}")
    assert page.status_code == 200
    return console.post(f"/staff/applications/{reference}",
                        data={"csrf_token": form_token_of(page.get_data(as_text=True)), **form})


def _messages_to(app, phone_e164: str, template: str) -> list[dict]:
    return [m for m in sms_sent(app) if m["to"] == phone_e164 and m.get("template") == template]


def test_declare_approve_and_sign_in_with_the_forced_change(app, client):
    load_offices()
    reference, values = _declare(client)
    assert _messages_to(app, "+84912345678", "application_received")

    console = app.test_client()
    clerk = new_staff(rules.OFFICE_STAFF, office=OFFICE)
    assert staff_sign_in(console, clerk).status_code == 302
    assert _decide(console, reference, decision="approve").status_code in (302, 303)

    application = Application.query.filter_by(reference=reference).one()
    account = Account.query.filter_by(bhxh=values["bhxh_number"]).one()
    assert application.status == rules.APPROVED and application.account_id == account.id
    assert (account.level, account.verification_method, account.verified_by) == (
        2, "counter", clerk.id)
    assert account.must_change_password and account.issued_password_expires_at is not None
    [issued] = _messages_to(app, "+84912345678", "account_issued")
    assert values["bhxh_number"] in issued["text"]
    password = re.search(r"(?:Mat khau dung mot lan|One-time password): ([^,\s]+)",
                         issued["text"]).group(1)

    # The person signs in with it at a relying service: the change comes before any code.
    client_id, secret = new_client()
    params = authorize_params(client_id, "v" * 43)
    started = client.get("/authorize?" + urlencode(params))
    forced = login(client, started.location, values["bhxh_number"], password)
    assert forced.status_code == 302 and forced.location.startswith("/login/password")
    page = client.get(forced.location).get_data(as_text=True)
    flow = re.search(r'name="flow" value="([^"]+)"', page).group(1)
    changed = client.post("/login/password", data={
        "csrf_token": csrf_of(page), "flow": flow, "current_password": password,
        "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert changed.status_code == 302, changed.get_data(as_text=True)
    final = client.get(changed.location)
    code = parse_qs(urlsplit(final.location).query)["code"][0]
    assert exchange(client, client_id, secret, code, "v" * 43).status_code == 200
    account = Account.query.filter_by(bhxh=values["bhxh_number"]).one()
    assert not account.must_change_password and account.issued_password_expires_at is None


def test_a_rejection_needs_its_reason_and_sends_it(app, client):
    load_offices()
    reference, values = _declare(client)
    console = app.test_client()
    assert staff_sign_in(console, new_staff(rules.OFFICE_STAFF, office=OFFICE)).status_code == 302
    refused = _decide(console, reference, decision="reject")  # a rejection needs its reason
    assert Application.query.filter_by(reference=reference).one().status == rules.SUBMITTED
    assert refused.status_code in (200, 400, 422)
    rejected = _decide(console, reference, decision="reject", reason_code="photo_unusable",
                       reason="Ảnh chân dung bị mờ, vui lòng chụp lại.")
    assert rejected.status_code in (302, 303)
    [notice] = _messages_to(app, "+84912345678", "application_rejected")
    assert reference in notice["text"]
    assert not Account.query.filter_by(bhxh=values["bhxh_number"]).count()
