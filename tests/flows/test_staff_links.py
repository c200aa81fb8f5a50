"""The console's VNeID link review pages over HTTP (/staff/links): the queue (open cases only,
oldest first, numbers masked), a case's page (both sides; recorded as viewed), its resolution
through gateway/services/links.resolve_case (linked or rejected, audited as the clerk), and
every refusal — role, CSRF, reason, account, a case resolved already, the one-to-one rule —
showing its code and changing nothing."""

from __future__ import annotations

import re

import pytest

from gateway.clock import FixedClock
from gateway.extensions import db
from gateway.models import AuditRecord, LinkReview, VneidLink
from gateway.services import audit, link_reviews, links
from tests.helpers.links import CCCD, account_for, events, identity, sms_templates
from tests.helpers.staff import codes_on, console_client, new_staff, page_token


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


def _case(subject: str = "techid-0001", **changes) -> LinkReview:
    """A case opened by a VNeID sign-in whose identity matches two accounts (rule 5)."""
    return links.settle(identity(subject, **changes), register_knows=False).case


def _two_candidates():
    return account_for("0000000001", level=1), account_for("0000000002")


def _state(case_id: int):
    db.session.expire_all()
    case = db.session.get(LinkReview, case_id)
    return case.status, VneidLink.query.count(), AuditRecord.query.count()


def _post(client, case_id: int, **form):
    token = form.pop("csrf_token", None) or page_token(client, f"/staff/links/{case_id}")
    return client.post(f"/staff/links/{case_id}", data={"csrf_token": token, **form})


def test_the_queue_lists_open_cases_oldest_first_with_numbers_masked(console):
    _two_candidates()
    first = _case("s-first")
    console.clock.advance(seconds=60)
    second = _case("s-second", full_name="Nguyễn Văn Ân")
    console.clock.advance(seconds=60)
    done = _case("s-done")
    links.resolve_case(done.id, actor=audit.Actor("cli:links"), reason="trùng", reject=True)
    page = console_client(console, console.clock, "clerk.an").get("/staff/links")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    rows = [int(x) for x in re.findall(r'<tr data-case="(\d+)"', html)]
    assert rows == [first.id, second.id]
    assert 'id="nav-links"' in html and "Liên kết VNeID" in html
    assert CCCD not in html and "0000000001" not in html and "0000000002" not in html
    assert "********2345" in html and "******0001" in html


def test_an_empty_queue_says_so(console):
    html = console_client(console, console.clock, "boss.chi").get("/staff/links").get_data(
        as_text=True)
    assert 'id="links-empty"' in html and 'id="nav-links"' in html


