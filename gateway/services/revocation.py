"""Revoking sessions, refresh-token families and single access tokens, effective at once.

Each revocation is written twice: in SQL (authoritative for refresh tokens and sessions) and as
a marker in the store, which introspection and userinfo read for self-contained JWT access
tokens. Marker keys: ``rv:jti:<jti>``, ``rv:fam:<family>``, ``rv:sid:<sid>``.

What else ending a session must do belongs to other layers and runs through the hook point
``session_ended`` (gateway.services.hooks): the protocol layer registers OIDC back-channel
logout there (gateway.oidc.server), so this module never imports gateway.oidc.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import update

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.models import LoginSession, RefreshToken
from gateway.services.hooks import HookPoint
from gateway.store.access import store

MARKER_SLACK = 120  # seconds beyond the longest-lived thing a marker must outlive

#: Runs with ``sid``, ``account_id`` and ``reason`` when a live session ends, inside the
#: transaction that ends it (before its commit): what a hook writes is committed with the
#: revocation or not at all. Not run for a session that had already ended.
session_ended = HookPoint("session_ended")


def _marker_ttl() -> int:
    cfg = current_app.config
    return cfg["REFRESH_TOKEN_TTL"] + MARKER_SLACK


def revoke_family(family_id: str, reason: str) -> int:
    store().put(f"rv:fam:{family_id}", reason, _marker_ttl())
    result = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    db.session.commit()
    return result.rowcount


def revoke_session(sid: str, reason: str) -> None:
    """Ends a session: marker first (effective at once), then SQL, and the `session_ended`
    hooks (back-channel logout notices), in the same transaction."""
    store().put(f"rv:sid:{sid}", reason, _marker_ttl())
    now = utcnow()
    ended = db.session.execute(
        update(LoginSession)
        .where(LoginSession.sid == sid, LoginSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
        .returning(LoginSession.account_id)
    ).first()
    if ended is not None:
        session_ended.run(sid=sid, account_id=ended[0], reason=reason)
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.sid == sid, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    db.session.commit()


def revoke_access_token(jti: str, exp: int, now: int) -> None:
    ttl = max(1, exp - now + MARKER_SLACK)
    store().put(f"rv:jti:{jti}", "revoked", ttl)


def revocation_reason(*, jti=None, family_id=None, sid=None) -> str | None:
    """The first reason found among the markers, in one store round trip; None if live."""
    keys = []
    if jti:
        keys.append(f"rv:jti:{jti}")
    if family_id:
        keys.append(f"rv:fam:{family_id}")
    if sid:
        keys.append(f"rv:sid:{sid}")
    for value in store().get_many(keys):
        if value is not None:
            return value
    return None


def revoke_account(account_id: int, reason: str, *, except_sid: str | None = None) -> int:
    """Every session and refresh-token family of the account, but `except_sid`'s."""
    sids = [
        sid for (sid,) in db.session.query(LoginSession.sid).filter(
            LoginSession.account_id == account_id, LoginSession.revoked_at.is_(None)
        )
        if sid != except_sid
    ]
    for sid in sids:
        revoke_session(sid, reason)
    families = {
        family for (family, sid) in db.session.query(
            RefreshToken.family_id, RefreshToken.sid
        ).filter(RefreshToken.account_id == account_id, RefreshToken.revoked_at.is_(None))
        if sid is None or sid != except_sid
    }
    for family in families:
        revoke_family(family, reason)
    return len(sids) + len(families)
