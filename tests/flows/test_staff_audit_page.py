"""The supervisor's audit page: newest first, filters, keyset paging, and the chain check that
names an edited or deleted record."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from gateway.clock import FixedClock
from gateway.extensions import db
from gateway.services import audit
from tests.helpers import csrf_of
from tests.helpers.staff import code_at, codes_on, new_staff, sign_in

CLERK = audit.Actor("clerk.an", "office_staff", "BHXH-001")


@pytest.fixture
def supervisor(make_app):
    clock = FixedClock()
    app = make_app(clock=clock)
    with app.app_context():
        boss = new_staff("boss.chi", role="supervisor", office=None)  # audit record 1
        for n in range(59):
            audit.append(CLERK, "account.viewed" if n % 2 else "account.signed_out_everywhere",
                         f"account:{n % 3}", reason=f"lý do {n}")
        db.session.commit()
        client = app.test_client()
        assert sign_in(client, "boss.chi", code_at(boss)).status_code == 302
        yield client
        db.session.remove()


def _seqs(html: str) -> list[int]:
    return [int(s) for s in re.findall(r'<tr data-seq="(\d+)"', html)]


def test_newest_first_fifty_a_page(supervisor):
    first = supervisor.get("/staff/audit").get_data(as_text=True)
    assert _seqs(first) == list(range(60, 10, -1))
    older = re.search(r'id="audit-next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = supervisor.get(older).get_data(as_text=True)
    assert _seqs(second) == list(range(10, 0, -1))
    assert 'id="audit-next"' not in second and 'id="audit-first"' in second
    assert "staff.created" in second and "cli:test" in second


def test_filters_are_exact_and_combine(supervisor):
    page = supervisor.get("/staff/audit?action=account.viewed&subject=account:1")
    seqs = _seqs(page.get_data(as_text=True))
    # n odd (viewed) and n % 3 == 1: n = 1, 7, 13, ... -> seq n + 2
    assert seqs == sorted((n + 2 for n in range(59) if n % 2 and n % 3 == 1), reverse=True)
    assert _seqs(supervisor.get("/staff/audit?actor=boss.chi").get_data(as_text=True)) == []
    assert 'id="audit-empty"' in supervisor.get("/staff/audit?actor=nobody").get_data(
        as_text=True)
    assert len(_seqs(supervisor.get("/staff/audit?actor=clerk.an").get_data(as_text=True))) == 50
    junk = supervisor.get("/staff/audit?before=abc&action=" + "x" * 500)
    assert junk.status_code == 200


def _verify(client) -> str:
    token = csrf_of(client.get("/staff/audit").get_data(as_text=True))
    response = client.post("/staff/audit/verify", data={"csrf_token": token})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_chain_check_says_it_holds(supervisor):
    html = _verify(supervisor)
    assert codes_on(html)[0] == "chain_intact" and 'data-checked="60"' in html
    assert "60 bản ghi" in html


@pytest.mark.parametrize(("tamper", "problem"), [
    ("UPDATE audit_records SET reason = 'đã sửa' WHERE seq = 17", "content"),
    ("DELETE FROM audit_records WHERE seq = 17", "gap"),
])
def test_the_chain_check_names_the_broken_record(supervisor, tamper, problem):
    db.session.execute(text(tamper))
    db.session.commit()
    html = _verify(supervisor)
    assert codes_on(html)[0] == "chain_broken"
    assert 'data-seq="17"' in html and f'data-problem="{problem}"' in html


def test_the_check_needs_the_sessions_token(supervisor):
    refused = supervisor.post("/staff/audit/verify", data={"csrf_token": "x"})
    assert refused.status_code == 400 and codes_on(refused.get_data(as_text=True)) == [
        "csrf_failed"]
