"""The staff console (/staff/): BHXH counter clerks, post-office agents and supervisors.

One blueprint for every console page, each area in a module of its own; the console's own
session, sign-in guard and form tokens are in ``session.py`` (never the citizens' SSO), the
page frame in ``render.py`` and templates/staff/base.html. Views stay thin: the work is in
gateway/services (staff, staff_sessions, counter, audit, application decisions, links).
"""

from __future__ import annotations

from flask import Blueprint, g

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.before_request
def _fresh_console_state():
    """The console's per-request values start empty. ``g`` lives as long as the app context,
    and a context pushed around several requests (as tests do) must not carry one request's
    signed-in staff member or new form cookie into the next."""
    from gateway.views.staff.session import REQUEST_STATE

    for name in REQUEST_STATE:
        g.pop(name, None)


@bp.after_request
def _console_headers(response):
    from gateway.views.staff.session import set_form_cookie

    response.headers["Cache-Control"] = "no-store"
    return set_form_cookie(response)


# The pages register their routes on `bp` when imported (after `bp` exists).
from gateway.views.staff import (  # noqa: E402,F401
    accounts,
    applications,
    audit,
    home,
    link_reviews,
    login,
)
