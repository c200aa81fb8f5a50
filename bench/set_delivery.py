"""`python -m bench.set_delivery`: Security Event Tokens delivered per second through the
outbox to a Shared Signals receiver on loopback, against signing and posting the same SETs
directly (no outbox), in one run.

A fresh PostgreSQL database (created here and dropped at the end; the shared Redis only under
a key prefix of its own, never flushed), everything in this process. One account, one portal
client with a stream (all CAEP events) whose receiver — a ThreadingHTTPServer on 127.0.0.1 —
reads each SET and answers 202 after --latency-ms. Each case gets N `credential-change` SETs
queued the way the gateway queues them (gateway.oidc.ssf.signal, committed in batches), then
is timed until all N are delivered:

  direct       sign each SET and POST it, one after the other, no outbox: the floor of
               the work (minting, signing, HTTP) without claiming, sealing or recording
  loop         deliver_pending(limit=100) until nothing is pending (`outbox deliver`, the
               sweep's batched claim)
  worker c=1   one delivery job per SET (what N requests defer), one worker, concurrency 1
  worker c=4   the same, four jobs at once

Prints SETs per second and the ratio to `direct`, with the load average before and after (the
machine is shared). Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import secrets
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import func, select

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"


@contextmanager
def database(pg_admin: str):
    import psycopg

    name = f"gateway_bench_{secrets.token_hex(4)}"
    with psycopg.connect(pg_admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    prefix = pg_admin.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{prefix}/{name}"
    finally:
        with psycopg.connect(pg_admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def receiver(latency: float):
    """A push endpoint (RFC 8935): reads the SET, waits ``latency`` seconds, answers 202."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 — the standard library's name
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            if latency:
                time.sleep(latency)
            self.send_response(202)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/events", received
    finally:
        httpd.shutdown()
        thread.join(5)


def _prepare(app, endpoint: str) -> tuple[int, str]:
    from gateway.extensions import db
    from gateway.models import SsfSubject
    from gateway.oidc.keys import ensure_signing_key
    from gateway.services.accounts import create_account
    from gateway.services.clients import create_client
    from gateway.services.ssf_streams import EVENTS_SUPPORTED, PUSH, create_stream

    with app.app_context():
        ensure_signing_key()
        account = create_account(bhxh="0123456789", name="Nguyễn Văn An", dob="1985-04-12",
                                 phone="0912345623", password=None, level=2, via="bench")
        client, _ = create_client(name="bench portal", type="web",
                                  redirect_uris=["https://portal.example.vn/cb"],
                                  scopes=["openid", "ssf.manage"])
        db.session.commit()
        stream = create_stream(client.client_id, {
            "delivery": {"method": PUSH, "endpoint_url": endpoint},
            "events_requested": list(EVENTS_SUPPORTED)})
        db.session.add(SsfSubject(stream_id=stream.id, account_id=account.id, included=True,
                                  updated_at=stream.created_at))
        db.session.commit()
        return account.id, stream.stream_id


def _enqueue(app, account_id: int, n: int) -> list[str]:
    from gateway.extensions import db
    from gateway.models import OutboxMessage
    from gateway.oidc import ssf
    from gateway.services.ssf_streams import CREDENTIAL_CHANGE

    with app.app_context():
        start = db.session.scalar(select(func.coalesce(func.max(OutboxMessage.id), 0)))
        for i in range(n):
            ssf.signal(account_id, CREDENTIAL_CHANGE,
                       {"credential_type": "password", "change_type": "update"})
            if i % 500 == 499:
                db.session.commit()
        db.session.commit()
        keys = db.session.scalars(select(OutboxMessage.message_key)
                                  .where(OutboxMessage.id > start).order_by(OutboxMessage.id))
        return [bytes(key).hex() for key in keys]


def _pending(app) -> int:
    from gateway.extensions import db
    from gateway.models import OutboxMessage

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.next_attempt_at.is_not(None)))


