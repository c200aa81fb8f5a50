"""Browser SSO sessions: created at sign-in, found from the cookie, ended at logout."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import select

from gateway.clock import as_utc, utcnow
from gateway.crypto.secrets import hash_secret, new_secret
from gateway.extensions import db
from gateway.models import Account, LoginSession
from gateway.services.events import emit
from gateway.services.revocation import revoke_session
from policies.assurance import acr_for


def start_session(account: Account, *, amr: list[str], kind: str = "browser",
                  device_id: str | None = None, level: int | None = None,
                  also: Callable[[LoginSession], None] | None = None):
    """Returns (cookie handle, session). The handle is shown once; only its hash is kept.

    ``level``: the identity level the sign-in itself established, when it is not the
    account's (a VNeID sign-in rests on VNeID's level: policies.assurance turns it and
    ``amr`` into the session's ``acr``). ``also(session)``: the caller's own writes (its
    event), made in the session's transaction: one commit per sign-in."""
    handle = new_secret()
    now = utcnow()
    session = LoginSession(
        sid=secrets.token_urlsafe(16),
        handle_hash=hash_secret(handle),
        account_id=account.id,
        kind=kind,
        device_id=device_id,
        auth_time=now,
        amr=amr,
        acr=acr_for(account.level if level is None else level, amr),
        created_at=now,
        expires_at=now + timedelta(seconds=current_app.config["SESSION_TTL"]),
    )
    db.session.add(session)
    emit("session.started", account_id=account.id, sid=session.sid, kind=kind)
    if also is not None:
        also(session)
    account_id = account.id  # read before the commit expires it (no reload)
    # The new row is only read after this (its sid, auth_time, acr, amr: the flow's record,
    # the code's context): detached once written, the commit does not expire it, and reading
    # it costs no SELECT and no second pool checkout. Nothing changes it through the ORM
    # later; a session ends by sid (end_session, gateway.services.revocation).
    db.session.flush()
    db.session.expunge(session)
    db.session.commit()
    if kind == "browser":
        _limit_browser_sessions(account_id)
    return handle, session


def _limit_browser_sessions(account_id: int) -> None:
    limit = current_app.config["BROWSER_SESSIONS_PER_ACCOUNT"]
    if limit <= 0:
        return
    live = (LoginSession.query.filter(
        LoginSession.account_id == account_id, LoginSession.kind == "browser",
        LoginSession.revoked_at.is_(None), LoginSession.expires_at > utcnow(),
    ).order_by(LoginSession.id.desc()).offset(limit).all())
    for old in live:
        end_session(old, "session_limit")


def current_session() -> tuple[LoginSession, Account] | tuple[None, None]:
    handle = request.cookies.get(current_app.config["SSO_COOKIE_NAME"])
    if not handle or len(handle) > 128:
        return None, None
    # The session and its account in one statement (every /authorize of a signed-in browser
    # reads both).
    row = db.session.execute(
        select(LoginSession, Account).join(Account, Account.id == LoginSession.account_id)
        .where(LoginSession.handle_hash == hash_secret(handle)).limit(1)).first()
    if row is None:
        return None, None
    session, account = row
    if session.revoked_at is not None or as_utc(session.expires_at) <= utcnow():
        return None, None
    if not account.is_active:
        return None, None
    return session, account


def end_session(session: LoginSession, reason: str = "logout") -> None:
    revoke_session(session.sid, reason)
    emit("session.ended", account_id=session.account_id, sid=session.sid, reason=reason,
         commit=True)


def set_cookie(response, handle: str) -> None:
    cfg = current_app.config
    response.set_cookie(
        cfg["SSO_COOKIE_NAME"],
        handle,
        max_age=cfg["SESSION_TTL"],
        httponly=True,
        samesite="Lax",
        secure=cfg["ENV"] == "production",
        path="/",
    )


def clear_cookie(response) -> None:
    response.delete_cookie(current_app.config["SSO_COOKIE_NAME"], path="/")
