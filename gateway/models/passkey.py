"""A person's passkey: one WebAuthn credential registered to an account.

``credential_id`` is the authenticator's id for the key (base64url, UNIQUE: one credential
belongs to one account, and the assertion finds its row by it); ``public_key`` the COSE key
the signatures are checked with — public, so kept as is. ``sign_count`` is the last counter
the authenticator presented, advanced by compare-and-set (gateway/services/passkeys.py).
``backup_eligible`` says the key may be synced off the device (amr ``swk`` rather than
``hwk``); ``aaguid`` names the authenticator's model when it says (all zeros otherwise);
``transports`` are the hints the browser gave at registration. ``disabled_at`` is set when
a signature counter went back (a cloned key): the passkey signs nobody in again, and stays
listed until the person removes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class Passkey(db.Model):
    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list] = mapped_column(JSON, default=list)
    backup_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    aaguid: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(64))
    # The WebAuthn user handle (base64url of 32 random bytes), the same for all of an
    # account's passkeys: what an assertion's userHandle must be.
    user_handle: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
