"""The console's VNeID link review pages: the queue of open cases, one case with both sides, and
its resolution (link to an account by its social-insurance number, or reject) with a reason.

Thin on purpose: a case and what staff are shown of it (personal numbers masked) are
gateway/services/link_reviews.py, the resolution — the claim, the link, the audit record, the
SMS — is gateway/services/links.resolve_case, the very operation ``flask links resolve``
runs; who may is policies/staff_rules.py (LINK_REVIEW_ROLES). A refusal shows the page again
with its stable code and nothing changed; a resolution ends in a redirect (303), so a reload
repeats nothing.
"""

from __future__ import annotations

from datetime import datetime

from flask import redirect, request, url_for

from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.i18n import MESSAGES, current_language, t
from gateway.services import link_reviews, links
from gateway.views.staff import bp
from gateway.views.staff.applications import local_time
from gateway.views.staff.render import console_message, console_page
from gateway.views.staff.session import current_actor, form_ok, staff_required
from policies.staff_rules import LINK_REVIEW_ROLES

ROLES = tuple(sorted(LINK_REVIEW_ROLES))
DONE = ("linked", "rejected")
DECISIONS = ("link", "reject")


def _when(value: str | None) -> str:
    return local_time(datetime.fromisoformat(value)) if value else ""


def _error_text(code: str) -> str:
    key = f"staff_links_error_{code}"
    return t(key) if key in MESSAGES[current_language()] else t(
        "staff_links_error_details").format(code=code)


@bp.route("/links", methods=["GET"])
@staff_required(*ROLES)
def links_queue():
    cases = [link_reviews.describe(case) for case in link_reviews.list_cases(link_reviews.OPEN)]
    for case in cases:
        case["opened_local"] = _when(case["opened_at"])
    return console_page("staff/links.html", cases=cases)


def _case_page(case, status: int = 200, *, error: str | None = None, done: str | None = None,
               form: dict | None = None):
    view = link_reviews.describe(case)
    return console_page(
        "staff/link_case.html", status, case=view, opened_at=_when(view["opened_at"]),
        resolved_at=_when(view["resolved_at"]), error=_error_text(error) if error else None,
        error_code=error, done=done if done in DONE else None, decisions=DECISIONS,
        form=form or {})


@bp.route("/links/<int:case_id>", methods=["GET"])
@staff_required(*ROLES)
def link_case(case_id: int):
    try:
        case = link_reviews.show_case(case_id, actor=current_actor())
    except GatewayError:
        return console_message("staff_links_not_found", 404)
    return _case_page(case, done=request.args.get("done"))


@bp.route("/links/<int:case_id>", methods=["POST"])
@staff_required(*ROLES)
def resolve_link_case(case_id: int):
    form = {"decision": request.form.get("decision", "")[:16],
            "bhxh": request.form.get("bhxh", "").strip()[:32],
            "reason": request.form.get("reason", "")[:4000]}
    try:
        case = link_reviews.get_case(case_id)
    except GatewayError:
        return console_message("staff_links_not_found", 404)
    if not form_ok():
        return _case_page(case, 400, error="csrf_failed", form=form)
    reject = form["decision"] == "reject"
    # A decision that is neither, or "link" with no number, reaches the service as neither
    # an account nor a rejection: it answers account_or_reject.
    bhxh = form["bhxh"] or None if form["decision"] == "link" else None
    try:
        links.resolve_case(case_id, actor=current_actor(), reason=form["reason"], bhxh=bhxh,
                           reject=reject)
    except GatewayError as exc:
        db.session.rollback()
        return _case_page(link_reviews.get_case(case_id), exc.status, error=exc.code,
                          form=form)
    return redirect(url_for("staff.link_case", case_id=case_id,
                            done="rejected" if reject else "linked"), 303)
