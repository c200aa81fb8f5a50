"""The staff console (/staff/): BHXH counter clerks, post-office agents and supervisors.

One blueprint for every console page, each area in a module of its own; the console's own
session, sign-in guard and form tokens are in ``session.py`` (never the citizens' SSO), the
page frame in ``render.py`` and templates/staff/base.html. Views stay thin: the work is in
gateway/services (staff, staff_sessions, counter, audit, application decisions).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")


@bp.after_request
def _console_headers(response):
    from gateway.views.staff.session import set_form_cookie

    response.headers["Cache-Control"] = "no-store"
    return set_form_cookie(response)


# The pages register their routes on `bp` when imported (after `bp` exists).
from gateway.views.staff import accounts, audit, home, login  # noqa: E402,F401
