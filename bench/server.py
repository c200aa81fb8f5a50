"""The server side of the benchmark: backends, test data, the Argon2id floor and the server.

Everything that runs on the server's core lives here and is started in a fresh (spawned)
process, so no load-generator thread ever shares its interpreter or its core:

* ``measure_floor`` — Argon2id verifications per second, alone on the core;
* ``serve``         — the gateway app under werkzeug's threaded server, plus a counter of
  store operations and SQL statements exposed at ``/_bench/stats`` (the only addition to
  the app, made here, not in gateway/).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

PG_ADMIN = os.environ.get("GATEWAY_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PASSWORD = "Mật-khẩu-đo-tải-2026"
REDIRECT_URI = "https://portal.example.vn/callback"
STORE_METHODS = ("put", "add", "get", "get_many", "take", "delete", "incr", "ping")


def pin(cpu: int) -> None:
    """Pin this process (its current and future threads) to one core."""
    os.sched_setaffinity(0, {cpu})


# --- backends ---------------------------------------------------------------------------


@dataclass
class Backend:
    name: str
    settings: dict
    description: str


def _loopback_only(url: str) -> None:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise SystemExit(f"bench: {url!r} is not a loopback address; refusing to use it")


@contextmanager
def backend(name: str, *, pg_admin: str = PG_ADMIN, redis_url: str = REDIS_URL):
    """Settings for a fresh backend; everything the bench created is removed on exit."""
    workdir = tempfile.mkdtemp(prefix=f"gateway-bench-{name}-")
    base = {
        "SMS_OUTBOX": os.path.join(workdir, "sms-outbox.jsonl"),
        "LOG_LEVEL": "WARNING",
        "DEMO_ENABLED": False,
    }
    try:
        if name == "production":
            yield from _production(base, pg_admin, redis_url)
        elif name == "embedded":
            url = f"sqlite:///{os.path.join(workdir, 'gateway.sqlite3')}"
            yield Backend(name, {**base, "DATABASE_URL": url, "REDIS_URL": ""},
                          "SQLite (temporary file, WAL) + SQL store")
        else:
            raise ValueError(f"unknown backend {name!r}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _production(base: dict, pg_admin: str, redis_url: str):
    import psycopg
    import redis

    _loopback_only(pg_admin)
    _loopback_only(redis_url)
    dbname = f"gateway_bench_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(pg_admin, autocommit=True, connect_timeout=5) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            conn.execute(f'CREATE DATABASE "{dbname}"')
    except psycopg.OperationalError as exc:
        raise SystemExit(f"bench: PostgreSQL is not reachable at {pg_admin}: {exc} "
                         "(run `make services`)") from None
    rds = redis.Redis.from_url(redis_url, socket_connect_timeout=3)
    try:
        try:
            rds.flushdb()
            redis_version = rds.info("server")["redis_version"]
        except redis.RedisError as exc:
            raise SystemExit(f"bench: Redis is not reachable at {redis_url}: {exc} "
                             "(run `make services`)") from None
        prefix = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        settings = {**base, "DATABASE_URL": f"{prefix}/{dbname}", "REDIS_URL": redis_url}
        yield Backend("production", settings,
                      f"PostgreSQL {version} (fresh database {dbname}) + Redis {redis_version} "
                      f"({redis_url})")
    finally:
        try:
            rds.flushdb()
        except redis.RedisError:
            pass
        rds.close()
        with psycopg.connect(pg_admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


# --- data -------------------------------------------------------------------------------


@dataclass
class Fixture:
    """What the load generator needs to know about the prepared data."""

    usernames: list[str]
    password: str
    client_id: str
    client_secret: str
    redirect_uri: str
    service_id: str
    service_secret: str


def prepare(settings: dict, accounts: int) -> Fixture:
    """Migrate the fresh database and create accounts and clients through gateway.services.

    A pool of accounts, so logins do not all update one hot row."""
    from flask_migrate import upgrade

    from gateway import create_app
    from gateway.extensions import db
    from gateway.oidc.keys import ensure_signing_key
    from gateway.services.accounts import create_account
    from gateway.services.clients import create_client

    app = create_app(settings)
    with app.app_context():
        upgrade()
        ensure_signing_key()
        usernames = []
        for i in range(accounts):
            bhxh = f"79{i:08d}"
            create_account(bhxh=bhxh, name=f"Người Đo Tải {i}", dob="1985-04-12",
                           phone="0912345623", password=PASSWORD, level=2)
            usernames.append(bhxh)
        web, web_secret = create_client(name="bench web", type="web",
                                        redirect_uris=[REDIRECT_URI])
        service, service_secret = create_client(name="bench service", type="service")
        fixture = Fixture(usernames, PASSWORD, web.client_id, web_secret, REDIRECT_URI,
                          service.client_id, service_secret)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    store = app.extensions["gateway.store"]
    if hasattr(store, "client"):
        store.client.close()
    return fixture


# --- the floor --------------------------------------------------------------------------


def measure_floor(cpu: int, seconds: float, conn) -> None:
    """Process entry: Argon2id verifications per second on one core, nothing else running
    in this process. Sends (verifications, wall seconds, cpu seconds) through ``conn``."""
    pin(cpu)
    from gateway.methods.password_hashing import hash_password, verify_password

    stored = hash_password(PASSWORD)
    assert verify_password(stored, PASSWORD).ok
    count = 0
    cpu0, start = time.process_time(), time.perf_counter()
    while True:
        if not verify_password(stored, PASSWORD).ok:
            raise RuntimeError("verify_password refused the right password")
        count += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            break
    conn.send((count, elapsed, time.process_time() - cpu0))
    conn.close()


# --- the server -------------------------------------------------------------------------


class Counters:
    def __init__(self):
        self._lock = threading.Lock()
        self.values = {"store_ops": 0, "sql_statements": 0, "sql_commits": 0,
                       "pool_checkouts": 0}

    def add(self, name: str) -> None:
        with self._lock:
            self.values[name] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self.values)


class CountingStore:
    """The app's store, counting every operation (one operation = one Redis round trip)."""

    def __init__(self, inner, counters: Counters):
        self._inner = inner
        self._counters = counters

    def __getattr__(self, name):
        value = getattr(self._inner, name)
        if name not in STORE_METHODS:
            return value

        def counted(*args, **kwargs):
            self._counters.add("store_ops")
            return value(*args, **kwargs)

        return counted


def instrument(app) -> Counters:
    from flask import jsonify
    from sqlalchemy import event

    from gateway.extensions import db

    counters = Counters()
    app.extensions["gateway.store"] = CountingStore(app.extensions["gateway.store"], counters)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute",
                 lambda *a, **k: counters.add("sql_statements"))
    event.listen(engine, "commit", lambda *a: counters.add("sql_commits"))
    event.listen(engine.pool, "checkout", lambda *a: counters.add("pool_checkouts"))

    def stats():
        return jsonify(counters=counters.snapshot(), cpu_seconds=time.process_time(),
                       pid=os.getpid(), affinity=sorted(os.sched_getaffinity(0)))

    app.add_url_rule("/_bench/stats", "bench_stats", stats)
    return counters


def serve(settings: dict, port: int, cpu: int) -> None:
    """Process entry: the gateway on 127.0.0.1:port, pinned to ``cpu``, until terminated."""
    pin(cpu)
    from werkzeug.serving import run_simple

    from gateway import create_app

    app = create_app(settings)
    instrument(app)
    # run_simple logs every request on the "werkzeug" logger at INFO; the gateway's logging
    # setup lowers it to WARNING, and so does this, so stderr writes are not measured.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False, use_debugger=False)
