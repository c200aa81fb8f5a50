"""Login sessions: one per browser SSO sign-in (and later per app device sign-in).

The cookie carries a random handle; only its hash is stored, and the `sid` placed in tokens is
a different random value, so a leaked token never reveals a usable cookie.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class LoginSession(db.Model):
    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), unique=True)
    handle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="browser")
    # For kind "app": the installation that signed in (see gateway.models.device).
    device_id: Mapped[str | None] = mapped_column(String(128))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    amr: Mapped[list] = mapped_column(JSON, default=list)
    acr: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # sweeps
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))


class SessionClient(db.Model):
    """Which clients received tokens under a session: the back-channel logout fan-out list."""

    __tablename__ = "session_clients"
    __table_args__ = (UniqueConstraint("sid", "client_id", name="uq_session_clients_sid_client"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
