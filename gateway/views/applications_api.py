"""The applicant's JSON API, for programs (the VssID app, partner portals): the declaration,
and the status look-up with its correction. The same code as the pages
(gateway/views/register.py); documented in docs/openapi.json and docs/api.md.

How it is protected without CSRF tokens: nothing here reads or sets a cookie or takes a
bearer token, so there is no ambient authority a cross-site page could borrow — a forged
request can do only what its sender could do directly. What bounds abuse is the rate
(APPLICATIONS_PER_ADDRESS declarations and APPLICATION_STATUS_STARTS_PER_ADDRESS look-ups per
address per window, APPLICATIONS_PER_PHONE declarations per phone per day, the OTP engine's
limits per phone and per reference), the size of a body (413 past three photos and the
fields), and answers that are the same for every number and reference (no enumeration).
Look-ups started here are bound to nothing: their id and the SMS code are what count.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gateway.flows import application_status as lookup
from gateway.i18n import current_language, t
from gateway.services import application_lookup, applications
from gateway.services.throttle import client_address
from gateway.views.errors import error_response
from gateway.views.uploads import accept_declaration_body
from policies.declaration import FILE_FIELDS

bp = Blueprint("applications_api", __name__, url_prefix="/api/v1")


@bp.after_request
def _not_cached(response):
    """A reference, a look-up id, a status: personal answers no cache may keep."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _multipart():
    """The form's values and the photos' streams, or None when the body is not multipart.
    Over the declaration's limit, reading the form raises 413 (answered as JSON)."""
    accept_declaration_body()
    if request.mimetype != "multipart/form-data":
        return None
    files = {name: [item.stream for item in request.files.getlist(name)]
             for name in FILE_FIELDS}
    return request.form.to_dict(flat=False), files


def _text(name: str) -> str:
    """A field of a JSON or form-encoded body ("" when absent or not text)."""
    if request.is_json:
        data = request.get_json(silent=True)
        data = data if isinstance(data, dict) else {}
    else:
        data = request.form
    value = data.get(name, "")
    return value if isinstance(value, str) else ""


def _status_body(found: application_lookup.ApplicationStatus) -> dict:
    rejection = None
    if found.reason_code is not None:
        rejection = {"reason_code": found.reason_code,
                     "reason_text": t(f"rejection_{found.reason_code}"),
                     "reason": found.reason}
    return {"reference": found.reference, "status": found.status,
            "submitted_at": found.submitted_at,
            "office": {"code": found.office_code, "name": found.office_name},
            "rejection": rejection, "corrected_by": found.corrected_by,
            "can_resubmit": found.can_resubmit}


@bp.route("/applications", methods=["POST"])
def declare():
    posted = _multipart()
    if posted is None:
        return error_response("unsupported_media_type", 415)
    reference = applications.declare(*posted, address=client_address(),
                                     locale=current_language())
    return jsonify(reference=reference, status="submitted"), 201


@bp.route("/applications/status", methods=["POST"])
def start_status():
    started = lookup.start(_text("reference"), address=client_address(), bound_to=lookup.API,
                           locale=current_language())
    return jsonify(started), 202


@bp.route("/applications/status/verify", methods=["POST"])
def verify_status():
    found = lookup.verify(_text("status_id"), _text("otp"), bound_to=lookup.API)
    return jsonify(_status_body(found))


@bp.route("/applications/resubmission", methods=["POST"])
def resubmit():
    posted = _multipart()
    if posted is None:
        return error_response("unsupported_media_type", 415)
    values, files = posted
    status_id = (values.get("status_id") or [""])[0]
    reference = lookup.resubmit(status_id, values, files, bound_to=lookup.API,
                                address=client_address(), locale=current_language())
    return jsonify(reference=reference, status="submitted"), 201
