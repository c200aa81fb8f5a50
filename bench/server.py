"""The server side of the benchmark: backends, test data, the Argon2id floor and the server.

Everything that runs on the server's core lives here and is started in a fresh (spawned)
process, so no load-generator thread ever shares its interpreter or its core:

* ``measure_floor`` — Argon2id verifications per second, alone on the core;
* ``serve``         — the gateway app under the production server (granian's WSGI, as
  ``make run`` and docs/operations.md; ``--server gunicorn|werkzeug`` for comparison), one
  worker process, plus a counter of store operations and SQL statements (in all and per
  endpoint) exposed at ``/_bench/stats`` (the only addition to the app, made here, not in
  gateway/).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

PG_ADMIN = os.environ.get("GATEWAY_BENCH_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("GATEWAY_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
PASSWORD = "Mật-khẩu-đo-tải-2026"
REDIRECT_URI = "https://portal.example.vn/callback"
APP_REDIRECT_URI = "https://app.vssid.example.vn/callback"  # registered, never used: the app
# signs in at the challenge endpoint, where no redirect happens
STORE_METHODS = ("put", "add", "add_get", "get", "get_many", "take", "delete", "incr",
                 "incr_get", "incr_many", "batch", "ping")


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
        # device_takeover sends an OTP per operation, thousands a day to one account and one
        # number: the daily caps (10 by default) would refuse all but the first ten.
        "OTP_DAILY_CAP_ACCOUNT": 1_000_000,
        "OTP_DAILY_CAP_PHONE": 1_000_000,
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
    # Its own key prefix, and only its own keys removed at the end: several benchmark runs
    # (other sessions on this machine) may share this Redis database, and a FLUSHDB of one
    # run would wipe the codes and flows of another in mid-flight.
    prefix_key = f"bench-{dbname}:"
    try:
        try:
            redis_version = rds.info("server")["redis_version"]
        except redis.RedisError as exc:
            raise SystemExit(f"bench: Redis is not reachable at {redis_url}: {exc} "
                             "(run `make services`)") from None
        prefix = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        settings = {**base, "DATABASE_URL": f"{prefix}/{dbname}", "REDIS_URL": redis_url,
                    "REDIS_KEY_PREFIX": prefix_key}
        yield Backend("production", settings,
                      f"PostgreSQL {version} (fresh database {dbname}) + Redis {redis_version} "
                      f"({redis_url}, keys {prefix_key}*)")
    finally:
        try:
            for key in rds.scan_iter(match=f"{prefix_key}*", count=1000):
                rds.delete(key)
        except redis.RedisError:
            pass
        rds.close()
        with psycopg.connect(pg_admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


# --- data -------------------------------------------------------------------------------


@dataclass
class Fixture:
    """What the load generator needs to know about the prepared data."""

    usernames: list[str]  # the "web" pool: browser logins
    password: str
    client_id: str
    client_secret: str
    redirect_uri: str
    service_id: str
    service_secret: str
    app_client_id: str = ""  # the first-party VssID app (public, DPoP)
    pools: dict[str, list[str]] = field(default_factory=dict)  # pool name -> login names
    phones: dict[str, str] = field(default_factory=dict)  # login name -> E.164 number
    sms_outbox: str = ""  # the file the SMS provider appends to (OTPs are read there)


def prepare(settings: dict, pools: dict[str, int]) -> Fixture:
    """Migrate the fresh database and create accounts and clients through gateway.services.

    ``pools`` maps a pool name to its number of accounts ("web" for browser logins, the
    device scenarios have their own, so one scenario never finds another's device bound).
    Pools of accounts, so logins do not all update one hot row; every account has its own
    phone number, so the OTP of a takeover can be found by number in the SMS outbox.

    One Argon2id hash of the shared password is computed and given to every account
    (``hash_password`` is patched for the duration): a login verifies it exactly as it would
    a hash of its own, and preparing a thousand accounts takes seconds, not a minute."""
    from flask_migrate import upgrade

    from gateway import create_app
    from gateway.crypto.password_hashing import hash_password
    from gateway.extensions import db
    from gateway.oidc.keys import ensure_signing_key
    from gateway.services import accounts as account_service
    from gateway.services.clients import create_client
    from policies.identifiers import parse_phone

    app = create_app(settings)
    shared_hash = hash_password(PASSWORD)
    with app.app_context(), mock.patch.object(account_service, "hash_password",
                                              lambda password: shared_hash):
        upgrade()
        ensure_signing_key()
        names: dict[str, list[str]] = {}
        phones: dict[str, str] = {}
        n = 0
        for pool, size in pools.items():
            names[pool] = []
            for _ in range(size):
                bhxh, phone = f"79{n:08d}", f"0912{n:06d}"
                account_service.create_account(
                    bhxh=bhxh, name=f"Người Đo Tải {n}", dob="1985-04-12", phone=phone,
                    password=PASSWORD, level=2, via="bench")
                names[pool].append(bhxh)
                phones[bhxh] = parse_phone(phone)
                n += 1
                if n % 200 == 0:
                    db.session.commit()
        web, web_secret = create_client(name="bench web", type="web",
                                        redirect_uris=[REDIRECT_URI])
        service, service_secret = create_client(name="bench service", type="service")
        app_client, _ = create_client(name="bench VssID app", type="app",
                                      redirect_uris=[APP_REDIRECT_URI])
        fixture = Fixture(names.get("web", []), PASSWORD, web.client_id, web_secret,
                          REDIRECT_URI, service.client_id, service_secret,
                          app_client_id=app_client.client_id, pools=names, phones=phones,
                          sms_outbox=settings["SMS_OUTBOX"])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    store = app.extensions["gateway.store"]
    if hasattr(store, "client"):
        store.client.close()
    if hasattr(store, "close"):  # the SQL store's own engine
        store.close()
    return fixture


# --- the floor --------------------------------------------------------------------------


def measure_floor(cpu: int, seconds: float, conn) -> None:
    """Process entry: Argon2id verifications per second on one core, nothing else running
    in this process. Sends (verifications, wall seconds, cpu seconds) through ``conn``."""
    pin(cpu)
    from gateway.crypto.password_hashing import hash_password, verify_password

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
    """Totals, and the same per request path (``by_path``: what each endpoint costs)."""

    NAMES = ("store_ops", "sql_statements", "sql_commits", "pool_checkouts")

    def __init__(self):
        self._lock = threading.Lock()
        self.values = dict.fromkeys(self.NAMES, 0)
        self.by_path: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(
            ("requests", *self.NAMES), 0))

    def add(self, name: str) -> None:
        from flask import has_request_context, request

        path = request.path if has_request_context() else None
        with self._lock:
            self.values[name] += 1
            if path is not None:
                self.by_path[path][name] += 1

    def request(self, path: str) -> None:
        with self._lock:
            self.by_path[path]["requests"] += 1

    def snapshot(self) -> dict:
        with self._lock:
            return {**self.values, "by_path": {p: dict(c) for p, c in self.by_path.items()}}


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
    from flask import jsonify, request
    from sqlalchemy import event

    from gateway.extensions import db

    counters = Counters()
    store = app.extensions["gateway.store"]
    app.extensions["gateway.store"] = CountingStore(store, counters)
    with app.app_context():
        engines = [db.engine]
    if getattr(store, "engine", None) is not None:  # the SQL store's own engine
        engines.append(store.engine)
    for engine in engines:
        event.listen(engine, "before_cursor_execute",
                     lambda *a, **k: counters.add("sql_statements"))
        event.listen(engine, "commit", lambda *a: counters.add("sql_commits"))
        event.listen(engine.pool, "checkout", lambda *a: counters.add("pool_checkouts"))

    @app.before_request
    def _count_request():
        if request.path != "/_bench/stats":
            counters.request(request.path)

    def stats():
        return jsonify(counters=counters.snapshot(), cpu_seconds=time.process_time(),
                       pid=os.getpid(), affinity=sorted(os.sched_getaffinity(0)))

    app.add_url_rule("/_bench/stats", "bench_stats", stats)
    return counters


SERVERS = ("granian", "gunicorn", "werkzeug")
SERVER_THREADS = 8  # per worker process: enough for the 6 load threads and the queue's calls
_SETTINGS_ENV = "GATEWAY_BENCH_SETTINGS"


def bench_app():
    """The app the production servers load in their worker process (a factory: gunicorn and
    granian import it there, after the fork or spawn), with the counters and the queue worker.
    Its settings come from the environment, as a server's worker inherits nothing else."""
    from gateway import create_app

    app = create_app(json.loads(os.environ[_SETTINGS_ENV]))
    instrument(app)
    _start_worker(app)
    return app


def server_version(name: str) -> str:
    from importlib.metadata import version

    return f"{name} {version(name)}"


def serve(settings: dict, port: int, cpu: int, server: str = "granian",
          threads: int = SERVER_THREADS) -> None:
    """Process entry: the gateway on 127.0.0.1:port, pinned to ``cpu``, until terminated.

    One worker process in all three cases (the figures are per core): gunicorn's master
    forks it, granian's spawns it; both inherit the pinning, and /_bench/stats reports the
    worker's own CPU time. Keep-alive on (werkzeug's server has none: it closes every
    connection after one response)."""
    pin(cpu)
    os.environ[_SETTINGS_ENV] = json.dumps(settings)
    if server == "gunicorn":
        from gateway.serving import run_gunicorn

        run_gunicorn("bench.server:bench_app()", bind=f"127.0.0.1:{port}", workers=1,
                     threads=threads, accesslog=False)
    elif server == "granian":
        from gateway.serving import run_granian

        run_granian("bench.server:bench_app", port=port, workers=1, threads=threads,
                    factory=True)
    elif server == "werkzeug":
        from werkzeug.serving import run_simple

        app = bench_app()
        # run_simple logs every request on the "werkzeug" logger at INFO; the gateway's
        # logging setup lowers it to WARNING, and so does this, so stderr writes are not
        # measured.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False,
                   use_debugger=False)
    else:
        raise ValueError(f"unknown server {server!r}")


def _start_worker(app) -> None:
    """On PostgreSQL the outbox (the takeover's OTP among it) is delivered by a worker of the
    task queue: one runs in this process, on the server's core, so its work is measured as
    the work done after each answer is on the embedded default."""
    from gateway.jobs import worker
    from gateway.jobs.queue import queue_of

    if queue_of(app) is not None:
        threading.Thread(target=worker.run, args=(app,), daemon=True, name="queue-worker",
                         kwargs={"concurrency": 2, "install_signal_handlers": False}).start()
