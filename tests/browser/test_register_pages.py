"""The applicant in a real browser: from the login page's link to a declaration with three
photos, a validation error shown at its field, then the reference; the status look-up with
the code read from the SMS outbox; a rejected application corrected."""

from __future__ import annotations

import pytest

from gateway.i18n import MESSAGES
from tests.helpers import declarations as make
from tests.helpers.browser import shot, submit
from tests.helpers.sms import last_otp, sms_sent

pytestmark = pytest.mark.browser
VI, EN = MESSAGES["vi"], MESSAGES["en"]


@pytest.fixture
def applicant_site(site):
    with site.app.app_context():
        make.load_offices()
    return site


def choose_photos(page) -> None:
    for name, (content, filename, kind) in make.photos().items():
        page.set_input_files(f"#{name}", files=[{"name": filename, "mimeType": kind,
                                                  "buffer": content}])


def fill(page, values: dict[str, str]) -> None:
    for name in ("bhxh_number", "full_name", "date_of_birth", "id_number", "phone", "email"):
        page.fill(f"#{name}", values[name])
    page.check(f"#sex_{values['sex']}")
    page.select_option("#office", values["office"])


def declare(page, site, values) -> str:
    """Fills and sends the form; returns the reference shown."""
    fill(page, values)
    choose_photos(page)
    assert submit(page) == 303
    page.wait_for_url(f"{site.base}/register/submitted")
    return page.locator("#reference").inner_text()


def look_up(page, site, reference: str) -> None:
    page.goto(f"{site.base}/register/status")
    page.fill("#reference", reference.lower())
    assert submit(page) == 303
    page.wait_for_url(f"{site.base}/register/status/verify?**")
    assert page.locator("#otp-sent").inner_text() == VI["status_otp_sent"].format(
        reference=reference)
    page.fill("#otp", last_otp(site.app))
    assert submit(page) == 303
    page.wait_for_url(f"{site.base}/register/status/view?**")


def test_a_declaration_with_an_error_then_the_reference(page, applicant_site):
    site = applicant_site
    page.goto(site.other_authorize_url())
    page.wait_for_url(f"{site.base}/login?flow=*")
    link = page.locator("#register")
    assert link.inner_text() == "Đăng ký tài khoản"
    link.click()
    page.wait_for_url(f"{site.base}/register")
    assert page.locator("h1").inner_text() == VI["decl_title"]
    assert page.locator("label[for=portrait]").inner_text() == VI["portrait_label"]
    assert page.locator("#office option").count() > 60
    shot(page, "register")

    # A CCCD whose fourth digit says female, for a man: only the server can tell.
    values = make.fields(id_number="001190123456", full_name="Nguyễn Văn Bình")
    files_before = make.stored_files(site.app.config["FILE_STORE_DIR"])
    fill(page, values)
    choose_photos(page)
    assert submit(page) == 422
    error = page.locator("#id_number-error")
    assert error.get_attribute("data-code") == "cccd_sex_mismatch"
    assert error.inner_text() == VI["cccd_sex_mismatch"]
    assert page.locator("#id_number").get_attribute("aria-invalid") == "true"
    assert page.locator("p.error[data-code=decl_fix_errors]").inner_text() == \
        VI["decl_fix_errors"]
    assert page.input_value("#full_name") == "Nguyễn Văn Bình"  # typed text kept
    assert page.input_value("#office") == make.OFFICE
    assert page.is_checked("#sex_male")
    assert page.eval_on_selector("#portrait", "e => e.files.length") == 0  # asked again
    assert make.stored_files(site.app.config["FILE_STORE_DIR"]) == files_before
    shot(page, "register-error")

    page.fill("#id_number", "001090123456")
    choose_photos(page)
    assert submit(page) == 303
    page.wait_for_url(f"{site.base}/register/submitted")
    reference = page.locator("#reference").inner_text()
    assert page.locator("#reference-message").inner_text() == VI["decl_done"].format(
        reference=reference)
    assert reference in sms_sent(site.app)[-1]["text"]
    shot(page, "register-done")

    # English on request, kept for the next pages
    page.click("a.lang")
    page.wait_for_url(f"{site.base}/register/submitted?lang=en")
    assert page.locator("h1").inner_text() == EN["decl_done_title"]


def test_the_status_with_the_code_from_the_sms(page, applicant_site):
    site = applicant_site
    page.goto(f"{site.base}/register")
    reference = declare(page, site, make.fields(phone="0987000333"))
    page.click("#status-link")
    page.wait_for_url(f"{site.base}/register/status")
    assert page.locator("h1").inner_text() == VI["status_title"]
    shot(page, "register-status")
    look_up(page, site, reference)
    assert page.locator("h1").inner_text() == VI["status_heading"]
    assert page.locator("#reference").inner_text() == reference
    assert page.locator("#status").get_attribute("data-status") == "submitted"
    assert page.locator("#status").inner_text() == VI["status_submitted"]
    assert page.locator("#office").inner_text() == "Bảo hiểm xã hội thành phố Hà Nội"
    assert page.locator("#resubmit").count() == 0
    shot(page, "register-status-view")

    # A wrong code is said at the field's form, as for an unknown reference
    page.goto(f"{site.base}/register/status")
    page.fill("#reference", "DK-2222-3333")
    submit(page)
    page.fill("#otp", "000000" if last_otp(site.app) != "000000" else "111111")
    assert submit(page) == 400
    assert page.locator("p.error").get_attribute("data-code") == "otp_invalid"


def test_a_rejected_application_corrected(page, applicant_site):
    site = applicant_site
    page.goto(f"{site.base}/register")
    values = make.fields(phone="0987000444")
    reference = declare(page, site, values)
    with site.app.app_context():
        make.reject(reference, "photo_unusable", "Ảnh chân dung bị mờ, vui lòng chụp lại.")
    look_up(page, site, reference)
    assert page.locator("#status").inner_text() == VI["status_rejected"]
    assert page.locator("#reason").inner_text() == VI["rejection_photo_unusable"]
    assert page.locator("#reason-note").inner_text() == "Ảnh chân dung bị mờ, vui lòng chụp lại."
    shot(page, "register-rejected")
    page.click("#resubmit")
    page.wait_for_url(f"{site.base}/register/resubmit?**")
    assert page.locator("h1").inner_text() == VI["resubmit_title"]
    assert page.input_value("#bhxh_number") == values["bhxh_number"]
    assert page.input_value("#phone") == "0987000444"
    assert page.input_value("#office") == make.OFFICE
    choose_photos(page)
    assert submit(page) == 303
    page.wait_for_url(f"{site.base}/register/submitted")
    correction = page.locator("#reference").inner_text()
    assert correction != reference
    with site.app.app_context():
        assert make.application(correction).previous_id == make.application(reference).id
    # the status now says it was corrected, and offers no second correction
    look_up(page, site, reference)
    assert page.locator("#corrected-by").inner_text() == VI["corrected_by"].format(
        reference=correction)
    assert page.locator("#resubmit").count() == 0
