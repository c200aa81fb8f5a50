"""`python -m bench.queue_throughput`: messages delivered per second by one worker of the task
queue (procrastinate on PostgreSQL) against the `outbox deliver` loop it replaces, in one run.

A fresh PostgreSQL database (bench/server.py, backend "production"), everything in this
process, with two SMS providers in turn: ``file`` (one fsynced JSON line per message, as in
development and the tests) and ``http`` (the production provider, posting to an SMS gateway
simulated on 127.0.0.1 that answers 200 after --latency-ms, as a real one takes its time).
Each case gets its own N messages in the outbox, then is timed until all N are delivered:

  loop         deliver_pending(limit=100) until nothing is pending: `flask --app wsgi outbox
               deliver` run back to back (what "run it from cron" amounted to, without cron's
               minute between runs)
  worker c=1   one delivery job per message (N requests defer one each), one worker with
               concurrency 1, run until the queue is empty (its start-up included)
  worker c=4   the same, concurrency 4 (four jobs at once, in threads)
  sweep job    a single gateway.outbox.sweep job, one worker: the batched path through the queue

The workers' periodic jobs are left out (their registry is emptied before they start), so that
a sweep does not deliver what the per-message jobs are timed on. Prints messages per second,
the ratio to the loop, and SQL statements per message. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import version

from sqlalchemy import event, func, select

from bench import server


def _enqueue(app, n: int, offset: int) -> list[str]:
    from gateway.extensions import db
    from gateway.services.outbox import enqueue_sms

    keys = []
    with app.app_context():
        for i in range(n):
            message = enqueue_sms(f"0912{offset + i:06d}", "password_changed", {})
            keys.append(message.message_key)
            if i % 500 == 499:
                db.session.commit()
        db.session.commit()
    return [bytes(key).hex() for key in keys]


def _pending(app) -> int:
    from gateway.extensions import db
    from gateway.models import OutboxMessage

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.next_attempt_at.is_not(None)))


class Statements:
    def __init__(self, app):
        from gateway.extensions import db

        self.count = 0
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._add)

    def _add(self, *_args, **_kwargs):
        self.count += 1


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


@contextmanager
def sms_gateway(latency: float):
    """An SMS gateway on loopback: reads the message, waits ``latency`` seconds, answers 200."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 — the standard library's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            time.sleep(latency)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/sms"
    finally:
        httpd.shutdown()
        thread.join(5)


def run_cases(app, n: int, offset: int) -> list[tuple]:
    from gateway.jobs.queue import DELIVER, SWEEP, queue_of

    statements = Statements(app)
    queue = queue_of(app)
    results = []
    for number, (case, prepare, concurrency) in enumerate([
        ("loop", None, 0), ("worker c=1", "jobs", 1), ("worker c=4", "jobs", 4),
        ("sweep job", "sweep", 1),
    ]):
        keys = _enqueue(app, n, offset=offset + number * n)
        with app.app_context():
            if prepare == "jobs":
                for key in keys:
                    queue.defer(DELIVER, keys=[key])
            elif prepare == "sweep":
                queue.defer(SWEEP, timestamp=int(time.time()))
        before = statements.count
        t0 = time.perf_counter()
        if prepare:
            _worker(app, concurrency)
        else:
            _loop(app)
        elapsed = time.perf_counter() - t0
        results.append((case, n / elapsed, (statements.count - before) / n, elapsed,
                        _pending(app)))
    return results


def print_results(title: str, results: list[tuple]) -> None:
    base = results[0][1]
    print(f"\n{title}")
    print(f"  {'case':<12} {'messages/s':>11} {'x loop':>7} {'SQL/msg':>8} {'seconds':>8} "
          f"{'left':>5}")
    for case, rate, sql, elapsed, left in results:
        print(f"  {case:<12} {rate:11.1f} {rate / base:7.2f} {sql:8.1f} {elapsed:8.2f} "
              f"{left:5d}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=500, help="messages per case")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="how long the simulated SMS gateway takes to answer (http)")
    parser.add_argument("--pg-admin", default=server.PG_ADMIN)
    parser.add_argument("--redis-url", default=server.REDIS_URL)
    args = parser.parse_args()
    n = args.messages

    from flask_migrate import upgrade

    from gateway import create_app

    print(f"queue throughput — procrastinate {version('procrastinate')}, {n} messages per case, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}")
    with server.backend("production", pg_admin=args.pg_admin, redis_url=args.redis_url) as be, \
            sms_gateway(args.latency_ms / 1000) as sms_url:
        print(f"backend: {be.description}")
        settings = {**be.settings, "LOG_LEVEL": "WARNING"}
        app = create_app(settings)
        with app.app_context():
            upgrade()
        file_results = run_cases(app, n, offset=0)
        app = create_app({**settings, "SMS_PROVIDER": "http", "SMS_HTTP_URL": sms_url,
                          "SMS_HTTP_TOKEN": "bench"})
        http_results = run_cases(app, n, offset=4 * n)
    print_results("provider: file (fsync per message)", file_results)
    print_results(f"provider: http, gateway answering after {args.latency_ms:g} ms",
                  http_results)
    print("\n  one worker = one process; c = jobs at once in it. SQL/msg counts the gateway's "
          "own\n  statements (claim, send, record), not procrastinate's (fetch, finish).")


if __name__ == "__main__":
    main()
