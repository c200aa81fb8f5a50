"""Account applications, the applicant's side: a declaration checked, then kept as an
application for staff — or not, without the answer saying which.

Submitting is two calls, so that a correction can claim its status look-up between them:

* :func:`prepare` counts the address (APPLICATIONS_PER_ADDRESS, 429), parses every field
  (policies/declaration.py) and re-encodes every photo (gateway/services/photos.py), and
  raises one DeclarationInvalidError (422) naming every field refused;
* :func:`submit` counts the phone (APPLICATIONS_PER_PHONE a day, 429), stores the photos and,
  in ONE transaction, either creates the application (status ``submitted``, a random
  reference, event ``application.submitted``, the SMS ``application_received`` with the
  reference) or — when the social-insurance number or the CCCD already has an account or an
  open application — creates nothing for staff (event ``application.declined``, the SMS
  ``application_duplicate`` to the declared phone, the photos removed).

No enumeration: both outcomes return a reference of the same form and the caller answers the
same (201 ``submitted``); both do the same work — the same queries, a reference drawn and
checked, the photos written, one event and one SMS in one commit — so neither the answer nor
its time tells them apart. Only the declared phone learns the outcome, and how often a phone
can be told is limited. A reference returned for a declined declaration exists nowhere: its
status look-up answers as for any unknown reference.

Two declarations of the same number racing each other: each first takes a short claim in the
store on the number and on the CCCD (``add``, keyed digests); the one that finds a claim taken
is declined as a duplicate, so two open applications for one person cannot both be created.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import or_
from sqlalchemy.exc import IntegrityError

from gateway.clock import clock, utcnow
from gateway.crypto.secrets import derive_key
from gateway.errors import ConflictError, ValidationError
from gateway.extensions import db
from gateway.messages.sms import VIETNAM_TIME
from gateway.models import Account, Application, Office
from gateway.services import photos
from gateway.services.events import emit
from gateway.services.outbox import enqueue_sms
from gateway.services.throttle import ThrottledError, count_start
from gateway.store.access import store
from policies import otp_rules
from policies.applications import OPEN_STATUSES, SUBMITTED
from policies.declaration import (
    FILE_FIELDS,
    TEXT_FIELDS,
    Declaration,
    DeclarationInvalid,
    new_reference,
    parse_declaration,
)
from policies.identifiers import mask_bhxh, mask_cccd, mask_email, mask_phone
from policies.images import CleanImage

CLAIM_SECONDS = 120  # longer than any submission takes; released at its end


class DeclarationInvalidError(ValidationError):
    """422: every field refused, ``{field: code}``; programs read ``fields``."""

    status = 422
    code = "invalid_request"

    def __init__(self, fields: dict[str, str]):
        super().__init__(detail=", ".join(f"{k}={v}" for k, v in fields.items()))
        self.fields = fields

    def body(self) -> dict:
        return {"error": self.code, "fields": self.fields}


class ResubmissionRefusedError(ConflictError):
    """409: the application is not rejected, or its correction was already submitted."""

    code = "resubmission_not_allowed"


@dataclass(frozen=True)
class Prepared:
    declaration: Declaration
    images: dict[str, CleanImage]


def vietnam_today() -> date:
    """The date in Vietnam (UTC+7) now: a date of birth is judged against it."""
    return utcnow().astimezone(VIETNAM_TIME).date()


def office_is_active(code: str) -> bool:
    office = db.session.get(Office, code)
    return office is not None and office.active


def prepare(values: Mapping[str, Sequence[str] | str], files: Mapping[str, Sequence],
            *, address: str) -> Prepared:
    """The declaration and its re-encoded photos; ThrottledError or DeclarationInvalidError."""
    count_start("application", address, current_app.config["APPLICATIONS_PER_ADDRESS"])
    errors: dict[str, str] = {}
    declaration = None
    try:
        declaration = parse_declaration(values, today=vietnam_today(),
                                        office_is_active=office_is_active)
    except DeclarationInvalid as exc:
        errors.update(exc.fields)
    images, refused = photos.clean_photos(files)
    errors.update(refused)
    if errors:
        order = (*TEXT_FIELDS, *FILE_FIELDS)
        raise DeclarationInvalidError({name: errors[name] for name in order if name in errors})
    return Prepared(declaration, images)


def _digest(kind: str, value: str) -> str:
    key = derive_key(b"vssid-gateway applications v1", encryption=False)
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def _count_phone(phone: str) -> None:
    now = clock().now()
    ttl = otp_rules.seconds_to_end_of_utc_day(now)
    key = "{ph:" + _digest("phone", phone) + "}:applications:" + otp_rules.utc_day(now)
    if store().incr(key, ttl) > current_app.config["APPLICATIONS_PER_PHONE"]:
        raise ThrottledError(ttl)


def _claims(declaration: Declaration) -> tuple[list[str], bool]:
    """Claims the number, then the CCCD, for this submission; (keys taken, all free).

    In that order, stopping at the first claim already taken: two racers that each took one
    of the two would otherwise both be declined, and no application made at all."""
    s = store()
    taken = []
    for kind, value in (("bhxh", declaration.bhxh), ("cccd", declaration.cccd)):
        key = "{decl:" + _digest(kind, value) + "}:claim"
        if not s.add(key, "1", CLAIM_SECONDS):
            return taken, False
        taken.append(key)
    return taken, True


def _duplicate(declaration: Declaration) -> str | None:
    """Why no application may be created for this person: ``account_exists``,
    ``application_open``, or None. Both queries run every time (the same work)."""
    account = db.session.query(Account.id).filter(or_(
        Account.bhxh == declaration.bhxh, Account.cccd == declaration.cccd)).first()
    open_application = db.session.query(Application.id).filter(
        Application.status.in_(OPEN_STATUSES),
        or_(Application.bhxh == declaration.bhxh, Application.cccd == declaration.cccd)).first()
    if account is not None:
        return "account_exists"
    return "application_open" if open_application is not None else None


def _fresh_reference() -> str:
    """A reference no application has (a collision is redrawn: 30^8 values, but 35 million
    applications make one likely somewhere in the register)."""
    for _ in range(8):
        reference = new_reference()
        if db.session.query(Application.id).filter_by(reference=reference).first() is None:
            return reference
    raise RuntimeError("no free application reference after 8 draws")


def _masked(declaration: Declaration) -> dict:
    return {"office": declaration.office, "bhxh": mask_bhxh(declaration.bhxh),
            "cccd": mask_cccd(declaration.cccd), "phone": mask_phone(declaration.phone),
            "email": mask_email(declaration.email) if declaration.email else None}


def submit(prepared: Prepared, *, locale: str = "vi", previous: Application | None = None,
           before_commit: Callable[[], None] | None = None) -> str:
    """The reference to give the applicant (the same answer whether or not an application
    was created; see the module). ``previous``: the rejected application this corrects.
    ``before_commit`` runs before anything is written (a correction claims its look-up
    there); if it raises, nothing is kept. ThrottledError (the phone's daily count),
    ResubmissionRefusedError (another correction of ``previous`` won a race)."""
    declaration = prepared.declaration
    _count_phone(declaration.phone)
    claims, free = _claims(declaration)
    keys: dict[str, str] = {}
    kept = False
    try:
        keys = photos.store(prepared.images)
        why = _duplicate(declaration) or (None if free else "application_open")
        reference = _fresh_reference()
        if before_commit is not None:
            # Before the first write of the transaction: on SQLite the store shares the one
            # writer, and a store write waiting behind our own open write would never come.
            before_commit()
        if why is None:
            _create(declaration, keys, reference, previous, locale)
            kept = True
        else:
            emit("application.declined", why=why, **_masked(declaration))
            enqueue_sms(declaration.phone, "application_duplicate", {}, locale)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        kept = False
        if previous is None:
            raise
        raise ResubmissionRefusedError(detail="a correction was submitted meanwhile") from None
    except BaseException:
        db.session.rollback()
        kept = False
        raise
    finally:
        if not kept:
            photos.discard(keys.values())
        for claim in claims:  # one at a time: each in its own hash slot
            store().delete(claim)
    return reference


def declare(values: Mapping[str, Sequence[str] | str], files: Mapping[str, Sequence], *,
            address: str, locale: str = "vi") -> str:
    """A first declaration, from the page or the API: prepare, then submit."""
    return submit(prepare(values, files, address=address), locale=locale)


def _create(declaration: Declaration, keys: dict[str, str], reference: str,
            previous: Application | None, locale: str) -> None:
    now = utcnow()
    application = Application(
        reference=reference, status=SUBMITTED, bhxh=declaration.bhxh,
        full_name=declaration.full_name, dob=declaration.dob, sex=declaration.sex,
        cccd=declaration.cccd, phone=declaration.phone, email=declaration.email,
        office_code=declaration.office, portrait_file=keys["portrait"],
        id_front_file=keys["id_front"], id_back_file=keys["id_back"],
        previous_id=previous.id if previous is not None else None,
        submitted_at=now, updated_at=now)
    db.session.add(application)
    db.session.flush()
    emit("application.submitted", reference=reference, application_id=application.id,
         previous=previous.reference if previous is not None else None, **_masked(declaration))
    enqueue_sms(declaration.phone, "application_received", {"reference": reference}, locale)
