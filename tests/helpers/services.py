"""Reaching the real PostgreSQL and Redis on loopback; failing loudly when they are absent."""

from __future__ import annotations

import os
import secrets

import psycopg
import pytest
import redis

# Which backend this run tests (tests/conftest.py): "production" or "embedded".
BACKEND = os.environ.get("GATEWAY_TEST_BACKEND", "embedded")
PG_ADMIN = os.environ.get("GATEWAY_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("GATEWAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def fresh_postgres_database() -> str:
    name = f"gateway_test_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.exit(f"PostgreSQL is not reachable at {PG_ADMIN}: {exc}. "
                    "Run `make services` (or start it as ../shared/SERVICES.md says).", 3)
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    return f"{base}/{name}"


def drop_postgres_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        pytest.exit(f"Redis is not reachable at {REDIS_URL}: {exc}. Run `make services`.", 3)
    return REDIS_URL
