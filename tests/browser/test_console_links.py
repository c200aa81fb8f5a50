"""The VNeID link review queue in a real browser (Debian's Chromium): a sandbox citizen's VNeID
sign-in conflicts with their VssID account (the birth dates differ) and opens a case; a clerk
finds it in the console, is refused without a reason, links it with one; the citizen's next
VNeID sign-in goes straight through (rule 1)."""

from __future__ import annotations

import pytest

from gateway.extensions import db
from gateway.i18n import MESSAGES
from gateway.models import AuditRecord, VneidLink
from tests.helpers.browser import shot, submit
from tests.helpers.staff import STAFF_PASSWORD, code_at, new_staff
from tests.helpers.vneid import CUONG

pytestmark = pytest.mark.browser
VI, EN = MESSAGES["vi"], MESSAGES["en"]


def _vneid_sign_in(page, site):
    page.goto(site.authorize_url())
    page.click("#vneid")
    page.wait_for_url(f"{site.base}/sandbox/vneid/authorize?**")
    page.click(f"tr[data-tech-id='{CUONG}'] button")
    page.wait_for_load_state()


def test_a_case_from_a_vneid_sign_in_is_resolved_in_the_console(page, vneid_site, context):
    site = vneid_site
    _vneid_sign_in(page, site)
    assert page.locator("#message").get_attribute("data-code") == "review:birthdate_mismatch"
    context.clear_cookies()

    with site.app.app_context():
        code = code_at(new_staff("clerk.an", role="office_staff"))
        db.session.remove()
    page.goto(f"{site.base}/staff/login")
    page.fill("#username", "clerk.an")
    page.fill("#password", STAFF_PASSWORD)
    page.fill("#totp", code)
    assert submit(page) == 302
    page.click("#nav-links")
    page.wait_for_url(f"{site.base}/staff/links")
    assert page.locator("h1").inner_text() == VI["staff_links_title"]
    rows = page.locator("#links tbody tr")
    assert rows.count() == 1
    assert rows.first.locator("[data-reason]").inner_text() == VI[
        "staff_links_why_birthdate_mismatch"]
    assert "Lê Văn Cường" in rows.first.inner_text()
    assert "031090001234" not in page.content() and "0312345678" not in page.content()
    shot(page, "staff-links-queue")

    rows.first.locator("a").click()
    page.wait_for_url(f"{site.base}/staff/links/*")
    assert page.locator("#vneid-name").inner_text() == "Lê Văn Cường"
    assert page.locator("#vneid-id-number").inner_text() == "********1234"
    candidate = page.locator("#candidates tbody tr")
    assert candidate.count() == 1 and "******5678" in candidate.inner_text()
    assert candidate.locator("[data-agrees=no]").count() == 1  # the birth date
    shot(page, "staff-links-case")

    page.check("#decision-link")
    page.fill("#bhxh", "0312345678")
    # The reason is required: the browser's own check is bypassed to see the server's.
    page.locator("#reason").evaluate("el => el.removeAttribute('required')")
    assert submit(page, "#resolve") == 400
    assert page.locator("#resolve-error").get_attribute("data-code") == "reason_required"
    assert page.locator("#resolve-error").inner_text() == VI[
        "staff_links_error_reason_required"]
    assert page.locator("#bhxh").input_value() == "0312345678"
    shot(page, "staff-links-refused")

    page.fill("#reason", "Giấy khai sinh xác nhận ngày sinh 15/06/1990; sổ cũ ghi sai")
    assert submit(page, "#resolve") == 303
    page.wait_for_url(f"{site.base}/staff/links/*done=linked")
    assert page.locator("#done").inner_text() == VI["staff_links_done_linked"]
    assert page.locator("#resolution-by").inner_text() == "clerk.an"
    assert page.locator("#resolve-form").count() == 0
    page.click("a.lang")
    assert page.locator("#done").inner_text() == EN["staff_links_done_linked"]
    shot(page, "staff-links-resolved")
    page.click("#back-to-queue")
    assert page.locator("#links-empty").is_visible()

    with site.app.app_context():
        link = VneidLink.query.one()
        assert (link.subject, link.how) == (CUONG, "staff")
        assert AuditRecord.query.filter_by(action="link_review.resolved").one().actor == \
            "clerk.an"
        db.session.remove()

    context.clear_cookies()
    _vneid_sign_in(page, site)
    assert site.landed(page)["code"]
