"""Telling a dependency that cannot be reached from a bug: the first is a 503, the second a 500.

Exceptions::

    StoreUnavailableError   the store (Redis, or the SQL-backed store) cannot be reached

When PostgreSQL restarts, fails over or drops its connections, or Redis does, the gateway
fails closed and says so: `503 temporarily_unavailable` with `Retry-After` (the error handlers
in gateway/views/errors.py), nothing issued, nothing consumed. A genuine bug that happens to come
from the database (bad SQL, a constraint the code did not expect) stays a `500 server_error`,
logged with its traceback, so it is noticed rather than passed off as an outage.

"Cannot be reached" means connection-level failures only:

* SQLAlchemy marked the connection invalidated (its dialect recognised a lost connection);
* the pool gave no connection (`DisconnectionError`, or its wait for a free one timed out);
* psycopg's `OperationalError` without a SQLSTATE (the client could not connect, or lost the
  socket) or with a connection SQLSTATE: class 08, the server shutting down or starting
  (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now), 53300 too many
  connections;
* SQLite cannot open its file (SQLITE_CANTOPEN), the embedded default's equivalent.

A deadlock, a serialization failure or a cancelled statement is not: the database answered.

Recovery needs nothing from here: pooled connections are checked at checkout
(gateway/pool_checks.py, without a round trip unless they sat idle), so the connections a
restart left stale are replaced at their next checkout instead of failing a request each,
and a connection lost in the middle of a request makes SQLAlchemy invalidate the whole pool
(tests/faults/test_database_down.py shows both).
"""

from __future__ import annotations

import sqlite3

import psycopg
from sqlalchemy import exc as sa_exc

#: Seconds a client is asked to wait (HTTP Retry-After, RFC 9110 §10.2.3) on every 503. About
#: a PostgreSQL restart or a Redis/PostgreSQL failover; long enough that clients retrying
#: together do not hammer a service that is coming back.
RETRY_AFTER_SECONDS = 30

# Seconds a new PostgreSQL connection may take (psycopg waits 130 s by default): a server that
# cannot be reached answers 503 promptly instead of holding the request and its worker. A
# `connect_timeout` in DATABASE_URL wins. Web processes and queue workers both use it.
PG_CONNECT_TIMEOUT = 5

DATABASE = "database"
STORE = "store"

_CONNECTION_SQLSTATES = frozenset({"53300", "57P01", "57P02", "57P03"})
_SQLITE_CANTOPEN = 14


class StoreUnavailableError(RuntimeError):
    """The store could not be reached; nothing was decided. The stores raise it for
    connection-level failures only; the app answers it 503 like an unreachable database."""


def database_unreachable(error: BaseException) -> bool:
    """True when `error` says the database could not be reached, False for anything else."""
    if isinstance(error, (sa_exc.DisconnectionError, sa_exc.TimeoutError)):
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig
    if isinstance(error, psycopg.OperationalError):
        state = error.sqlstate
        return state is None or state.startswith("08") or state in _CONNECTION_SQLSTATES
    if isinstance(error, sqlite3.OperationalError):
        return getattr(error, "sqlite_errorcode", None) == _SQLITE_CANTOPEN
    return False
