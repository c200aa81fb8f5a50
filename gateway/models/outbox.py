"""Messages to people waiting to be delivered: the outbox.

A message is written in the same transaction as the change it reports, so it exists exactly
when that change does, and whoever claims it first sends it (gateway/services/outbox/).

Why the content is sealed: an OTP or a one-time password sits here until it is sent. The
payload (template parameters and rendered text) is AES-GCM encrypted under a key derived from
configuration, with the random ``message_key``, the channel and the recipient as associated
data — a database dump reveals no code, and a row whose recipient was altered no longer
decrypts, so it cannot be redirected. The recipient (a phone number is personal data) is
sealed the same way, bound to the row's key and channel; in clear the row keeps only a hint
(``+84 9** *** *23``) for events and support. After delivery (or giving up) both seals are
erased, so no row keeps a full number.

States: pending (``next_attempt_at`` set) → delivered (``delivered_at``) or failed
(``failed_at``, after ``OUTBOX_MAX_ATTEMPTS`` or when the message outlived ``expires_at``);
both end states clear ``next_attempt_at`` so that the due-message index only holds work.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db

CHANNELS = ("sms", "email", "backchannel_logout", "ssf_push")


class OutboxMessage(db.Model):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # 16 random bytes: names the message before it has an id, and binds the sealed payload.
    message_key: Mapped[bytes] = mapped_column(LargeBinary(16), unique=True)
    channel: Mapped[str] = mapped_column(String(24))
    # In clear: the masked phone of an SMS, or a client's back-channel logout URL.
    recipient_hint: Mapped[str] = mapped_column(String(2000))
    # The full recipient (E.164 phone, e-mail address or URL), sealed; b"" once erased.
    recipient_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    template: Mapped[str] = mapped_column(String(64))
    payload_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    locale: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Due when <= now; while a worker sends, it holds a lease by moving this ahead.
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # Past this, sending is pointless (an OTP that has expired): the message fails instead.
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # indexed for the sweep of old rows (gateway/services/sweeps.py)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    # A short reason code from the provider, never content.
    last_error: Mapped[str | None] = mapped_column(String(200))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who holds the lease while sending: "job:<id>" for a job of the task queue (run again
    # as that same job when its worker died, it may take the lease back at once), else None.
    lease_owner: Mapped[str | None] = mapped_column(String(40))
