"""Refresh tokens: opaque, stored as SHA-256 hashes, rotated on use, grouped in families.

A family is everything issued from one authorization code; presenting a used member revokes
the family (RFC 9700 §4.14.2).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class RefreshToken(db.Model):
    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    sid: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[str] = mapped_column(Text)
    resource: Mapped[str] = mapped_column(String(2000))
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str] = mapped_column(String(64))
    amr: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # sweeps
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(String(32))
    # RFC 9449: the DPoP key this token is bound to; a refresh needs a proof by that key.
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
