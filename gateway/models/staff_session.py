"""A signed-in staff console session: server-side, so it can be ended from anywhere.

Never the citizens' SSO session (gateway/models/session.py): its own table, its own cookie
(gateway/views/staff/session.py). The cookie carries a random handle; only its SHA-256 is
kept here. A session ends when it is idle longer than STAFF_IDLE_TIMEOUT, when it is older
than STAFF_SESSION_TTL, when the person signs out, or when the staff account is disabled;
``ended_at`` and ``ended_reason`` say which, and an ended row is never revived.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class StaffSession(db.Model):
    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    handle_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_accounts.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Moved forward by each request (at most once a minute): the idle timeout counts from it.
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # signed_out | idle_timeout | expired | staff_disabled | totp_reset
    ended_reason: Mapped[str | None] = mapped_column(String(24))
