"""Rendering the console's pages: the citizens' renderer (language, no-store) plus what every
console page needs — who is signed in (for the navigation) and the forms' CSRF token."""

from __future__ import annotations

from flask import current_app, g

from gateway.views.pages import render
from gateway.views.staff.session import form_token
from policies.staff_rules import may_act_on_accounts, may_read_audit, may_review_links


def console_page(template: str, status: int = 200, **context):
    staff = g.get("staff")
    cfg = current_app.config
    return render(
        template, status, staff=staff, form_token=form_token(),
        may_act_on_accounts=bool(staff) and may_act_on_accounts(staff.role),
        may_read_audit=bool(staff) and may_read_audit(staff.role),
        may_review_links=bool(staff) and may_review_links(staff.role),
        idle_minutes=cfg["STAFF_IDLE_TIMEOUT"] // 60, ttl_hours=cfg["STAFF_SESSION_TTL"] // 3600,
        **context)


def console_message(message: str, status: int = 200, **context):
    """A one-line page in the console's frame (a refusal, a confirmation)."""
    return console_page("staff/message.html", status, message=message, is_error=status >= 400,
                        **context)
