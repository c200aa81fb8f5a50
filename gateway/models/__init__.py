"""SQLAlchemy models. The schema changes only through the Alembic migrations beside them."""

from gateway.models.account import Account
from gateway.models.application import Application
from gateway.models.audit import AuditRecord
from gateway.models.client import Client
from gateway.models.device import ActiveDevice
from gateway.models.event import Event
from gateway.models.link_review import LinkReview
from gateway.models.migration import (
    ImportChunk,
    ImportJob,
    ImportPart,
    ImportReject,
    LegacyRow,
    StagedChunk,
    VerificationRow,
    VneidRow,
)
from gateway.models.office import Office
from gateway.models.outbox import OutboxMessage
from gateway.models.passkey import Passkey
from gateway.models.password_history import PasswordHistory
from gateway.models.session import LoginSession, SessionClient
from gateway.models.signing_key import SigningKey
from gateway.models.ssf_stream import SsfStream, SsfSubject
from gateway.models.staff import StaffAccount
from gateway.models.staff_session import StaffSession
from gateway.models.store_entry import StoreEntry
from gateway.models.token import RefreshToken
from gateway.models.vneid_link import VneidLink

__all__ = [
    "ActiveDevice",
    "Account",
    "Application",
    "AuditRecord",
    "Client",
    "Event",
    "ImportChunk",
    "ImportJob",
    "ImportPart",
    "ImportReject",
    "LegacyRow",
    "LinkReview",
    "LoginSession",
    "Office",
    "OutboxMessage",
    "Passkey",
    "PasswordHistory",
    "RefreshToken",
    "SessionClient",
    "SigningKey",
    "SsfStream",
    "SsfSubject",
    "StaffAccount",
    "StaffSession",
    "StagedChunk",
    "StoreEntry",
    "VerificationRow",
    "VneidLink",
    "VneidRow",
    "modelled",
]


def modelled(name, type_, parent_names) -> bool:
    """Alembic's ``include_name``: whether autogenerate compares this object with the models.

    The task queue's tables (``procrastinate_*``, created on PostgreSQL by migration 0007 from
    procrastinate's own schema file) have no models here, and must not be proposed for removal.
    """
    return not (type_ == "table" and name.startswith("procrastinate_"))
