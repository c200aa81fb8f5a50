"""Token signing keys. The private half is stored encrypted (AES-GCM) with a configured key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class SigningKey(db.Model):
    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(8))
    public_jwk: Mapped[dict] = mapped_column(JSON)
    private_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When it starts signing: a rotation publishes the key first (KEY_PUBLISH_LEAD).
    active_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When a newer key takes over signing (that key's active_from, possibly still ahead); the
    # key stays in JWKS until retired_at + the longest token lifetime has passed.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
