"""The console's account pages: look an account up, show it, and act on it for the person at
the counter (gateway/services/counter.py does the work; policies/staff_rules.py says who may).

An account's page opens only with a view ticket from an audited look-up in this console
session (session.view_ticket), and every action form carries it as well: no page or action
reaches an account by its id alone. Each action is a POST with a reason and the CSRF token,
and ends in a redirect back to the page (so a reload repeats nothing), saying what was done.
"""

from __future__ import annotations

from flask import redirect, request, url_for

from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.models import Account
from gateway.services import counter
from gateway.views.staff import bp
from gateway.views.staff.render import console_message, console_page
from gateway.views.staff.session import (
    current_actor,
    form_ok,
    staff_required,
    view_ticket,
    view_ticket_ok,
)
from policies.staff_rules import ACCOUNT_ROLES

ROLES = tuple(sorted(ACCOUNT_ROLES))
# What the page says after an action (?done=...); anything else says nothing.
DONE = {"device_cleared": "staff_done_device_cleared",
        "password_issued": "staff_done_password_issued",
        "signed_out": "staff_done_signed_out", "phone_changed": "staff_done_phone_changed"}


def _search(status: int = 200, error: str | None = None, bhxh: str = "", reason: str = ""):
    return console_page("staff/accounts.html", status, error=error, bhxh=bhxh, reason=reason)


@bp.route("/accounts", methods=["GET", "POST"])
@staff_required(*ROLES)
def accounts():
    if request.method == "GET":
        return _search()
    if not form_ok():
        return _search(400, "csrf_failed")
    bhxh = request.form.get("bhxh", "").strip()[:32]
    reason = request.form.get("reason", "")[:1000]
    try:
        account = counter.look_up(bhxh, actor=current_actor(), reason=reason)
    except GatewayError as exc:
        return _search(exc.status, exc.code, bhxh, reason)
    if account is None:
        return _search(404, "staff_account_not_found", bhxh, reason)
    return redirect(url_for("staff.account", account_id=account.id,
                            ticket=view_ticket(account.id)), 303)


def _account_or_none(account_id: int, ticket: str) -> Account | None:
    if not view_ticket_ok(account_id, ticket):
        return None
    return db.session.get(Account, account_id)


def _page(account: Account, status: int = 200, *, done: str | None = None,
          action: str | None = None, error: str | None = None, form: dict | None = None):
    return console_page("staff/account.html", status, account=counter.describe(account),
                        ticket=view_ticket(account.id), done=DONE.get(done or ""),
                        action=action, error=error, form=form or {})


@bp.route("/accounts/<int:account_id>", methods=["GET"])
@staff_required(*ROLES)
def account(account_id: int):
    found = _account_or_none(account_id, request.args.get("ticket", ""))
    if found is None:
        return console_message("staff_look_up_first", 403)
    return _page(found, done=request.args.get("done"))


def _act(account_id: int, action: str, run):
    """The common shape of an action: ticket, CSRF, the service call (``run(account, reason)``
    returns what was done), then back to the page (303), or the page again with the refusal
    under this action's form."""
    found = _account_or_none(account_id, request.form.get("ticket", ""))
    if found is None:
        return console_message("staff_look_up_first", 403)
    form = {"reason": request.form.get("reason", "")[:1000]}
    if not form_ok():
        return _page(found, 400, action=action, error="csrf_failed", form=form)
    try:
        done = run(found, form["reason"])
    except GatewayError as exc:
        db.session.rollback()
        fresh = db.session.get(Account, account_id)
        response = _page(fresh, exc.status, action=action, error=exc.code,
                         form={**form, **{k: request.form.get(k, "")[:64]
                                          for k in ("phone",)}})
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return redirect(url_for("staff.account", account_id=account_id,
                            ticket=view_ticket(account_id), done=done), 303)


@bp.route("/accounts/<int:account_id>/clear-device", methods=["POST"])
@staff_required(*ROLES)
def clear_device(account_id: int):
    def run(account, reason):
        counter.clear_device(account, actor=current_actor(), reason=reason)
        return "device_cleared"

    return _act(account_id, "clear_device", run)


@bp.route("/accounts/<int:account_id>/issue-password", methods=["POST"])
@staff_required(*ROLES)
def issue_password(account_id: int):
    def run(account, reason):
        counter.issue_password(account, actor=current_actor(), reason=reason)
        return "password_issued"

    return _act(account_id, "issue_password", run)


@bp.route("/accounts/<int:account_id>/sign-out", methods=["POST"])
@staff_required(*ROLES)
def sign_out(account_id: int):
    def run(account, reason):
        counter.sign_out(account, actor=current_actor(), reason=reason)
        return "signed_out"

    return _act(account_id, "sign_out", run)


@bp.route("/accounts/<int:account_id>/change-phone", methods=["POST"])
@staff_required(*ROLES)
def change_phone(account_id: int):
    def run(account, reason):
        counter.change_phone(account, cccd_shown=request.form.get("cccd", "")[:32],
                             new_phone=request.form.get("phone", "")[:64],
                             actor=current_actor(), reason=reason)
        return "phone_changed"

    return _act(account_id, "change_phone", run)
