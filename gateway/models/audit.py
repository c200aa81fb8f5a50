"""The audit trail of staff actions and issuance decisions: append-only, chained by hash.

Each record's ``hash`` is SHA-256 over its own canonical content and the ``prev_hash`` of the
record before it (``seq`` - 1), so an edited record no longer matches its hash, a deleted one
leaves a gap in ``seq`` and a broken link, and a reordered pair breaks both links
(gateway/services/audit.py computes and verifies; `flask --app wsgi audit verify`).
``seq`` is assigned by the appender under a lock, never by the database, so it has no gaps.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class AuditRecord(db.Model):
    __tablename__ = "audit_records"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"),
                                     primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Who: a staff username with role and office, or "system"/"cli:<user>" for operators.
    actor: Mapped[str] = mapped_column(String(80), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(24))
    actor_office: Mapped[str | None] = mapped_column(String(32))
    # What: a stable action name (`application.approved`, `account.phone_changed`, ...)
    action: Mapped[str] = mapped_column(String(64), index=True)
    # On what: `application:<reference>`, `account:<id>`, `staff:<username>`
    subject: Mapped[str] = mapped_column(String(80), index=True)
    # What changed: {field: [before, after]} with personal numbers masked.
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    reason: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