def test_a_case_page_shows_both_sides_masked_and_is_recorded(console):
    agreeing, _ = _two_candidates()
    case = _case()
    page = console_client(console, console.clock, "clerk.an").get(f"/staff/links/{case.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-reason="several_candidates"' in html and 'id="resolve-form"' in html
    assert f'data-account="{agreeing.id}"' in html and "******0001" in html
    assert CCCD not in html and "0000000001" not in html and "+84987654321" not in html
    [viewed] = events("link_review.viewed")
    assert viewed.data == {"case_id": case.id, "by": "clerk.an", "role": "office_staff",
                           "office": "BHXH-001"}


def test_an_unknown_case_is_404(console):
    client = console_client(console, console.clock, "clerk.an")
    page = client.get("/staff/links/999999")
    assert page.status_code == 404 and codes_on(page.get_data(as_text=True)) == [
        "staff_links_not_found"]
    token = page_token(client, "/staff/links")
    posted = client.post("/staff/links/999999", data={"csrf_token": token, "decision": "reject",
                                                      "reason": "không có"})
    assert posted.status_code == 404
    assert client.get("/staff/links/abc").status_code == 404


def test_a_clerk_links_a_case_to_an_account(console):
    account, _ = _two_candidates()
    case = _case()
    client = console_client(console, console.clock, "clerk.an")
    done = _post(client, case.id, decision="link", bhxh="0000000001",
                 reason="Đã đối chiếu CCCD tại quầy")
    assert done.status_code == 303 and done.location == f"/staff/links/{case.id}?done=linked"
    db.session.expire_all()
    row = VneidLink.query.one()
    assert (row.account_id, row.subject, row.how, row.review_id) == (
        account.id, "techid-0001", "staff", case.id)
    records = AuditRecord.query.order_by(AuditRecord.seq).all()[-2:]
    assert [(r.actor, r.actor_role, r.actor_office, r.action, r.reason) for r in records] == [
        ("clerk.an", "office_staff", "BHXH-001", "link_review.resolved",
         "Đã đối chiếu CCCD tại quầy"),
        ("clerk.an", "office_staff", "BHXH-001", "vneid.linked", "staff_review")]
    assert audit.verify()[1] is None
    assert sms_templates()[-1][0] == "vneid_linked"
    html = client.get(done.location).get_data(as_text=True)
    assert codes_on(html) == ["linked"] and 'data-resolution="linked"' in html
    assert 'id="resolve-form"' not in html and "Đã đối chiếu CCCD tại quầy" in html


def test_a_supervisor_rejects_a_case(console):
    _two_candidates()
    case = _case()
    client = console_client(console, console.clock, "boss.chi")
    done = _post(client, case.id, decision="reject", bhxh="0000000001",
                 reason="Không đủ căn cứ để liên kết")
    assert done.status_code == 303 and done.location.endswith("?done=rejected")
    assert _state(case.id)[:2] == ("resolved", 0)
    assert link_reviews.get_case(case.id).resolved_by == "boss.chi"


@pytest.mark.parametrize(("form", "status", "code"), [
    ({"decision": "reject", "reason": "   "}, 400, "reason_required"),
    ({"decision": "reject", "reason": "x" * 2001}, 400, "reason_too_long"),
    ({"decision": "", "reason": "một lý do"}, 400, "account_or_reject"),
    ({"decision": "approve", "bhxh": "0000000001", "reason": "một lý do"}, 400,
     "account_or_reject"),
    ({"decision": "link", "bhxh": "", "reason": "một lý do"}, 400, "account_or_reject"),
    ({"decision": "link", "bhxh": "0000000009", "reason": "một lý do"}, 400,
     "unknown_account"),
    ({"decision": "link", "bhxh": "not-a-number", "reason": "một lý do"}, 400,
     "unknown_account"),
    ({"decision": "reject", "reason": "một lý do", "csrf_token": "forged"}, 400,
     "csrf_failed"),
])
def test_refusals_show_their_code_and_change_nothing(console, form, status, code):
    _two_candidates()
    case = _case()
    client = console_client(console, console.clock, "clerk.an")
    before = _state(case.id)
    refused = _post(client, case.id, **form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == status and codes_on(html) == [code]
    assert 'id="resolve-form"' in html
    if form.get("bhxh"):
        assert f'value="{form["bhxh"]}"' in html  # what was typed is kept
    assert _state(case.id) == before == ("open", 0, before[2])
    assert events("link_review.resolved") == []


def test_a_case_resolved_meanwhile_is_refused(console):
    _two_candidates()
    case = _case()
    client = console_client(console, console.clock, "clerk.an")
    token = page_token(client, f"/staff/links/{case.id}")
    links.resolve_case(case.id, actor=audit.Actor("cli:links"), reason="đã xử lý", reject=True)
    before = _state(case.id)
    refused = _post(client, case.id, csrf_token=token, decision="link", bhxh="0000000001",
                    reason="liên kết")
    assert refused.status_code == 409 and codes_on(refused.get_data(as_text=True)) == [
        "case_not_open"]
    assert _state(case.id) == before


def test_an_account_linked_to_another_identity_is_refused_and_the_case_stays_open(console):
    account, _ = _two_candidates()
    case = _case()
    links.link(identity("someone-else"), account, how="auto", reason="auto_verified_match")
    client = console_client(console, console.clock, "clerk.an")
    before = _state(case.id)
    refused = _post(client, case.id, decision="link", bhxh="0000000001", reason="liên kết")
    assert refused.status_code == 409 and codes_on(refused.get_data(as_text=True)) == [
        "account_already_linked"]
    assert _state(case.id) == before and before[0] == "open"


def test_only_office_staff_and_supervisors_open_the_queue(console):
    _two_candidates()
    case = _case()
    agent = console_client(console, console.clock, "agent.binh")
    assert 'id="nav-links"' not in agent.get("/staff/").get_data(as_text=True)
    for path in ("/staff/links", f"/staff/links/{case.id}"):
        page = agent.get(path)
        assert page.status_code == 403 and codes_on(page.get_data(as_text=True)) == [
            "staff_forbidden"]
    token = page_token(agent, "/staff/")
    posted = agent.post(f"/staff/links/{case.id}", data={
        "csrf_token": token, "decision": "reject", "reason": "không được phép"})
    assert posted.status_code == 403 and _state(case.id)[:2] == ("open", 0)
    assert events("link_review.viewed") == []

    stranger = console.test_client()
    for method in ("get", "post"):
        answer = getattr(stranger, method)(f"/staff/links/{case.id}")
        assert answer.status_code == 302 and answer.location.startswith("/staff/login")
    assert _state(case.id)[0] == "open"
