"""Backs the ephemeral store on the embedded default (no Redis): key, value, counter, expiry."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class StoreEntry(db.Model):
    __tablename__ = "store_entries"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str | None] = mapped_column(Text)
    counter: Mapped[int] = mapped_column(Integer, default=0)
    # Unix time in milliseconds; expired rows are invisible and swept lazily.
    expires_at: Mapped[int] = mapped_column(BigInteger, index=True)
