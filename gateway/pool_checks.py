"""Handing out only live PostgreSQL connections, without a round trip per request.

SQLAlchemy's `pool_pre_ping` sends a query on every checkout: one extra round trip per
transaction, about a seventh of a refresh grant's time on a busy server, to catch what is
rare (a restart, a failover, a proxy or the server dropping connections). This checks cheaply
instead, at each checkout (SQLAlchemy's "pessimistic, custom" disconnect handling):

* a connection that sat in the pool more than `PING_AFTER_IDLE` seconds is pinged as before
  (`SELECT 1`): that is where silent drops (a host gone, a firewall's idle timeout) hide, and
  a connection idle that long is not on a hot path;
* any other is checked without a round trip: a healthy idle connection has nothing to read,
  while one the server (or a proxy) closed has its FATAL notice and the end of the stream
  waiting on the socket, so "the socket is readable" (a `select` with no wait) or "psycopg
  says it is closed" means dead.

A dead connection raises `DisconnectionError` in the checkout: the pool discards it and hands
out another (SQLAlchemy retries the checkout), so no request fails for it
(tests/faults/test_database_down.py). A connection that dies silently while in use fails its
request once (503), and SQLAlchemy then invalidates the whole pool, as before.
"""

from __future__ import annotations

import select
import time

from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError

#: Seconds in the pool after which a connection is pinged (a round trip) at its checkout.
PING_AFTER_IDLE = 10.0
_CHECKED_IN = "gateway.checked_in"


def _readable(fileno: int) -> bool:
    readable, _, _ = select.select([fileno], [], [], 0)
    return bool(readable)


def check_connection(dbapi_connection, idle: float) -> None:
    """Raise DisconnectionError if this idle psycopg connection cannot be used."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("connection closed")
    if idle > PING_AFTER_IDLE:
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            dbapi_connection.rollback()
        except Exception as exc:  # any failure of the ping: not a usable connection
            raise DisconnectionError("ping failed") from exc
        return
    try:
        dead = _readable(dbapi_connection.fileno())
    except (OSError, ValueError) as exc:
        raise DisconnectionError("no socket") from exc
    if dead:
        raise DisconnectionError("the server closed the connection")


def install(engine) -> None:
    """Check PostgreSQL connections at checkout (instead of `pool_pre_ping`)."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection, record):
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy):
        checked_in = record.info.get(_CHECKED_IN)
        if checked_in is None:
            return  # a new connection, just made
        check_connection(dbapi_connection, time.monotonic() - checked_in)
