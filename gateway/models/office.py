"""The social-insurance offices (BHXH provincial and district offices) that receive applicants.

Keyed by the office's code (`BHXH-079`, `BHXH-079-Q1`; format in gateway/services/offices.py).
Rows are never deleted: an office that leaves the loaded list becomes inactive, because
applications and staff accounts will reference its code long after it closed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class Office(db.Model):
    __tablename__ = "offices"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(3), index=True)  # CCCD province code
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
