"""One small interface for ephemeral and hot state: flows, one-time values, counters,
revocation look-ups.

Production keeps it in Redis; the embedded default keeps it in the SQL database. Both honour
the same contract (tests/unit/gateway/test_store.py runs against each):

* ``put(key, value, ttl, clear=())``  set, replacing any value, and delete ``clear`` (keys
                                of ``key``'s hash tag) in the same round trip
* ``add(key, value, ttl)``      set only if absent; True when this call set it
* ``add_get(key, value, ttl, others)``  add, then read ``others`` (``key`` among them, if
                                asked: its value now) in one round trip when they share
                                ``key``'s slot; (added, values)
* ``get(key)``                  the live value or None
* ``get_many(keys)``            live values, None where absent (one round trip)
* ``take(key, *also)``          get and delete in one atomic step (one winner among racers),
                                and delete ``also`` in the same round trip (clean-up)
* ``delete(*keys)``
* ``incr(key, ttl, by=1)``      atomic counter; the ttl starts at the first increment
* ``incr_get(key, ttl, other)``  incr, and read `other` in the same round trip
* ``incr_many(items, others, deletes=())``  delete ``deletes``, incr each ``(key, ttl)``
                                or ``(key, ttl, by)`` in order, then read ``others``, in
                                one round trip: each step atomic, no isolation between them
* ``batch(ops)``                 several of ``add/put/get/get_many/take/delete/incr_many``,
                                each ``(name, args, kwargs)``, in order and in one round trip
                                (one pipeline; on a Cluster one call each): each operation
                                atomic as on its own, no isolation between them; their
                                answers, in order
* ``ping()``

Keys that one atomic operation touches together (``incr_get``) share a Redis hash tag
(``{…}``), so they live in one Redis Cluster slot; ``get_many``, ``delete`` and
``incr_many`` accept keys of any slots (no isolation is promised between them).

Exceptions::

    StoreUnavailableError   the backing service cannot be reached; callers fail closed (503).
                            Defined in gateway/availability.py with the database's outages:
                            not a domain error (gateway/errors.py says why).
"""

from __future__ import annotations

from typing import Protocol


class Store(Protocol):
    def put(self, key: str, value: str, ttl: int, *, clear: list[str] = ()) -> None: ...
    def add(self, key: str, value: str, ttl: int) -> bool: ...
    def add_get(self, key: str, value: str, ttl: int,
                others: list[str] = ()) -> tuple[bool, list[str | None]]: ...
    def get(self, key: str) -> str | None: ...
    def get_many(self, keys: list[str]) -> list[str | None]: ...
    def take(self, key: str, *also: str) -> str | None: ...
    def delete(self, *keys: str) -> None: ...
    def incr(self, key: str, ttl: int, by: int = 1) -> int: ...
    def incr_get(self, key: str, ttl: int, other: str) -> tuple[int, str | None]: ...
    def incr_many(self, items: list[tuple], others: list[str] = (), *,
                  deletes: list[str] = ()) -> tuple[list[int], list[str | None]]: ...
    def batch(self, ops: list[tuple[str, tuple, dict]]) -> list: ...
    def ping(self) -> None: ...


def create_store(redis_url: str, engine_getter, prefix: str = "", *, wait_replicas: int = 0,
                 wait_ms: int = 200) -> Store:
    """Redis (one server, Sentinel or Cluster: gateway/store/redis_urls.py) when `redis_url`
    is set; the SQL store otherwise (one database: no replica to wait for)."""
    if redis_url:
        from gateway.store.redis_store import RedisStore

        return RedisStore.from_url(redis_url, prefix, wait_replicas=wait_replicas,
                                   wait_ms=wait_ms)
    from gateway.store.sql_store import SqlStore

    return SqlStore(engine_getter)
