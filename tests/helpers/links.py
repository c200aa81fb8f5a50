"""VNeID identities and linked accounts for the tests of the linking rules and their storage
(gateway/services/links.py), and what those operations left behind: outbox rows, events,
audit records."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from gateway.extensions import db
from gateway.models import AuditRecord, Event, OutboxMessage
from policies.linking import VneidIdentity
from tests.helpers import new_account

CCCD = "001085012345"  # Hà Nội, a man born in 1985: agrees with the identity below
NAME = "Nguyễn Văn An"
DOB = date(1985, 4, 12)
VNEID_PHONE = "+84987654321"
ACCOUNT_PHONE = "0912345623"  # tests.helpers.new_account's

CITIZEN = VneidIdentity(
    subject="techid-0001",
    id_number=CCCD,
    full_name=NAME,
    birthdate=DOB,
    sex="male",
    phone=VNEID_PHONE,
    level=2,
    account_type="1",
)


def identity(subject: str = CITIZEN.subject, **changes) -> VneidIdentity:
    """The sandbox-like citizen above, with any field changed."""
    return replace(CITIZEN, subject=subject, **changes)


def account_for(bhxh: str = "0123456789", *, level: int = 2, **changes):
    """An account with the citizen's CCCD, name and birth date (override any)."""
    spec = dict(cccd=CCCD, sex="male", name=NAME, dob=DOB.isoformat(), level=level)
    spec.update(changes)
    return new_account(bhxh=bhxh, **spec)


def sms_templates() -> list[tuple[str, str]]:
    """(template, masked recipient) of every SMS written to the outbox, oldest first."""
    rows = OutboxMessage.query.filter_by(channel="sms").order_by(OutboxMessage.id).all()
    return [(row.template, row.recipient_hint) for row in rows]


def events(name: str) -> list[Event]:
    return Event.query.filter_by(name=name).order_by(Event.id).all()


def audit_actions() -> list[tuple[str, str, str]]:
    """(actor, action, subject) of every audit record, in chain order."""
    db.session.expire_all()
    return [(r.actor, r.action, r.subject)
            for r in AuditRecord.query.order_by(AuditRecord.seq).all()]
