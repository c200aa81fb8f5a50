"""An application for a VssID account: what a person declared online, until staff decide.

Statuses and who may move them are the pure table in policies/applications.py. The photos are
not in the database: ``*_file`` columns hold keys of the file store (outside every public
path), readable only through the staff console by staff handling the application.

A rejected application is never edited: the applicant's correction is a new application whose
``previous_id`` points at it (unique, so one rejection has at most one correction).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db
from policies.application_search import name_key


def _name_key_of_row(context) -> str:
    """The search key of the name being inserted (policies/application_search.py), filled by
    the database layer so every way of creating an application keeps it right."""
    return name_key(context.get_current_parameters()["full_name"])


class Application(db.Model):
    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the applicant keeps and types on the status page; random, never sequential.
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    bhxh: Mapped[str] = mapped_column(String(10), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    # The name as the console searches it: NFC, case-folded (casefold may lengthen a name).
    name_key: Mapped[str] = mapped_column(String(400), default=_name_key_of_row)
    dob: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(6))
    cccd: Mapped[str] = mapped_column(String(12), index=True)
    phone: Mapped[str] = mapped_column(String(16))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    office_code: Mapped[str] = mapped_column(ForeignKey("offices.code"), index=True)
    portrait_file: Mapped[str] = mapped_column(String(80))
    id_front_file: Mapped[str] = mapped_column(String(80))
    id_back_file: Mapped[str] = mapped_column(String(80))
    previous_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The post-office agent's verification, awaiting a clerk's confirmation.
    field_verified_by: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    field_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The final decision.
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("staff_accounts.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reason_code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
