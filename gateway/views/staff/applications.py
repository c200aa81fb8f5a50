"""The console's application pages: the office queue, one application with its photos and the
decision form, and the photos themselves.

Thin on purpose: who sees what is gateway/services/application_queue.py (another office's
application is a 404 here exactly as a missing one), what a decision does is
gateway/services/application_decisions.py, which decisions a role may take is
policies/applications.py. The photos are served from the file store only through
``open_application``, never from a public path, with ``no-store`` and ``nosniff``.
"""

from __future__ import annotations

from flask import Response, current_app, g, redirect, request, url_for

from gateway.clock import as_utc
from gateway.errors import ConflictError, ValidationError
from gateway.extensions import db
from gateway.i18n import MESSAGES, current_language, t
from gateway.messages.sms import VIETNAM_TIME
from gateway.models import Application, Office, StaffAccount
from gateway.services.application_decisions import decide
from gateway.services.application_queue import (
    STATUS_FILTERS,
    ApplicationNotFoundError,
    open_application,
    queue,
)
from gateway.views.staff import bp
from gateway.views.staff.render import console_message, console_page
from gateway.views.staff.session import form_ok, staff_required
from policies import applications as rules
from policies.identifiers import mask_bhxh, mask_cccd
from providers.files import FileNotFound, content_type_of

PHOTOS = ("portrait", "id_front", "id_back")


def local_time(value) -> str:
    """An instant as the clerk reads it: Vietnam time, 24 h, day first."""
    return as_utc(value).astimezone(VIETNAM_TIME).strftime("%H:%M %d/%m/%Y") if value else ""


def _page_number(value: str | None) -> int:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 7 else 1


@bp.route("/applications", methods=["GET"])
@staff_required()
def applications():
    status = request.args.get("status", "open")
    if status not in STATUS_FILTERS:
        status = "open"
    search = request.args.get("q", "")[:200]
    page = queue(g.staff, status=status, search=search,
                 page=_page_number(request.args.get("page")))
    rows = [{"reference": a.reference, "name": a.full_name, "bhxh": mask_bhxh(a.bhxh),
             "cccd": mask_cccd(a.cccd), "status": a.status, "office": a.office_code,
             "submitted_at": local_time(a.submitted_at)} for a in page.items]
    return console_page("staff/applications.html", rows=rows, page=page, search=search,
                        status_filter=status, statuses=STATUS_FILTERS,
                        all_offices=g.staff.role == rules.SUPERVISOR)


def _decision_label(decision: str, status: str) -> str:
    if status == rules.FIELD_VERIFIED and decision == rules.APPROVE:
        return "staff_app_decision_confirm"
    if status == rules.FIELD_VERIFIED and decision == rules.REJECT:
        return "staff_app_decision_overturn"
    return f"staff_app_decision_{decision}"


def _username(staff_id: int | None) -> str:
    staff = db.session.get(StaffAccount, staff_id) if staff_id else None
    return staff.username if staff is not None else ""


def _error_text(code: str) -> str:
    key = f"staff_app_error_{code}"
    return t(key) if key in MESSAGES[current_language()] else t(
        "staff_app_error_details").format(code=code)


def _detail(application, *, status: int = 200, error: str | None = None, done: str | None = None,
            form: dict | None = None):
    office = db.session.get(Office, application.office_code)
    previous = None
    if application.previous_id:
        earlier = db.session.get(Application, application.previous_id)
        previous = earlier.reference if earlier is not None else None
    decisions = rules.allowed_decisions(application.status, g.staff.role)
    return console_page(
        "staff/application.html", status, application=application,
        office_name=office.name if office is not None else application.office_code,
        submitted_at=local_time(application.submitted_at),
        field_verified_by=_username(application.field_verified_by),
        field_verified_at=local_time(application.field_verified_at),
        decided_by=_username(application.decided_by),
        decided_at=local_time(application.decided_at), previous=previous,
        decisions=[(d, _decision_label(d, application.status)) for d in decisions],
        reason_codes=rules.REASON_CODES, photos=PHOTOS,
        error=_error_text(error) if error else None, error_code=error, done=done,
        form=form or {})


@bp.route("/applications/<reference>", methods=["GET"])
@staff_required()
def application(reference: str):
    try:
        found = open_application(g.staff, reference, viewed=True)
    except ApplicationNotFoundError:
        return console_message("staff_app_not_found", 404)
    done = request.args.get("done")
    return _detail(found, done=done if done in rules.STATUSES else None)


@bp.route("/applications/<reference>", methods=["POST"])
@staff_required()
def decide_application(reference: str):
    if not form_ok():
        return console_message("csrf_failed", 400)
    form = {k: request.form.get(k, "") for k in ("decision", "reason_code", "reason")}
    try:
        done = decide(g.staff, reference, form["decision"], reason_code=form["reason_code"],
                      reason=form["reason"])
    except ApplicationNotFoundError:
        return console_message("staff_app_not_found", 404)
    except (ValidationError, ConflictError) as exc:  # DecisionRefusedError is a ConflictError
        return _detail(open_application(g.staff, reference), status=exc.status, error=exc.code,
                       form=form)
    return redirect(url_for("staff.application", reference=reference, done=done.status), 303)


@bp.route("/applications/<reference>/photos/<kind>", methods=["GET"])
@staff_required()
def photo(reference: str, kind: str):
    """One of the application's three photos, to staff who may open the application only."""
    if kind not in PHOTOS:
        return console_message("not_found", 404)
    try:
        found = open_application(g.staff, reference)
        key = getattr(found, f"{kind}_file")
        data = current_app.extensions["gateway.files"].get(key)
    except (ApplicationNotFoundError, FileNotFound):
        return console_message("staff_app_not_found", 404)
    response = Response(data, mimetype=content_type_of(key))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    # An image opened on its own runs nothing and embeds nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response
