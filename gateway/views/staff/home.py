"""The console's home page: who is signed in, and the areas their role may open."""

from __future__ import annotations

from gateway.views.staff import bp
from gateway.views.staff.render import console_page
from gateway.views.staff.session import staff_required


@bp.route("/", methods=["GET"])
@staff_required()
def home():
    return console_page("staff/home.html")
