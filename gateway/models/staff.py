"""A staff account of the console (/staff/): office clerks, post-office agents, supervisors.

Staff are not citizens: their own table, their own session cookie, never the citizens' SSO.
They sign in with a password (Argon2id, as citizens) and a TOTP code. The TOTP secret must be
readable to check a code, so it is sealed (AES-256-GCM under a key derived for this purpose,
bound to the staff id), never stored in clear; ``totp_last_step`` makes each code usable once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class StaffAccount(db.Model):
    __tablename__ = "staff_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    # office_staff | post_office_agent | supervisor (policies/applications.py ROLES)
    role: Mapped[str] = mapped_column(String(24))
    # The office whose queue they work; a supervisor may have none (sees every office).
    office_code: Mapped[str | None] = mapped_column(ForeignKey("offices.code"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # The last TOTP time step accepted: a code at or before it is refused (used once).
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    # active | disabled
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
