"""An applicant's look-up of a declaration: reference → code by SMS to the declared phone →
the status, and for a rejection the reason and one correction.

Nothing in the answers tells an existing reference from any other (as forgot password,
gateway.flows.recovery):

* **start** answers the same body (a look-up id, the code's lifetime) and does the same work
  for every well-formed reference; the code is created and sent after the response
  (gateway/deferred.py), and only when an application has that reference;
* **verify** checks the code with gateway.methods.otp.verify_in_flow, whose limits are the
  look-up's and the reference's, never an account's: a look-up of an unknown reference fails
  exactly as a wrong code does.

The look-up is a flow record (kind ``application_status``, drawn in gateway.flows.record):
``otp_sent`` → ``verified`` (the status may be read again, each step keeping it alive) →
consumed by a correction: taken from the store by one request among racers, and the
correction's ``previous_id`` is unique, so a rejection is corrected once. The pages bind it
to the browser (``bound_to_browser``), the JSON API to nothing (``API``): an id from one is
not found by the other.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence

from flask import current_app

from gateway.clock import clock
from gateway.deferred import defer
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.flows import record as flows
from gateway.flows.record import APPLICATION_STATUS, FlowError, FlowNotFoundError
from gateway.methods import otp
from gateway.models import Application
from gateway.services import application_lookup, applications
from gateway.services.throttle import count_start
from policies.declaration import parse_reference

log = logging.getLogger(__name__)
PURPOSE = "application_status"
API: dict[str, str] = {}


def bound_to_browser(browser: str) -> dict[str, str]:
    return {"browser": hashlib.sha256(browser.encode()).hexdigest()}


def _subject(reference: str) -> str:
    return f"application:{reference}"


def start(reference: str, *, address: str, bound_to: Mapping[str, str],
          locale: str = "vi") -> dict:
    """A new look-up: ``{"status_id", "expires_in"}``, the same for every well-formed
    reference. ValidationError ``invalid_reference``; ThrottledError (the address's count)."""
    canonical = parse_reference(reference)
    if canonical is None:
        raise ValidationError("invalid_reference", field="reference")
    count_start("application_status", address,
                current_app.config["APPLICATION_STATUS_STARTS_PER_ADDRESS"])
    application = application_lookup.find(canonical)
    ttl = current_app.config["OTP_TTL"]
    record = flows.create(APPLICATION_STATUS, bound_to=bound_to, context={
        "reference": canonical,
        "application_id": application.id if application is not None else None,
        "code_expires_at": clock().timestamp() + ttl})
    if application is not None:
        defer(send_code, application_id=application.id, reference=canonical,
              status_id=record.id, locale=locale)
    return {"status_id": record.id, "expires_in": ttl}


def send_code(*, application_id: int, reference: str, status_id: str, locale: str) -> None:
    """Deferred task (after the response): the code, by SMS to the declared phone."""
    application = db.session.get(Application, application_id)
    try:
        otp.issue(account_id=None, subject=_subject(reference), phone=application.phone,
                  purpose=PURPOSE, flow_id=status_id, locale=locale)
    except otp.OtpError as exc:
        # The person was already answered; they may start again later.
        log.info("application status code not sent", extra={"reason": exc.code})
        db.session.rollback()
        return
    db.session.commit()


def _load(status_id, bound_to: Mapping[str, str], step: str) -> flows.FlowRecord:
    """The look-up, at a state where ``step`` may start; FlowNotFoundError otherwise (one
    answer for gone, foreign and not-yet-verified look-ups: ``flow_expired``)."""
    record = flows.load(APPLICATION_STATUS, status_id, bound_to=bound_to)
    if not record.allows(step):
        raise FlowNotFoundError()
    return record


def typed_reference(status_id, *, bound_to: Mapping[str, str]) -> str:
    """The reference a look-up waiting for its code was started with (FlowError otherwise),
    for the page that asks for the code."""
    return _load(status_id, bound_to, "verify").context["reference"]


def verify(status_id, code, *, bound_to: Mapping[str, str]) -> application_lookup.ApplicationStatus:
    """The status, once the code is right (OtpError otherwise; a look-up that is gone, or
    already verified, answers ``otp_expired``). The code is consumed once among racers."""
    try:
        record = _load(status_id, bound_to, "verify")
    except FlowError:
        raise otp.OtpError("otp_expired") from None
    ctx = record.context
    otp.verify_in_flow(account_id=None, subject=_subject(ctx["reference"]), purpose=PURPOSE,
                       flow_id=record.id, code=code, expires_at=ctx["code_expires_at"])
    flows.advance(record, "verified")
    return application_lookup.status_of(ctx["application_id"])


def view(status_id, *, bound_to: Mapping[str, str]) -> application_lookup.ApplicationStatus:
    """The status of a verified look-up (FlowError when there is none); keeps it alive."""
    record = _load(status_id, bound_to, "view")
    flows.advance(record, "verified")
    return application_lookup.status_of(record.context["application_id"])


def correction_form(status_id, *, bound_to: Mapping[str, str]) -> dict[str, str]:
    """The fields of the rejected application, to correct (FlowError,
    ResubmissionRefusedError); keeps the look-up alive."""
    record = _load(status_id, bound_to, "view")
    previous = application_lookup.rejected_for_correction(record.context["application_id"])
    flows.advance(record, "verified")
    return application_lookup.prefill(previous)


def resubmit(status_id, values: Mapping[str, Sequence[str] | str], files: Mapping[str, Sequence],
             *, bound_to: Mapping[str, str], address: str, locale: str = "vi") -> str:
    """The reference of the correction (the same answer as a first declaration gets).

    FlowError when the look-up is gone; ResubmissionRefusedError when the application is not
    rejected or was corrected already; DeclarationInvalidError and ThrottledError as for a
    first declaration (the look-up stays, so the person corrects and sends again)."""
    record = _load(status_id, bound_to, "resubmit")
    previous = application_lookup.rejected_for_correction(record.context["application_id"])
    prepared = applications.prepare(values, files, address=address)

    def claim() -> None:
        try:
            flows.consume(record)
        except FlowNotFoundError:  # another request corrected it first
            raise applications.ResubmissionRefusedError() from None

    return applications.submit(prepared, locale=locale, previous=previous, before_commit=claim)
