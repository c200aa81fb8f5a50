"""The store on Redis. Each operation is one command or one MULTI block: atomic by itself."""

from __future__ import annotations

import functools

import redis

from gateway.availability import StoreUnavailableError


def _guard(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailableError(f"redis: {exc.__class__.__name__}") from exc

    return wrapper


class RedisStore:
    """`prefix` namespaces every key, so several gateways (or test runs) can share a Redis.

    It goes before the key, outside any `{hash tag}`, so one account's keys stay in one slot.
    """

    def __init__(self, client: redis.Redis, prefix: str = ""):
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "") -> RedisStore:
        return cls(
            redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
            ),
            prefix,
        )

    @_guard
    def put(self, key, value, ttl):
        self.client.set(self.prefix + key, value, ex=ttl)

    @_guard
    def add(self, key, value, ttl):
        return bool(self.client.set(self.prefix + key, value, ex=ttl, nx=True))

    @_guard
    def get(self, key):
        return self.client.get(self.prefix + key)

    @_guard
    def get_many(self, keys):
        return list(self.client.mget([self.prefix + k for k in keys])) if keys else []

    @_guard
    def take(self, key):
        return self.client.getdel(self.prefix + key)

    @_guard
    def delete(self, *keys):
        if keys:
            self.client.delete(*(self.prefix + k for k in keys))

    @_guard
    def incr(self, key, ttl, by=1):
        pipe = self.client.pipeline(transaction=True)
        pipe.incrby(self.prefix + key, by)
        pipe.expire(self.prefix + key, ttl, nx=True)
        count, _ = pipe.execute()
        return int(count)

    @_guard
    def incr_get(self, key, ttl, other):
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, ttl, nx=True)
        pipe.get(self.prefix + other)
        count, _, value = pipe.execute()
        return int(count), value

    @_guard
    def incr_many(self, items, others=()):
        # Not one MULTI: the keys may live in different hash slots (an account's and an
        # address's). Redis runs one connection's commands in order, so each read of
        # `others` sees every increment before it.
        pipe = self.client.pipeline(transaction=False)
        for key, ttl in items:
            pipe.incr(self.prefix + key)
            pipe.expire(self.prefix + key, ttl, nx=True)
        for other in others:
            pipe.get(self.prefix + other)
        answers = pipe.execute()
        counts = [int(answers[2 * i]) for i in range(len(items))]
        return counts, list(answers[2 * len(items):])

    def clear(self) -> None:
        """Deletes this prefix's keys (tests and the bench); refuses without a prefix."""
        if not self.prefix:
            raise RuntimeError("refusing to clear an unprefixed Redis store")
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        for start in range(0, len(keys), 500):
            self.client.delete(*keys[start:start + 500])

    @_guard
    def ping(self):
        self.client.ping()
