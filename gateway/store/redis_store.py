"""The store on Redis. Each operation is one command or one MULTI block: atomic by itself."""

from __future__ import annotations

import functools

import redis

from gateway.store import StoreUnavailableError


def _guard(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except redis.exceptions.RedisError as exc:
            raise StoreUnavailableError(f"redis: {exc.__class__.__name__}") from exc

    return wrapper


class RedisStore:
    def __init__(self, client: redis.Redis):
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> RedisStore:
        return cls(
            redis.Redis.from_url(
                url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2
            )
        )

    @_guard
    def put(self, key, value, ttl):
        self.client.set(key, value, ex=ttl)

    @_guard
    def add(self, key, value, ttl):
        return bool(self.client.set(key, value, ex=ttl, nx=True))

    @_guard
    def get(self, key):
        return self.client.get(key)

    @_guard
    def get_many(self, keys):
        return list(self.client.mget(keys)) if keys else []

    @_guard
    def take(self, key):
        return self.client.getdel(key)

    @_guard
    def delete(self, *keys):
        if keys:
            self.client.delete(*keys)

    @_guard
    def incr(self, key, ttl):
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, ttl, nx=True)
        count, _ = pipe.execute()
        return int(count)

    @_guard
    def ping(self):
        self.client.ping()
