"""The browser login flow: an /authorize request parked while the person signs in.

States: ``pending`` (created by /authorize) → [``password_change_required``: a correct but
issued or expired password; no session, no code until a new password is set] →
``authenticated`` (recording the new session's sid) → consumed by /authorize, once. The
record holds the original query so the person returns to exactly the request the client made.
"""

from __future__ import annotations

import json
import secrets

from flask import current_app

from gateway.clock import clock
from gateway.store.access import store


def _key(flow_id: str) -> str:
    return f"flow:login:{flow_id}"


def _valid_id(flow_id) -> bool:
    return isinstance(flow_id, str) and 16 <= len(flow_id) <= 64 and flow_id.isascii()


def start(query: list[tuple[str, str]]) -> str:
    flow_id = secrets.token_urlsafe(24)
    record = {"state": "pending", "query": query, "created": clock().timestamp()}
    store().put(_key(flow_id), json.dumps(record), current_app.config["LOGIN_FLOW_TTL"])
    return flow_id


def load(flow_id) -> dict | None:
    if not _valid_id(flow_id):
        return None
    raw = store().get(_key(flow_id))
    return json.loads(raw) if raw else None


def redirect_target(record: dict) -> str | None:
    """The client's redirect URI this flow ends at, if the client is registered with it."""
    from gateway.oidc.server import query_client

    query = dict(record.get("query") or [])
    client = query_client(query.get("client_id"))
    uri = query.get("redirect_uri")
    return uri if client is not None and uri and client.check_redirect_uri(uri) else None


def require_password_change(flow_id: str, record: dict, account_id: int, why: str) -> None:
    record = {**record, "state": "password_change_required", "account_id": account_id,
              "why": why}
    store().put(_key(flow_id), json.dumps(record), current_app.config["LOGIN_FLOW_TTL"])


def authenticated(flow_id: str, record: dict, sid: str) -> None:
    record = {**record, "state": "authenticated", "sid": sid}
    store().put(_key(flow_id), json.dumps(record), current_app.config["LOGIN_FLOW_TTL"])


def consume(flow_id) -> dict | None:
    """The authenticated record, once; a second call (or a pending flow) gets None."""
    if not _valid_id(flow_id):
        return None
    raw = store().take(_key(flow_id))
    if not raw:
        return None
    record = json.loads(raw)
    return record if record.get("state") == "authenticated" else None
