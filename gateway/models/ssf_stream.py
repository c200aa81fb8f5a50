"""Shared Signals streams (OpenID SSF 1.0): one per relying service, and who it hears about.

A stream belongs to one client (``client_id`` UNIQUE: the one-stream-per-receiver rule is the
database's, not a check that two racing creations could both pass). What the receiver asked
for (``events_requested``) is kept as sent; what it gets is computed (gateway/oidc/ssf.py).

Why the delivery endpoint and its ``Authorization`` header are sealed: the header is a
credential the receiver gave us to present at its endpoint, and the endpoint says which
service listens where; a database dump must reveal neither. Both are AES-GCM sealed under a
key derived for streams alone, bound to the stream id and the field
(gateway/services/ssf_streams.py).

``ssf_stream_subjects`` holds the receiver's own choices about people: a row ``included``
true (``add_subject``) or false (``remove_subject``). Without a row, a person is in the stream
when they signed in to the stream's client (the default subjects, docs/events.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db

STATUSES = ("enabled", "paused", "disabled")


class SsfStream(db.Model):
    __tablename__ = "ssf_streams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream_id: Mapped[str] = mapped_column(String(64), unique=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))
    events_requested: Mapped[list] = mapped_column(JSON, default=list)
    delivery_method: Mapped[str] = mapped_column(String(64))
    endpoint_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # b"" when the receiver gave no Authorization header.
    authorization_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(16), default="enabled")
    status_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SsfSubject(db.Model):
    __tablename__ = "ssf_stream_subjects"

    stream_id: Mapped[int] = mapped_column(
        ForeignKey("ssf_streams.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), primary_key=True,
                                            index=True)
    included: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
