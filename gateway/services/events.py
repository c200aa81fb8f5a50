"""Emits `noun.past_verb` events: one audit row each, plus a structured log line.

Subscribers (metrics, notifications, security event signals) register with `subscribe`; they
run inside the caller's transaction, before a `commit=True` commits it. Data must never hold a
secret, an OTP or a full personal number: callers pass ids and masked values only.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from flask import g, has_app_context

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.models import Event

log = logging.getLogger("gateway.events")
_subscribers: dict[str, list[Callable]] = defaultdict(list)


def subscribe(name: str, handler: Callable) -> None:
    _subscribers[name].append(handler)


def emit(name: str, *, account_id=None, client_id=None, commit=False, **data) -> Event:
    # Work deferred after a response carries its request's id (gateway/deferred.py).
    request_id = g.get("request_id") if has_app_context() else None
    event = Event(
        name=name,
        at=utcnow(),
        account_id=account_id,
        client_id=client_id,
        request_id=request_id,
        data=data,
    )
    db.session.add(event)
    # Subscribers run before the commit: what they write (a security event queued in the
    # outbox, gateway/oidc/ssf.py) is committed with the event, or not at all.
    for handler in _subscribers.get(name, []):
        handler(event)
    if commit:
        db.session.commit()
    log.info(name, extra={"event": name, "account_id": account_id, "client_id": client_id, **data})
    return event
