"""The link between a VNeID identity and a VssID account: at most one each way.

The key is the upstream's stable ``subject`` (TechID, else ``sub``), never the CCCD: an
identity number can be cancelled and re-issued to someone else, so it only finds candidate
accounts (policies/linking.py). Both columns are UNIQUE, so the database itself holds the rule
"one VNeID subject ↔ at most one account": of two identities racing to link one account, or
one identity racing itself, exactly one insert succeeds (gateway/services/links.py).

``how`` says what made the link: ``auto`` (rule 2), ``proof`` (rule 3: password then OTP),
``created`` (rule 4: the account was made from the identity), ``staff`` (a review case
resolved). ``level`` is the identity's level at link time; ``level_before`` the account's,
so that an unlink gives back exactly the level the link added and no more.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db

HOWS = ("auto", "proof", "created", "staff")


class VneidLink(db.Model):
    __tablename__ = "vneid_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), unique=True)
    subject: Mapped[str] = mapped_column(String(255), unique=True)
    how: Mapped[str] = mapped_column(String(16))
    # The decision's reason code (policies/linking.py REASONS), or `staff_review`.
    reason: Mapped[str] = mapped_column(String(40))
    review_id: Mapped[int | None] = mapped_column(ForeignKey("link_reviews.id"))
    level: Mapped[int] = mapped_column(Integer)
    level_before: Mapped[int] = mapped_column(Integer)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
