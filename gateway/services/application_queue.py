"""The office queue of account applications: which staff member sees which applications,
how the queue is searched and paged, and opening one application.

Why scoping lives here, once: every way into an application — the queue, its page, its
photos, a decision — goes through ``visible_to`` or ``open_application``, so a clerk of one
office can never reach another office's applicants by typing a reference or a photo URL.
Office staff and post-office agents see their own office only (a staff account of those roles
without an office sees nothing); supervisors see every office.

An application that exists but lies outside the staff member's scope answers exactly like one
that does not exist (``application_not_found``, 404): a reference must not be confirmable
from another office. Each refusal is recorded as an ``application.access_refused`` event
(who, and whether the reference exists elsewhere), so a clerk probing references shows up.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sqlalchemy import false, func, or_, select, true

from gateway.errors import GatewayError, ValidationError
from gateway.extensions import db
from gateway.models import Application, StaffAccount
from gateway.services.events import emit
from policies.application_search import like_pattern, parse_query
from policies.applications import OPEN_STATUSES, STATUSES, SUPERVISOR

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
# "open" (submitted or field_verified: the work still to do), "all", or one status.
STATUS_FILTERS = ("open", "all", *STATUSES)
_REFERENCE = re.compile(r"[A-Za-z0-9-]{1,20}")


class ApplicationNotFoundError(GatewayError):
    """No application of this reference that this staff member may open (none at all, or
    another office's: the same answer)."""

    status = 404
    code = "application_not_found"


@dataclass(frozen=True)
class QueuePage:
    items: list[Application]
    total: int
    page: int
    pages: int
    per_page: int
    status: str


def visible_to(staff: StaffAccount):
    """The SQL condition selecting the applications ``staff`` may see."""
    if staff.role == SUPERVISOR:
        return true()
    if not staff.office_code:
        return false()
    return Application.office_code == staff.office_code


def _status_condition(status: str):
    if status not in STATUS_FILTERS:
        raise ValidationError("invalid_status", field="status",
                              detail="open, all or one status")
    if status == "open":
        return Application.status.in_(OPEN_STATUSES)
    if status == "all":
        return true()
    return Application.status == status


def _search_condition(search: str | None):
    query = parse_query(search)
    if query is None:
        return true()
    if query.bhxh:
        return Application.bhxh == query.bhxh
    if query.cccd:
        return Application.cccd == query.cccd
    by_name = Application.name_key.like(like_pattern(query.name), escape="\\")
    if query.reference is None:
        return by_name
    return or_(func.upper(Application.reference) == query.reference, by_name)


def queue(staff: StaffAccount, *, status: str = "open", search: str | None = None,
          page: int = 1, per_page: int = PAGE_SIZE) -> QueuePage:
    """One page of the applications ``staff`` may see, oldest first (the order people came
    in), filtered by status (STATUS_FILTERS) and by the search box (policies/
    application_search.py). A page past the end is the last page."""
    per_page = max(1, min(int(per_page), MAX_PAGE_SIZE))
    where = (visible_to(staff), _status_condition(status), _search_condition(search))
    total = db.session.execute(
        select(func.count()).select_from(Application).where(*where)).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    page = max(1, min(int(page), pages))
    items = db.session.execute(
        select(Application).where(*where)
        .order_by(Application.submitted_at, Application.id)
        .offset((page - 1) * per_page).limit(per_page)
    ).scalars().all()
    return QueuePage(list(items), total, page, pages, per_page, status)


def open_application(staff: StaffAccount, reference: str, *, viewed: bool = False) -> Application:
    """The application of ``reference`` if ``staff`` may open it; ApplicationNotFoundError
    otherwise, after recording the refusal. ``viewed``: also record that its page (personal
    details and photos) was shown (``application.viewed``)."""
    application = elsewhere = None
    if isinstance(reference, str) and _REFERENCE.fullmatch(reference):
        application = db.session.execute(
            select(Application).where(Application.reference == reference, visible_to(staff))
        ).scalar_one_or_none()
        if application is None:
            elsewhere = db.session.execute(
                select(Application.id).where(Application.reference == reference)
            ).scalar_one_or_none()
    if application is None:
        emit("application.access_refused", staff_id=staff.id, role=staff.role,
             office=staff.office_code, why="not_found" if elsewhere is None else "other_office",
             application_id=elsewhere, commit=True)
        raise ApplicationNotFoundError()
    if viewed:
        emit("application.viewed", staff_id=staff.id, role=staff.role,
             application_id=application.id, commit=True)
    return application
