"""The browser login flow: an /authorize request parked while the person signs in.

The decision whether the browser's session may answer an /authorize request, or the person
must sign in first, is policies.session_reuse; ``decide`` feeds it from the request and the
session.

States: ``pending`` (created by /authorize) → [``password_change_required``: a correct but
issued or expired password; no session, no code until a new password is set] →
``authenticated`` (recording the new session's sid) → consumed by /authorize, once. The
record holds the original query so the person returns to exactly the request the client made.
"""

from __future__ import annotations

import json
import secrets

from flask import current_app

from gateway.clock import as_utc, clock
from gateway.oidc.tokens import read_id_token
from gateway.store.access import store
from policies import session_reuse
from policies.assurance import ACR_VALUES, acr_for


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


def decide(data, session, account, *, fresh: bool) -> str:
    """What /authorize does with this request and this browser session (or none):
    ``issue``, ``sign_in``, or an OAuth error code for the client (``invalid_request`` for an
    id_token_hint we did not issue, ``login_required``, ``unmet_authentication_requirements``).

    ``data`` was validated by the grant (``max_age`` is ASCII digits when present).
    """
    hint_sub = None
    hint = data.get("id_token_hint")
    if hint is not None:
        # OIDC Core §3.1.2.1: an expired ID token of ours is still a hint.
        claims = read_id_token(hint, allow_expired=True)
        if claims is None or not isinstance(claims.get("sub"), str):
            return "invalid_request"
        hint_sub = claims["sub"]
    max_age = data.get("max_age")
    request = session_reuse.Request(
        prompts=frozenset((data.get("prompt") or "").split()),
        max_age=int(max_age) if max_age is not None else None,
        acr_values=tuple((data.get("acr_values") or "").split()),
        hint_sub=hint_sub,
    )
    current = None
    if account is not None:
        current = session_reuse.Session(
            sub=account.sub,
            age=clock().timestamp() - int(as_utc(session.auth_time).timestamp()),
            acr=session.acr,
            reachable_acr=acr_for(account.level, ["pwd"]),
            fresh=fresh,
        )
    return session_reuse.decide(request, current, ACR_VALUES)
