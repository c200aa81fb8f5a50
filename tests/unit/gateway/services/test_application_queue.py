"""The office queue (gateway/services/application_queue.py): who sees which applications, the
status filter, the search box (numbers exact, names case-insensitive with accents as typed),
paging, and opening one application — another office's answering as a missing one does."""

from __future__ import annotations

import unicodedata

import pytest

from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.models import Event
from gateway.services import application_queue as queue_service
from gateway.services.application_queue import ApplicationNotFoundError, open_application, queue
from policies import applications as rules
from tests.helpers.applications import (
    OFFICE,
    OTHER_OFFICE,
    applications_in_order,
    new_application,
    new_staff,
)


def refs(page) -> list[str]:
    return [a.reference for a in page.items]


def events(name: str) -> list[Event]:
    db.session.expire_all()
    return Event.query.filter_by(name=name).order_by(Event.id).all()


@pytest.fixture
def two_offices(app):
    here = [new_application(), new_application(status=rules.FIELD_VERIFIED)]
    there = [new_application(office=OTHER_OFFICE)]
    return here, there


@pytest.mark.parametrize("role", [rules.OFFICE_STAFF, rules.POST_OFFICE_AGENT])
def test_office_roles_see_their_office_only(two_offices, role):
    here, there = two_offices
    page = queue(new_staff(role))
    assert sorted(refs(page)) == sorted(a.reference for a in here)
    assert page.total == 2
    assert refs(queue(new_staff(role, office=OTHER_OFFICE))) == [there[0].reference]


def test_a_supervisor_sees_every_office(two_offices):
    here, there = two_offices
    supervisor = new_staff(rules.SUPERVISOR, office=None)
    assert sorted(refs(queue(supervisor))) == sorted(a.reference for a in here + there)


def test_an_office_role_without_an_office_sees_nothing(two_offices):
    """Staff creation refuses such an account; the queue does not rely on it."""
    clerk = new_staff(rules.OFFICE_STAFF)
    clerk.office_code = None
    db.session.commit()
    assert queue(clerk).total == 0


def test_the_status_filter(app):
    submitted = new_application()
    verified = new_application(status=rules.FIELD_VERIFIED)
    approved = new_application(status=rules.APPROVED)
    rejected = new_application(status=rules.REJECTED)
    clerk = new_staff(rules.OFFICE_STAFF)
    assert sorted(refs(queue(clerk))) == sorted([submitted.reference, verified.reference])
    assert len(queue(clerk, status="all").items) == 4
    for application in (submitted, verified, approved, rejected):
        assert refs(queue(clerk, status=application.status)) == [application.reference]
    with pytest.raises(ValidationError) as refused:
        queue(clerk, status="pending")
    assert refused.value.code == "invalid_status"


def test_search_by_numbers_is_exact(app):
    target = new_application(bhxh="0123456789", cccd="079085001234")
    new_application(bhxh="0123456780", cccd="079085001235")
    clerk = new_staff(rules.OFFICE_STAFF)
    assert refs(queue(clerk, search="0123456789")) == [target.reference]
    assert refs(queue(clerk, search=" 079085001234 ")) == [target.reference]
    assert queue(clerk, search="012345678").total == 0       # a prefix is no number
    assert queue(clerk, search="０１２３４５６７８９").total == 0  # full-width: not digits


def test_search_by_reference_ignores_case(app):
    target = new_application(reference="HS7K2M9QXA")
    new_application()
    clerk = new_staff(rules.OFFICE_STAFF)
    assert refs(queue(clerk, search="hs7k2m9qxa")) == [target.reference]
    assert refs(queue(clerk, search="HS7K2M9QXA")) == [target.reference]


def test_search_by_name_folds_case_keeps_accents(app):
    do = new_application(full_name="Đỗ Thị Ánh")
    nguyen = new_application(full_name="Nguyễn Văn An")
    le = new_application(full_name="Lê Văn Lễ")
    new_application(full_name="Trần Văn Lâm")
    clerk = new_staff(rules.OFFICE_STAFF)
    assert refs(queue(clerk, search="ĐỖ THỊ")) == [do.reference]
    assert refs(queue(clerk, search="đỗ")) == [do.reference]
    assert refs(queue(clerk, search="NGUYỄN")) == [nguyen.reference]
    # A name typed with combining marks (a Telex keyboard) is the same name.
    assert refs(queue(clerk, search=unicodedata.normalize("NFD", "Nguyễn  văn"))) == [
        nguyen.reference]
    # Accents as typed: without them, no match; "lễ" is not "lê".
    assert queue(clerk, search="nguyen").total == 0
    assert refs(queue(clerk, search="lễ")) == [le.reference]
    assert refs(queue(clerk, search="lê văn")) == [le.reference]


