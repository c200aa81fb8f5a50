"""Registered clients kept in process: the token endpoint reads no client row per request.

Every request to /token, /introspect and /revoke authenticates a client, and reading its row
through the ORM (a pool checkout, a query, an object) was over a third of a client_credentials
grant's cost. Clients change rarely and only by an operator (`clients create`,
`clients set-resources`; gateway/cli/clients.py), so each process keeps a read-only copy of
the clients it has seen (`CachedClient`: a copy of the columns; the hashed secret too, which is
all a check needs) and drops them all when the clients' version changes.

The version is one counter in the store (`clients:version`). A commit that changed a client
row through the ORM (the listeners at the end of this module) calls `clients_changed()`,
which increments it and empties this process's copies at once; a change made outside the ORM
(SQL by hand) must be followed by `clients_changed()` too. Other processes read the counter
at most every `CLIENT_CACHE_SECONDS` (one store GET a few times a second at most, not one per
request), so **a change is seen everywhere within CLIENT_CACHE_SECONDS** (default 2) of the
commit. If the counter is lost (a Redis flush or failover) its value changes too, which also
empties the copies. A client id not registered is never remembered: a client created a moment
ago is found on its first request. A store that cannot be read when the check falls due fails
closed (503), like every other store read of the token endpoint.
"""

from __future__ import annotations

import copy
import threading
import time
from contextlib import contextmanager

from flask import current_app, g, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from gateway.extensions import db
from gateway.models import Client
from gateway.models.client import ClientRules
from gateway.store.access import store

VERSION_KEY = "clients:version"
VERSION_TTL = 10 * 365 * 24 * 3600  # the counter must outlive every process reading it
MAX_ENTRIES = 10_000  # more registered clients than this: the copies are rebuilt as needed
EXTENSION = "gateway.client_cache"
_COPIES_ALLOWED = "_gateway_client_copies_allowed"  # on flask.g, for one request
_COLUMNS = tuple(column.key for column in Client.__table__.columns)


class CachedClient(ClientRules):
    """A registered client as read at one moment: a copy of the row's columns, shared by
    every request of the process: attributes cannot be set, and no caller changes the lists
    or the JWKS in place (a change is made to the row, by gateway/services/clients.py)."""

    __slots__ = _COLUMNS

    def __init__(self, row: Client):
        for name in _COLUMNS:
            object.__setattr__(self, name, copy.deepcopy(getattr(row, name)))

    def __setattr__(self, name, value):
        raise AttributeError("a cached client is read-only; change the row (services/clients)")

    def __repr__(self):
        return f"<CachedClient {self.client_id}>"


class ClientCache:
    def __init__(self, check_seconds: float):
        self.check_seconds = check_seconds
        self._entries: dict[str, CachedClient] = {}
        self._version: str | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()

    def _check_version(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self.check_seconds:
            return
        version = store().get(VERSION_KEY)  # raises StoreUnavailableError: fail closed
        with self._lock:
            if version != self._version:
                self._entries = {}
                self._version = version
            self._checked_at = now

    def get(self, client_id: str) -> CachedClient | None:
        self._check_version()
        cached = self._entries.get(client_id)
        if cached is not None:
            return cached
        row = db.session.execute(
            db.select(Client).where(Client.client_id == client_id)).scalar_one_or_none()
        if row is None:
            return None
        cached = CachedClient(row)
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries = {}
            self._entries[client_id] = cached
        return cached

    def clear(self) -> None:
        with self._lock:
            self._entries = {}
            self._checked_at = float("-inf")


def init_app(app) -> None:
    app.extensions[EXTENSION] = ClientCache(app.config["CLIENT_CACHE_SECONDS"])


def cached_client(client_id) -> CachedClient | None:
    # NUL: PostgreSQL refuses it in a text parameter (a DataError, a 500); no client has one.
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64 or (
            "\x00" in client_id):
        return None
    return current_app.extensions[EXTENSION].get(client_id)


@contextmanager
def client_copies_allowed(allowed: bool):
    """Within this block the request may take its client from the process's copies even at
    an endpoint that reads the row (gateway/oidc/server.py decides): for a step whose caller
    has just seen the database answer, so the row read would only repeat the copy."""
    previous = g.get(_COPIES_ALLOWED, False)
    setattr(g, _COPIES_ALLOWED, allowed)
    try:
        yield
    finally:
        setattr(g, _COPIES_ALLOWED, previous)


def copies_allowed_here() -> bool:
    return has_request_context() and g.get(_COPIES_ALLOWED, False)


def clients_changed() -> int:
    """Call after committing a change to a client: every process drops its copies within
    CLIENT_CACHE_SECONDS, this one at once. Returns the new version."""
    version = store().incr(VERSION_KEY, VERSION_TTL)
    current_app.extensions[EXTENSION].clear()
    return version


# Any change to a client row through the ORM bumps the version once committed (the CLI's
# commands, `demo seed`, tests), so no caller can forget to; a rollback forgets the change.
@event.listens_for(Session, "after_flush")
def _note_client_changes(session, _flush_context):
    if any(isinstance(obj, Client)
           for objects in (session.new, session.dirty, session.deleted) for obj in objects):
        session.info["clients_changed"] = True


@event.listens_for(Session, "after_commit")
def _announce_client_changes(session):
    if session.info.pop("clients_changed", False) and EXTENSION in current_app.extensions:
        clients_changed()


@event.listens_for(Session, "after_rollback")
def _forget_client_changes(session):
    session.info.pop("clients_changed", None)
