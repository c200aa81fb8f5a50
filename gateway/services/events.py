"""Emits `noun.past_verb` events: a structured log line each, and a row for the stored ones.

Every event has a *kind* (docs/events.md, "Stored events and log events"):

* a **stored event** is one row of `events`, added in the caller's transaction (it exists
  exactly when the change it reports was committed), plus its log line;
* a **log event** is a log line and its subscribers (metrics) only, never a row: events of
  every request of a hot path (`token.issued`: one per token) whose change is recorded
  elsewhere or is not a change of anyone's rights. Writing them as rows cost the token
  endpoint a third of its time and grew the table by one row per token.

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

STORED = "stored"
LOG = "log"

#: Log events: high volume, no row (docs/events.md). Every other event is stored.
LOG_EVENTS = frozenset({"token.issued"})

log = logging.getLogger("gateway.events")
_subscribers: dict[str, list[Callable]] = defaultdict(list)


def kind_of(name: str) -> str:
    return LOG if name in LOG_EVENTS else STORED


def subscribe(name: str, handler: Callable) -> None:
    _subscribers[name].append(handler)


def emit(name: str, *, account_id=None, client_id=None, commit=False, **data) -> Event:
    """Emit the event; a stored event's row is added to the session (committed with the caller's
    change, or here with ``commit=True``). A log event is returned unsaved."""
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
    stored = name not in LOG_EVENTS
    if stored:
        db.session.add(event)
    # Subscribers run before the commit: what they write (a security event queued in the
    # outbox, gateway/oidc/ssf.py) is committed with the event, or not at all.
    handlers = _subscribers.get(name, [])
    for handler in handlers:
        handler(event)
    if commit and (stored or handlers):
        db.session.commit()
    log.info(name, extra={"event": name, "account_id": account_id, "client_id": client_id, **data})
    return event
