"""A person's VssID account. The social-insurance number is the login name, never the `sub`."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


def new_subject() -> str:
    """An opaque, stable, random subject: nothing personal can be derived from it."""
    return secrets.token_urlsafe(24)


class Account(db.Model):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sub: Mapped[str] = mapped_column(String(64), unique=True, default=new_subject)
    bhxh: Mapped[str] = mapped_column(String(10), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    dob: Mapped[date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(6))
    cccd: Mapped[str | None] = mapped_column(String(12), index=True)
    phone: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    # active | locked | disabled
    status: Mapped[str] = mapped_column(String(16), default="active")
    level: Mapped[int] = mapped_column(Integer, default=1)
    password_hash: Mapped[str] = mapped_column(String(255))
    # False for an account made from a VNeID identity (gateway/services/links.py): its hash is
    # of a random secret nobody was given, so no password can match, and this flag says so
    # plainly (password sign-in refused, no rotation reminders) until recovery sets one.
    password_usable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The rotation-reminder window last notified (policies/password_age.py), so each
    # window sends one SMS.
    password_reminded_window: Mapped[str | None] = mapped_column(String(40))
    # An issued one-time password (must_change_password) stops working at this instant if it
    # was never changed (ISSUED_PASSWORD_TTL_DAYS; policies/password_age.py); cleared by any
    # password change. None: no issued password is pending, or it never expires (CLI).
    issued_password_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # How the person was verified when the account was issued from an application
    # (gateway/services/application_decisions.py): when, by which staff member (the one whose
    # decision issued it), at which office, and how: "counter" (seen by a clerk at the
    # office) or "post_office" (seen by a post-office agent, confirmed by a clerk). None for
    # accounts made otherwise (CLI, migration).
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    verified_by: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    verified_office: Mapped[str | None] = mapped_column(ForeignKey("offices.code"))
    verification_method: Mapped[str | None] = mapped_column(String(16))
    # When the person's record was verified against the national population database (set
    # by the migration import, issue 11); with level 2, what makes an account "verified" for
    # the VNeID linking rules (policies/linking.py).
    population_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Brought from the old VssID system by `migrate import-legacy` (gateway/jobs/migration/):
    # when, and the old 9-digit ID (CMND) when the export had no CCCD. A later import of the
    # same account may update it only while this is set (an account made here is never
    # overwritten by an export).
    imported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    old_id_number: Mapped[str | None] = mapped_column(String(9))

    # Authlib calls this to fill `sub`.
    def get_user_id(self) -> str:
        return self.sub

    @property
    def is_active(self) -> bool:
        return self.status == "active"
