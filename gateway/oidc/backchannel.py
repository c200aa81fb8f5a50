"""OIDC Back-Channel Logout 1.0: tell relying services a session ended, through the outbox.

Queued in the same transaction that ends the session, so it is never lost; the logout token
is minted when it is sent (a retried delivery carries a fresh `iat`/`exp`), and a failed
delivery is retried with backoff by the outbox.
"""

from __future__ import annotations

import secrets

import requests
from flask import current_app

from gateway.clock import clock
from gateway.extensions import db
from gateway.models import Account, Client, SessionClient
from gateway.oidc.tokens import sign_jwt
from gateway.services.outbox import enqueue_message, register_sender
from providers.sms import DeliveryError

CHANNEL = "backchannel_logout"
EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TTL = 120


def enqueue_logouts(sid: str, account_id: int, reason: str | None = None) -> int:
    """Queue one logout token per client that received tokens under `sid` and asked for it."""
    rows = (db.session.query(Client)
            .join(SessionClient, SessionClient.client_id == Client.client_id)
            .filter(SessionClient.sid == sid, Client.backchannel_logout_uri.isnot(None)).all())
    for client in rows:
        enqueue_message(channel=CHANNEL, recipient=client.backchannel_logout_uri,
                        template="logout_token",
                        payload={"sid": sid, "account_id": account_id,
                                 "client_id": client.client_id})
    return len(rows)


def logout_token(*, client_id: str, sub: str, sid: str) -> str:
    now = clock().timestamp()
    claims = {
        "iss": current_app.config["ISSUER"],
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": secrets.token_urlsafe(16),
        "sub": sub,
        "sid": sid,
        "events": {EVENT: {}},
    }
    return sign_jwt("logout+jwt", claims)


def _send(message, recipient: str, payload: dict) -> None:
    account = db.session.get(Account, payload["account_id"])
    if account is None:
        raise DeliveryError("account_gone", permanent=True)
    token = logout_token(client_id=payload["client_id"], sub=account.sub, sid=payload["sid"])
    try:
        response = requests.post(recipient, data={"logout_token": token}, timeout=5,
                                 allow_redirects=False,
                                 headers={"Cache-Control": "no-store"})
    except requests.RequestException as exc:
        raise DeliveryError(f"unreachable: {exc.__class__.__name__}") from None
    if response.status_code not in (200, 204):
        raise DeliveryError(f"http_{response.status_code}")


register_sender(CHANNEL, _send)
