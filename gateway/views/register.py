"""The applicant's pages: the declaration (/register) and its answer, the status look-up
(/register/status → code by SMS → status) and the correction of a rejected application.

CSRF-protected forms (the declaration is multipart, its photos asked again after any error:
a browser never keeps a chosen file across pages). The work is gateway.services.applications
and gateway.flows.application_status, the code the JSON API calls too
(gateway/views/applications_api.py). A look-up is bound to this browser.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, redirect, request, session, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from gateway.errors import GatewayError
from gateway.flows import application_status as lookup
from gateway.flows.record import FlowError
from gateway.i18n import current_language
from gateway.messages.sms import VIETNAM_TIME
from gateway.methods.otp import OtpError
from gateway.services import applications, photos
from gateway.services.applications import DeclarationInvalidError, ResubmissionRefusedError
from gateway.services.offices import list_offices
from gateway.services.throttle import ThrottledError, client_address
from gateway.views.pages import browser_secret, csrf_ok, csrf_token, render
from gateway.views.uploads import accept_declaration_body
from policies.declaration import FILE_FIELDS, TEXT_FIELDS

bp = Blueprint("register", __name__)
SUBMITTED = "application_reference"  # the signed session cookie: the last answer's reference


def _bound(create: bool = False) -> dict[str, str] | None:
    secret = browser_secret(create=create)
    return lookup.bound_to_browser(secret) if secret else None


def _form(action: str, status: int = 200, *, values=None, fields=None, errors=(),
          title: str = "decl_title", retry_after: int | None = None):
    response = render(
        "register.html", status, action=action, title=title, csrf_token=csrf_token(),
        values=values or {}, fields=fields or {}, errors=list(errors),
        offices=list_offices(include_inactive=False), text_fields=TEXT_FIELDS,
        file_fields=FILE_FIELDS, max_mb=photos.limits().max_bytes // (1024 * 1024))
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _posted():
    """The typed text fields and the photos' streams; RequestEntityTooLarge (413) for a body
    over the declaration's limit, read no further."""
    accept_declaration_body()
    values = request.form.to_dict(flat=False)
    files = {name: [item.stream for item in request.files.getlist(name)]
             for name in FILE_FIELDS}
    return values, files


def _typed(values) -> dict[str, str]:
    return {name: (values.get(name) or [""])[0] for name in TEXT_FIELDS}


def _send(action: str, title: str, submit):
    """POST of a declaration form: ``submit(values, files)`` returns the reference."""
    try:
        values, files = _posted()
    except RequestEntityTooLarge:
        return _form(action, 413, errors=["request_too_large"], title=title)
    if not csrf_ok():
        return _form(action, 400, values=_typed(values), errors=["csrf_failed"], title=title)
    try:
        reference = submit(values, files)
    except DeclarationInvalidError as exc:
        return _form(action, 422, values=_typed(values), fields=exc.fields,
                     errors=["decl_fix_errors"], title=title)
    except ThrottledError as exc:
        return _form(action, 429, values=_typed(values), errors=[exc.code], title=title,
                     retry_after=exc.retry_after)
    session[SUBMITTED] = reference
    return redirect(url_for("register.submitted"), 303)


@bp.route("/register", methods=["GET", "POST"])
def declare():
    action = url_for("register.declare")
    if request.method == "GET":
        return _form(action)
    return _send(action, "decl_title", lambda values, files: applications.declare(
        values, files, address=client_address(), locale=current_language()))


@bp.route("/register/submitted")
def submitted():
    reference = session.get(SUBMITTED)
    if not reference:
        return redirect(url_for("register.declare"), 303)
    return render("register_done.html", reference=reference)


@bp.route("/register/status", methods=["GET", "POST"])
def status():
    def page(status=200, errors=(), reference=""):
        return render("register_status.html", status, csrf_token=csrf_token(),
                      errors=list(errors), reference=reference)

    if request.method == "GET":
        return page()
    typed = request.form.get("reference", "")[:64]
    if not csrf_ok():
        return page(400, ["csrf_failed"], typed)
    try:
        started = lookup.start(typed, address=client_address(), bound_to=_bound(create=True),
                               locale=current_language())
    except GatewayError as exc:
        response = page(exc.status, [exc.code], typed)
        if exc.retry_after:
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    return redirect(url_for("register.status_verify", id=started["status_id"]), 303)


def _expired():
    return render("register_status.html", 400, csrf_token=csrf_token(),
                  errors=["status_expired"], reference="")


@bp.route("/register/status/verify", methods=["GET", "POST"])
def status_verify():
    status_id = request.values.get("id", "")
    bound = _bound()
    try:
        reference = lookup.typed_reference(status_id, bound_to=bound) if bound else None
    except FlowError:
        reference = None
    if reference is None:
        return _expired()

    def page(status=200, errors=()):
        return render("register_status_verify.html", status, csrf_token=csrf_token(),
                      errors=list(errors), status_id=status_id, reference=reference)

    if request.method == "GET":
        return page()
    if not csrf_ok():
        return page(400, ["csrf_failed"])
    try:
        lookup.verify(status_id, request.form.get("otp", ""), bound_to=bound)
    except OtpError as exc:
        return page(exc.status, [exc.code])
    return redirect(url_for("register.status_view", id=status_id), 303)


@bp.route("/register/status/view")
def status_view():
    status_id = request.args.get("id", "")
    bound = _bound()
    try:
        if bound is None:
            raise FlowError()
        found = lookup.view(status_id, bound_to=bound)
    except FlowError:
        return _expired()
    submitted_on = datetime.fromisoformat(found.submitted_at.replace("Z", "+00:00"))
    return render("register_status_view.html", found=found, status_id=status_id,
                  submitted_on=submitted_on.astimezone(VIETNAM_TIME).strftime("%d/%m/%Y"))


@bp.route("/register/resubmit", methods=["GET", "POST"])
def resubmit():
    status_id = request.args.get("id", "")  # the body is read only under the upload limit
    bound = _bound()
    action = url_for("register.resubmit", id=status_id)
    try:
        if bound is None:
            raise FlowError()
        if request.method == "GET":
            return _form(action, values=lookup.correction_form(status_id, bound_to=bound),
                         title="resubmit_title")
        return _send(action, "resubmit_title", lambda values, files: lookup.resubmit(
            status_id, values, files, bound_to=bound, address=client_address(),
            locale=current_language()))
    except FlowError:
        return _expired()
    except ResubmissionRefusedError as exc:
        return render("message.html", exc.status, message=exc.code)
