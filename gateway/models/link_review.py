"""A case in the staff review queue: a VNeID identity the rules would not link on their own.

Opened by rule 5 of policies/linking.py (several candidate accounts, the candidate linked to
another subject, a name or birth date disagreeing) and resolved by staff with a reason: linked
to an account they chose, or rejected. ``claims`` keeps what the VNeID side said, so that staff
see both sides long after the sign-in: the identity number in full (the accounts table holds
the same number; every display masks it), name, birth date (ISO), sex, level, account type,
and the phone only as its masked hint. ``candidate_ids`` are the accounts the rules looked at.

``open_subject`` holds the subject while the case is open and NULL once resolved: a UNIQUE
column that makes "at most one open case per subject" a database rule (both PostgreSQL and
SQLite let any number of rows hold NULL), so two sign-ins of one person racing to open a case
open one.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db

STATUSES = ("open", "resolved")
RESOLUTIONS = ("linked", "rejected")


class LinkReview(db.Model):
    __tablename__ = "link_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), index=True)
    open_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    # policies/linking.py REVIEW_REASONS
    reason: Mapped[str] = mapped_column(String(40))
    claims: Mapped[dict] = mapped_column(JSON)
    candidate_ids: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # linked | rejected, once resolved
    resolution: Mapped[str | None] = mapped_column(String(16))
    resolved_account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    # A staff username, or `cli:<name>` for an operator's command.
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution_reason: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
