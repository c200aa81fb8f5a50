"""SQLAlchemy models. The schema changes only through the Alembic migrations beside them."""

from gateway.models.account import Account
from gateway.models.client import Client
from gateway.models.device import ActiveDevice
from gateway.models.event import Event
from gateway.models.outbox import OutboxMessage
from gateway.models.password_history import PasswordHistory
from gateway.models.session import LoginSession, SessionClient
from gateway.models.signing_key import SigningKey
from gateway.models.store_entry import StoreEntry
from gateway.models.token import RefreshToken

__all__ = [
    "ActiveDevice",
    "Account",
    "Client",
    "Event",
    "LoginSession",
    "OutboxMessage",
    "PasswordHistory",
    "RefreshToken",
    "SessionClient",
    "SigningKey",
    "StoreEntry",
]
