"""The one active app device of an account (VssID's rule: one device at a time).

One row per account, keyed by account_id: "the only active device" is a primary key, not a
convention. Changing it is a compare-and-set on `version`, so two takeovers finishing at the
same instant cannot both win, and the row count never depends on how many devices an account
has used.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class ActiveDevice(db.Model):
    __tablename__ = "active_devices"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True,
                                            autoincrement=False)
    device_id: Mapped[str] = mapped_column(String(128))
    device_name: Mapped[str] = mapped_column(String(100))
    jkt: Mapped[str] = mapped_column(String(64))
    sid: Mapped[str] = mapped_column(String(64))
    client_id: Mapped[str] = mapped_column(String(64))
    bound_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)
