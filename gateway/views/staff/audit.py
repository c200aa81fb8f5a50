"""The supervisor's audit page: the trail newest first, filtered by actor, action and subject,
and a button that walks the hash chain and says whether it holds (gateway/services/audit.py).

Reading the trail is itself personal-data access (subjects are account ids, reasons are free
text), so only supervisors open it (policies/staff_rules.py).
"""

from __future__ import annotations

from flask import request, url_for

from gateway.services import audit
from gateway.views.staff import bp
from gateway.views.staff.render import console_message, console_page
from gateway.views.staff.session import form_ok, staff_required
from policies.staff_rules import AUDIT_ROLES

ROLES = tuple(sorted(AUDIT_ROLES))
PAGE_SIZE = 50
_FILTERS = ("actor", "action", "subject")


def _filters(source) -> dict:
    return {name: source.get(name, "").strip()[:80] for name in _FILTERS}


def _before(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) <= 18 else None


def _page(status: int = 200, **extra):
    filters = _filters(request.values)
    records, next_before = audit.page(**{k: v or None for k, v in filters.items()},
                                      before=_before(request.values.get("before", "")),
                                      limit=PAGE_SIZE)
    next_url = None
    if next_before is not None:
        next_url = url_for("staff.audit_trail", before=next_before,
                           **{k: v for k, v in filters.items() if v})
    return console_page("staff/audit.html", status, records=records, filters=filters,
                        next_url=next_url, first_url=url_for(
                            "staff.audit_trail", **{k: v for k, v in filters.items() if v}),
                        **extra)


@bp.route("/audit", methods=["GET"])
@staff_required(*ROLES)
def audit_trail():
    return _page()


@bp.route("/audit/verify", methods=["POST"])
@staff_required(*ROLES)
def audit_verify():
    if not form_ok():
        return console_message("csrf_failed", 400)
    checked, broken = audit.verify()
    return _page(verified={"checked": checked, "broken": broken})