def test_search_wildcards_are_literal(app):
    new_application(full_name="Phạm Văn Bình")
    clerk = new_staff(rules.OFFICE_STAFF)
    for typed in ("%", "_", "Ph_m", "\\"):
        assert queue(clerk, search=typed).total == 0, typed


def test_search_stays_in_the_office(app):
    new_application(full_name="Hoàng Văn Nam", office=OTHER_OFFICE, bhxh="0999999999")
    clerk = new_staff(rules.OFFICE_STAFF)
    assert queue(clerk, search="Hoàng").total == 0
    assert queue(clerk, search="0999999999").total == 0


def test_an_empty_or_overlong_search_lists_everything(app):
    applications_in_order(3)
    clerk = new_staff(rules.OFFICE_STAFF)
    assert queue(clerk, search="   ").total == 3
    assert queue(clerk, search="x" * 101).total == 3


def test_paging_oldest_first(app):
    made = applications_in_order(25)
    clerk = new_staff(rules.OFFICE_STAFF)
    first = queue(clerk, per_page=10)
    assert (first.total, first.pages, first.page) == (25, 3, 1)
    assert refs(first) == [a.reference for a in made[:10]]
    last = queue(clerk, page=3, per_page=10)
    assert refs(last) == [a.reference for a in made[20:]]
    beyond = queue(clerk, page=99, per_page=10)
    assert beyond.page == 3 and refs(beyond) == refs(last)
    assert queue(clerk, page=-4, per_page=10).page == 1
    assert queue(clerk, per_page=10_000).per_page == queue_service.MAX_PAGE_SIZE


def test_opening_ones_own_application(app):
    application = new_application()
    clerk = new_staff(rules.OFFICE_STAFF)
    assert open_application(clerk, application.reference).id == application.id
    assert events("application.viewed") == []
    open_application(clerk, application.reference, viewed=True)
    [viewed] = events("application.viewed")
    assert viewed.data == {"staff_id": clerk.id, "role": rules.OFFICE_STAFF,
                           "application_id": application.id}


def test_another_offices_application_answers_as_a_missing_one(app):
    elsewhere = new_application(office=OTHER_OFFICE)
    clerk = new_staff(rules.OFFICE_STAFF)
    agent = new_staff(rules.POST_OFFICE_AGENT)
    for staff in (clerk, agent):
        with pytest.raises(ApplicationNotFoundError) as foreign:
            open_application(staff, elsewhere.reference)
        assert (foreign.value.code, foreign.value.status) == ("application_not_found", 404)
    with pytest.raises(ApplicationNotFoundError) as missing:
        open_application(clerk, "NOSUCHREF1")
    assert missing.value.body() == foreign.value.body()
    refused = events("application.access_refused")
    assert [e.data["why"] for e in refused] == ["other_office", "other_office", "not_found"]
    assert refused[0].data == {"staff_id": clerk.id, "role": rules.OFFICE_STAFF,
                               "office": OFFICE, "why": "other_office",
                               "application_id": elsewhere.id}
    assert refused[2].data["application_id"] is None


@pytest.mark.parametrize("reference", ["", "../etc/passwd", "A" * 21, "x y", None, 42])
def test_malformed_references_are_missing(app, reference):
    with pytest.raises(ApplicationNotFoundError):
        open_application(new_staff(rules.OFFICE_STAFF), reference)
    assert [e.data["why"] for e in events("application.access_refused")] == ["not_found"]


def test_a_supervisor_opens_any_office(app):
    elsewhere = new_application(office=OTHER_OFFICE)
    supervisor = new_staff(rules.SUPERVISOR, office=OFFICE)
    assert open_application(supervisor, elsewhere.reference).id == elsewhere.id
