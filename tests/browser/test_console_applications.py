"""The console's applications in a real browser: a clerk approving at the counter and
rejecting with a reason, a post-office agent's verification confirmed by a clerk, and a clerk
failing to open another office's application (page and photo)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from flask import Flask

from gateway.extensions import db
from gateway.i18n import MESSAGES
from gateway.models import Account, Application, StaffAccount
from gateway.services import staff_totp
from policies import applications as rules
from tests.helpers.applications import OTHER_OFFICE, new_application, new_staff
from tests.helpers.browser import shot, submit
from tests.helpers.network import free_port, serve
from tests.helpers.sms import sms_sent
from tests.helpers.staff import STAFF_PASSWORD

pytestmark = pytest.mark.browser
VI = MESSAGES["vi"]


@dataclass
class Console:
    base: str
    app: Flask

    def application(self, **kw) -> str:
        with self.app.app_context():
            reference = new_application(**kw).reference
            db.session.remove()
        return reference

    def staff(self, role: str, **kw) -> str:
        with self.app.app_context():
            username = new_staff(role, **kw).username
            db.session.remove()
        return username

    def sign_in(self, page, username: str) -> None:
        page.goto(f"{self.base}/staff/login")
        page.fill("#username", username)
        page.fill("#password", STAFF_PASSWORD)
        with self.app.app_context():
            code = staff_totp.current_code(StaffAccount.query.filter_by(username=username).one())
            db.session.remove()
        page.fill("#totp", code)
        assert submit(page) == 302
        page.wait_for_url(f"{self.base}/staff/")

    def row(self, model, **filters):
        with self.app.app_context():
            found = model.query.filter_by(**filters).one()
            db.session.expunge(found)
            db.session.remove()
        return found


@pytest.fixture
def console(make_app, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = make_app(ISSUER=base, SMS_OUTBOX=str(tmp_path / "sms.jsonl"),
                   EMAIL_OUTBOX=str(tmp_path / "email.jsonl"))
    with serve(app, port):
        yield Console(base, app)


def open_from_queue(page, console: Console, reference: str, search: str) -> None:
    page.click("#nav-applications")
    page.wait_for_url(f"{console.base}/staff/applications")
    page.fill("#q", search)
    page.click("#filter")
    page.wait_for_url(f"{console.base}/staff/applications?**")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 1
    assert rows.first.get_attribute("data-reference") == reference
    page.click(f"#queue a:text('{reference}')")
    page.wait_for_url(f"{console.base}/staff/applications/{reference}")


def photos_loaded(page) -> list[int]:
    """The natural widths of the three photos once loaded (0: the browser could not show it)."""
    page.wait_for_function("() => [...document.querySelectorAll('.photo-row img')]"
                           ".every(i => i.complete)")
    return page.eval_on_selector_all(".photo-row img", "els => els.map(e => e.naturalWidth)")


def test_a_clerk_approves_at_the_counter(page, console):
    reference = console.application(full_name="Lê Thị Hoa", bhxh="0388123456",
                                    email="hoa@example.vn")
    console.application(office=OTHER_OFFICE, full_name="Lê Thị Hồng")
    clerk = console.staff(rules.OFFICE_STAFF)
    console.sign_in(page, clerk)
    page.click("#nav-applications")
    page.wait_for_url(f"{console.base}/staff/applications")
    queue = page.locator("#queue").inner_text()
    assert "Lê Thị Hoa" in queue and "******3456" in queue
    assert "0388123456" not in queue and "Lê Thị Hồng" not in queue
    shot(page, "console-queue")

    open_from_queue(page, console, reference, "lê thị")
    assert page.locator("#bhxh").inner_text() == "0388123456"
    assert photos_loaded(page) == [90, 171, 171]
    assert page.locator("#decision-reject").is_visible()
    assert page.locator("#decision-field_verified").count() == 0
    shot(page, "console-application")

    page.check("#decision-approve")
    page.fill("#reason", "Đã đối chiếu CCCD gốc với người nộp.")
    assert submit(page, "#decide") == 303
    page.wait_for_url(f"{console.base}/staff/applications/{reference}?done=approved")
    assert page.locator("#done").inner_text() == VI["staff_app_done_approved"]
    assert page.locator("#status").get_attribute("data-status") == "approved"
    assert page.locator("#decision-form").count() == 0
    shot(page, "console-approved")

    account = console.row(Account, bhxh="0388123456")
    assert account.level == 2 and account.verification_method == "counter"
    [sms] = [m for m in sms_sent(console.app) if m["template"] == "account_issued"]
    assert "0388123456" in sms["text"] and sms["to"] == "+84912345623"


def test_a_clerk_rejects_with_a_reason(page, console):
    reference = console.application(full_name="Phạm Minh Tuấn")
    console.sign_in(page, console.staff(rules.OFFICE_STAFF))
    page.goto(f"{console.base}/staff/applications/{reference}")
    # Rejecting without a reason is refused, and what was typed stays.
    page.check("#decision-reject")
    page.fill("#reason", "Ảnh chân dung bị mờ, không đối chiếu được.")
    assert submit(page, "#decide") == 400
    error = page.locator("#decision-error")
    assert error.get_attribute("data-code") == "reason_code_required"
    assert error.inner_text() == VI["staff_app_error_reason_code_required"]
    assert page.locator("#reason").input_value() == "Ảnh chân dung bị mờ, không đối chiếu được."
    shot(page, "console-reject-error")

    page.check("#decision-reject")
    page.select_option("#reason_code", "photo_unusable")
    assert submit(page, "#decide") == 303
    page.wait_for_url(f"{console.base}/staff/applications/{reference}?done=rejected")
    assert page.locator("#status").get_attribute("data-status") == "rejected"
    assert VI["reason_photo_unusable"] in page.locator("#decided").inner_text()
    shot(page, "console-rejected")
    application = console.row(Application, reference=reference)
    assert (application.reason_code, application.reason) == (
        "photo_unusable", "Ảnh chân dung bị mờ, không đối chiếu được.")
    [sms] = [m for m in sms_sent(console.app) if m["template"] == "application_rejected"]
    assert reference in sms["text"] and "Anh chan dung bi mo" in sms["text"]


def test_post_office_verification_then_a_clerks_confirmation(browser, console):
    reference = console.application(full_name="Võ Thị Lan")
    agent, clerk = console.staff(rules.POST_OFFICE_AGENT), console.staff(rules.OFFICE_STAFF)
    with browser.new_context(locale="vi-VN") as agent_context:
        page = agent_context.new_page()
        console.sign_in(page, agent)
        open_from_queue(page, console, reference, reference.lower())
        assert photos_loaded(page) == [90, 171, 171]
        assert page.locator("#decision-approve").count() == 0
        page.check("#decision-field_verified")
        page.fill("#reason", "Đã gặp bà Lan tại bưu cục Phú Nhuận, CCCD khớp.")
        assert submit(page, "#decide") == 303
        page.wait_for_url(f"{console.base}/staff/applications/{reference}?done=field_verified")
        assert page.locator("#status").get_attribute("data-status") == "field_verified"
        assert VI["staff_app_waiting_for_clerk"] in page.locator("#field-verified").inner_text()
        shot(page, "console-field-verified")
    with browser.new_context(locale="vi-VN") as clerk_context:
        page = clerk_context.new_page()
        console.sign_in(page, clerk)
        page.goto(f"{console.base}/staff/applications?status=field_verified")
        assert page.locator("#queue tbody tr").count() == 1
        page.click(f"#queue a:text('{reference}')")
        page.wait_for_url(f"{console.base}/staff/applications/{reference}")
        notice = page.locator("#field-verified").inner_text()
        assert re.match(rf"Đã xác minh tại bưu điện bởi {agent} lúc \d\d:\d\d \d\d/\d\d/\d{{4}}",
                        notice)
        assert page.locator("#agent-note").inner_text() == VI["staff_app_agent_note"].format(
            note="Đã gặp bà Lan tại bưu cục Phú Nhuận, CCCD khớp.")
        assert page.locator("label:has(#decision-approve)").inner_text().strip() == VI[
            "staff_app_decision_confirm"]
        assert page.locator("label:has(#decision-reject)").inner_text().strip() == VI[
            "staff_app_decision_overturn"]
        shot(page, "console-confirm")
        page.check("#decision-approve")
        assert submit(page, "#decide") == 303
        page.wait_for_url(f"{console.base}/staff/applications/{reference}?done=approved")
        assert page.locator("#status").get_attribute("data-status") == "approved"
    application = console.row(Application, reference=reference)
    account = console.row(Account, id=application.account_id)
    assert account.verification_method == "post_office"


def test_a_clerk_cannot_open_another_offices_application(page, console):
    foreign = console.application(office=OTHER_OFFICE, full_name="Trịnh Văn Khoa")
    console.sign_in(page, console.staff(rules.OFFICE_STAFF))
    response = page.goto(f"{console.base}/staff/applications/{foreign}")
    assert response.status == 404
    message = page.locator("#message")
    assert message.get_attribute("data-code") == "staff_app_not_found"
    assert message.inner_text() == VI["staff_app_not_found"]
    assert "Trịnh Văn Khoa" not in page.content()
    shot(page, "console-foreign-application")
    photo = page.goto(f"{console.base}/staff/applications/{foreign}/photos/portrait")
    assert photo.status == 404 and not photo.headers["content-type"].startswith("image/")
    # the same answer as a reference that does not exist
    missing = page.goto(f"{console.base}/staff/applications/NOSUCHREF1")
    assert missing.status == 404 and page.locator("#message").inner_text() == VI[
        "staff_app_not_found"]
