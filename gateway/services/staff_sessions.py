"""The staff console's sessions: started at sign-in, found from the console's cookie, ended
by signing out, by time, or by disabling the staff account.

Kept in the database (gateway/models/staff_session.py), never in the citizens' SSO sessions,
so that any process can end one and the audit can say how each ended. The cookie carries a
random handle; the row keeps only its SHA-256. Two clocks bound a session, both read from the
injected clock (gateway/clock.py):

* idle: ``STAFF_IDLE_TIMEOUT`` seconds (15 min) since the last request — a console left open
  at an unattended counter closes itself;
* absolute: ``STAFF_SESSION_TTL`` seconds (8 h) since sign-in — one working day, then the
  password and a fresh TOTP code again.

``last_seen_at`` moves at most once a minute (``TOUCH_EVERY``), so a page full of requests
writes one row, not one per request; the idle timeout is therefore exact to within a minute,
and never longer than configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import update

from gateway.clock import as_utc, utcnow
from gateway.crypto.secrets import hash_secret, new_secret
from gateway.extensions import db
from gateway.models import StaffAccount, StaffSession
from gateway.services.events import emit

TOUCH_EVERY = 60  # seconds
MAX_HANDLE = 128


def start(staff: StaffAccount, *, address: str) -> str:
    """A new session for ``staff``; returns the cookie handle (shown once, only its hash kept).
    Commits, with the ``staff.signed_in`` event."""
    handle = new_secret()
    now = utcnow()
    session = StaffSession(handle_hash=hash_secret(handle), staff_id=staff.id, created_at=now,
                           last_seen_at=now)
    db.session.add(session)
    db.session.flush()
    emit("staff.signed_in", staff_id=staff.id, role=staff.role, office=staff.office_code,
         session_id=session.id, address=address[:64])
    db.session.commit()
    return handle


@dataclass(frozen=True)
class Found:
    """What a cookie's handle led to: a live session and its staff account, or neither —
    with ``ended`` naming the timeout (``idle_timeout``, ``expired``) that just ended it."""

    session: StaffSession | None = None
    staff: StaffAccount | None = None
    ended: str | None = None


def _timeouts() -> tuple[timedelta, timedelta]:
    cfg = current_app.config
    return (timedelta(seconds=cfg["STAFF_IDLE_TIMEOUT"]),
            timedelta(seconds=cfg["STAFF_SESSION_TTL"]))


def find(handle: str | None) -> Found:
    """The live session of ``handle`` and its staff account, touched. A session found past a
    timeout is ended here, and ``Found.ended`` says which, so the sign-in page can say why."""
    if not handle or len(handle) > MAX_HANDLE:
        return Found()
    session = StaffSession.query.filter_by(handle_hash=hash_secret(handle)).first()
    if session is None or session.ended_at is not None:
        return Found()
    now = utcnow()
    idle, absolute = _timeouts()
    reason = None
    if now >= as_utc(session.created_at) + absolute:
        reason = "expired"
    elif now >= as_utc(session.last_seen_at) + idle:
        reason = "idle_timeout"
    if reason:
        end(session, reason)
        return Found(ended=reason)
    staff = db.session.get(StaffAccount, session.staff_id)
    if staff is None or staff.status != "active":
        return Found()
    if now - as_utc(session.last_seen_at) >= timedelta(seconds=TOUCH_EVERY):
        db.session.execute(update(StaffSession).where(StaffSession.id == session.id)
                           .values(last_seen_at=now))
        db.session.commit()
    return Found(session, staff)


def end(session: StaffSession, reason: str) -> bool:
    """End the session once (a compare-and-set on ``ended_at``); True for the one caller that
    ended it. Commits, with the ``staff.session_ended`` event."""
    ended = db.session.execute(
        update(StaffSession)
        .where(StaffSession.id == session.id, StaffSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_reason=reason)
        .returning(StaffSession.id)
    ).first()
    if ended is not None:
        emit("staff.session_ended", staff_id=session.staff_id, session_id=session.id,
             reason=reason)
    db.session.commit()
    return ended is not None