def _direct(app, account_id: int, stream_id: str, endpoint: str, n: int) -> None:
    """The same SETs minted, signed and posted in a loop, without the outbox."""
    import requests

    from gateway.extensions import db
    from gateway.models import Account, SsfStream
    from gateway.oidc import ssf
    from gateway.services.ssf_streams import CREDENTIAL_CHANGE

    with app.app_context():
        stream = db.session.query(SsfStream).filter_by(stream_id=stream_id).one()
        sub = db.session.get(Account, account_id).sub
        sub_id = {"format": "iss_sub", "iss": app.config["ISSUER"], "sub": sub}
        with requests.Session() as http:
            for _ in range(n):
                payload = {"jti": secrets.token_urlsafe(16), "txn": secrets.token_urlsafe(12),
                           "event": CREDENTIAL_CHANGE,
                           "fields": {"credential_type": "password", "change_type": "update"}}
                token = ssf.security_event_token(stream, payload, sub_id)
                answer = http.post(endpoint, data=token.encode(), timeout=5,
                                   headers={"Content-Type": ssf.CONTENT_TYPE})
                answer.raise_for_status()


def _loop(app) -> None:
    from gateway.services.outbox import deliver_pending

    with app.app_context():
        while deliver_pending(limit=100)["pending"]:
            pass


def _worker(app, concurrency: int) -> None:
    from gateway.jobs import worker

    queue = worker.build(app, concurrency=concurrency)
    queue.periodic_registry.periodic_tasks.clear()
    queue.run_worker(**worker.options(app, concurrency=concurrency, wait=False,
                                      install_signal_handlers=False))


def run_cases(app, endpoint: str, received: list, n: int) -> list[tuple]:
    from gateway.jobs.queue import DELIVER, queue_of

    account_id, stream_id = _prepare(app, endpoint)
    queue = queue_of(app)
    results = []
    for case, concurrency in (("direct", 0), ("loop", 0), ("worker c=1", 1),
                              ("worker c=4", 4)):
        keys = [] if case == "direct" else _enqueue(app, account_id, n)
        if concurrency:
            with app.app_context():
                for key in keys:
                    queue.defer(DELIVER, keys=[key])
        before = len(received)
        t0 = time.perf_counter()
        if case == "direct":
            _direct(app, account_id, stream_id, endpoint, n)
        elif concurrency:
            _worker(app, concurrency)
        else:
            _loop(app)
        elapsed = time.perf_counter() - t0
        results.append((case, n / elapsed, elapsed, len(received) - before, _pending(app)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", type=int, default=500, help="SETs per case")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="how long the receiver takes to answer 202")
    parser.add_argument("--pg-admin", default=PG_ADMIN)
    parser.add_argument("--redis-url", default=REDIS_URL)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from gateway import create_app

    load_before = os.getloadavg()
    with database(args.pg_admin) as url, receiver(args.latency_ms / 1000) as (endpoint, got):
        app = create_app({"DATABASE_URL": url, "REDIS_URL": args.redis_url,
                          "REDIS_KEY_PREFIX": f"bench{secrets.token_hex(4)}:",
                          "LOG_LEVEL": "WARNING", "ISSUER": "http://127.0.0.1:8000"})
        with app.app_context():
            upgrade()
        results = run_cases(app, endpoint, got, args.sets)
    load_after = os.getloadavg()
    base = results[0][1]
    print(f"SET delivery — {args.sets} SETs per case, receiver answering 202 after "
          f"{args.latency_ms:g} ms, {os.cpu_count()} CPUs")
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} "
          f"{load_before[2]:.2f}, after {load_after[0]:.2f} {load_after[1]:.2f} "
          f"{load_after[2]:.2f}")
    print(f"  {'case':<12} {'SETs/s':>9} {'x direct':>9} {'seconds':>8} {'received':>9} "
          f"{'left':>5}")
    for case, rate, elapsed, count, left in results:
        print(f"  {case:<12} {rate:9.1f} {rate / base:9.2f} {elapsed:8.2f} {count:9d} "
              f"{left:5d}")


if __name__ == "__main__":
    main()
