"""The store in the SQL database, for the embedded default (and any deployment without Redis).

Every operation runs in its own short transaction on its own connection, so a one-time value
is consumed (``DELETE … RETURNING``) or claimed (``INSERT … ON CONFLICT DO NOTHING``) by
exactly one caller, whatever the request around it does later.

The connection comes from the store's own engine (gateway._store_engine), never from the
pool of the request's ORM session: a request calls the store while it holds its ORM
connection, and two connections taken from one bounded pool by many requests at once is a
deadlock (each holds one and waits for another). Callers must also not call the store while
their ORM session holds a write on SQLite: the store would wait for the caller's own lock.
"""

from __future__ import annotations

import functools
import hashlib
import random
import time

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from gateway.availability import StoreUnavailableError

_SWEEP_PROBABILITY = 0.01
# The counter after an increment; an expired row starts again at `by`. `value` mirrors it as
# text so get() reads counters the way Redis GET does.
_NEXT = (
    "(CASE WHEN store_entries.expires_at <= :n THEN :by "
    "ELSE CAST(COALESCE(store_entries.value, '0') AS INTEGER) + :by END)"
)


MAX_KEY = 200  # the column holds 255; longer keys (a jwks_uri, a long jti) are hashed


def _k(key: str) -> str:
    if len(key) <= MAX_KEY:
        return key
    return "h:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _now_ms() -> int:
    # The wall clock, not gateway.clock: a TTL here must run out when Redis's would (Redis
    # counts on its own clock), so both stores behave alike whatever a test's clock says.
    return int(time.time() * 1000)


def _guard(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except OperationalError as exc:
            raise StoreUnavailableError(f"sql store: {exc.__class__.__name__}") from exc

    return wrapper


class SqlStore:
    def __init__(self, engine_getter):
        self._engine_getter = engine_getter

    @property
    def engine(self):
        return self._engine_getter()

    def _begin(self):
        return self._engine_getter().begin()

    def close(self) -> None:
        """Close the pooled connections (the next operation opens new ones)."""
        self._engine_getter().dispose()

    @_guard
    def put(self, key, value, ttl, *, clear=()):
        now = _now_ms()
        with self._begin() as conn:
            for other in clear:
                conn.execute(text("DELETE FROM store_entries WHERE key = :k"), {"k": _k(other)})
            conn.execute(
                text(
                    "INSERT INTO store_entries (key, value, counter, expires_at) "
                    "VALUES (:k, :v, 0, :e) ON CONFLICT (key) DO UPDATE "
                    "SET value = excluded.value, counter = 0, expires_at = excluded.expires_at"
                ),
                {"k": _k(key), "v": value, "e": now + ttl * 1000},
            )
            self._maybe_sweep(conn, now)

    @_guard
    def add(self, key, value, ttl):
        now = _now_ms()
        with self._begin() as conn:
            conn.execute(
                text("DELETE FROM store_entries WHERE key = :k AND expires_at <= :n"),
                {"k": _k(key), "n": now},
            )
            row = conn.execute(
                text(
                    "INSERT INTO store_entries (key, value, counter, expires_at) "
                    "VALUES (:k, :v, 0, :e) ON CONFLICT (key) DO NOTHING RETURNING key"
                ),
                {"k": _k(key), "v": value, "e": now + ttl * 1000},
            ).first()
            self._maybe_sweep(conn, now)
            return row is not None

    def add_get(self, key, value, ttl, others=()):
        # Two statements; the embedded store has no network to save.
        return self.add(key, value, ttl), (self.get_many(list(others)) if others else [])

    @_guard
    def get(self, key):
        with self._begin() as conn:
            row = conn.execute(
                text("SELECT value FROM store_entries WHERE key = :k AND expires_at > :n"),
                {"k": _k(key), "n": _now_ms()},
            ).first()
        return row[0] if row else None

    @_guard
    def get_many(self, keys):
        if not keys:
            return []
        params = {f"k{i}": _k(k) for i, k in enumerate(keys)}
        names = ", ".join(f":k{i}" for i in range(len(keys)))
        with self._begin() as conn:
            rows = conn.execute(
                text(
                    f"SELECT key, value FROM store_entries WHERE key IN ({names}) "  # noqa: S608
                    "AND expires_at > :n"
                ),
                {**params, "n": _now_ms()},
            ).all()
        found = dict(rows)
        return [found.get(_k(k)) for k in keys]

    @_guard
    def take(self, key, *also):
        with self._begin() as conn:
            row = conn.execute(
                text("DELETE FROM store_entries WHERE key = :k RETURNING value, expires_at"),
                {"k": _k(key)},
            ).first()
            for other in also:
                conn.execute(text("DELETE FROM store_entries WHERE key = :k"), {"k": _k(other)})
        if row is None or row[1] <= _now_ms():
            return None
        return row[0]

    @_guard
    def delete(self, *keys):
        if not keys:
            return
        with self._begin() as conn:
            for key in keys:
                conn.execute(text("DELETE FROM store_entries WHERE key = :k"), {"k": _k(key)})

    @_guard
    def incr(self, key, ttl, by=1):
        with self._begin() as conn:
            return self._incr(conn, key, ttl, by, _now_ms())

    @staticmethod
    def _incr(conn, key, ttl, by, now):
        row = conn.execute(
            text(
                "INSERT INTO store_entries (key, value, counter, expires_at) "  # noqa: S608
                "VALUES (:k, CAST(:by AS TEXT), :by, :e) ON CONFLICT (key) DO UPDATE SET "
                f"counter = {_NEXT}, value = CAST({_NEXT} AS TEXT), "
                "expires_at = CASE WHEN store_entries.expires_at <= :n THEN :e "
                "ELSE store_entries.expires_at END "
                "RETURNING counter"
            ),
            {"k": _k(key), "n": now, "e": now + ttl * 1000, "by": int(by)},
        ).first()
        return int(row[0])

    def incr_get(self, key, ttl, other):
        # Two statements, one client round trip's worth of work for the caller; the
        # embedded store has no network to save.
        return self.incr(key, ttl), self.get(other)

    @_guard
    def incr_many(self, items, others=(), *, deletes=()):
        # One short transaction: the reads come after the deletions and increments, as on
        # Redis.
        now = _now_ms()
        with self._begin() as conn:
            for key in deletes:
                conn.execute(text("DELETE FROM store_entries WHERE key = :k"), {"k": _k(key)})
            counts = [self._incr(conn, item[0], item[1], (*item, 1)[2], now) for item in items]
        return counts, (self.get_many(list(others)) if others else [])

    _BATCHED = frozenset({"add", "put", "get", "get_many", "take", "delete", "incr_many"})

    def batch(self, ops):
        # Each operation in its own short transaction, in order: the contract promises no
        # isolation between them, and the embedded store has no network to save.
        for name, _, _ in ops:
            if name not in self._BATCHED:
                raise ValueError(f"batch: no operation {name!r}")
        return [getattr(self, name)(*args, **kwargs) for name, args, kwargs in ops]

    @_guard
    def ping(self):
        with self._begin() as conn:
            conn.execute(text("SELECT 1"))

    @staticmethod
    def _maybe_sweep(conn, now):
        if random.random() < _SWEEP_PROBABILITY:
            conn.execute(text("DELETE FROM store_entries WHERE expires_at <= :n"), {"n": now})
