"""An application as its applicant may see it: found by its reference, its status, and
whether it may be corrected (gateway/flows/application_status.py calls these once the code
sent to the declared phone was typed; nothing here checks who asks).

A rejection is corrected once: the correction is a new application whose ``previous_id``
(unique) names the rejected one, which stays rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from gateway.clock import as_utc
from gateway.extensions import db
from gateway.models import Application, Office
from gateway.services.applications import ResubmissionRefusedError
from policies.applications import REJECTED


def find(reference: str) -> Application | None:
    return db.session.query(Application).filter_by(reference=reference).first()


def correction_of(application: Application) -> Application | None:
    """The application that corrected this one, if one was submitted."""
    return db.session.query(Application).filter_by(previous_id=application.id).first()


@dataclass(frozen=True)
class ApplicationStatus:
    """What the applicant may see once the code sent to the declared phone was typed."""

    reference: str
    status: str
    submitted_at: str  # ISO 8601, UTC
    office_code: str
    office_name: str
    reason_code: str | None  # rejected only
    reason: str | None  # the clerk's words, rejected only
    corrected_by: str | None  # the reference of the correction, once submitted
    can_resubmit: bool


def status_of(application_id: int) -> ApplicationStatus:
    application = db.session.get(Application, application_id)
    office = db.session.get(Office, application.office_code)
    rejected = application.status == REJECTED
    correction = correction_of(application) if rejected else None
    submitted = as_utc(application.submitted_at).astimezone(UTC).replace(
        tzinfo=None).isoformat(timespec="seconds")
    return ApplicationStatus(
        reference=application.reference, status=application.status,
        submitted_at=submitted + "Z", office_code=application.office_code,
        office_name=office.name if office is not None else application.office_code,
        reason_code=application.reason_code if rejected else None,
        reason=application.reason if rejected else None,
        corrected_by=correction.reference if correction is not None else None,
        can_resubmit=rejected and correction is None)


def rejected_for_correction(application_id: int) -> Application:
    """The rejected application a correction may link to; ResubmissionRefusedError when it
    is not rejected or was already corrected (a rejection is corrected once)."""
    application = db.session.get(Application, application_id)
    if application is None or application.status != REJECTED or correction_of(application):
        raise ResubmissionRefusedError()
    return application


def prefill(application: Application) -> dict[str, str]:
    """The form's text fields as the application declared them (the photos are asked again)."""
    national = "0" + application.phone[3:] if application.phone.startswith("+84") else ""
    return {"bhxh_number": application.bhxh, "full_name": application.full_name,
            "date_of_birth": application.dob.isoformat(), "sex": application.sex,
            "id_number": application.cccd, "phone": national or application.phone,
            "email": application.email or "", "office": application.office_code}
