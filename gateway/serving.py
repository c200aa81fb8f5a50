"""How the gateway is served: the production WSGI server and its options, for `make run`, for
production (`python -m gateway.serving`) and for the benchmark (bench/server.py).

granian (its WSGI interface) is the server: chosen by measurement against gunicorn (gthread)
and werkzeug (docs/operations.md, "Serving", has the figures and the reasons): the same
requests cost the server's core less CPU, its HTTP runs in Rust outside the GIL. gunicorn
stays runnable here (``run_gunicorn``) so the benchmark can compare again; it is not a
dependency (``pip install -e '.[bench]'``).

Processes and threads come from the cores this process may run on and from the backend:

* PostgreSQL (production): one worker process per core, ``THREADS`` threads each. A thread
  waits on PostgreSQL, Redis or an upstream (VNeID) most of its time; the GIL makes more
  threads than that buy nothing but queueing inside the process.
* the embedded default (SQLite, no Redis): ONE process with ``4 × cores`` threads (at least 8).
  SQLite has one writer at a time whatever the process count (WAL, busy_timeout 30 s: several
  processes would be correct, only slower to wait), and on the embedded default the web
  process itself delivers the outbox after each answer (gateway/deferred.py), which a second
  process would do beside it. Threads, not one: a VNeID sign-in makes the gateway call the
  offline sandbox it serves itself, so two requests must be served at once.

Nothing here imports the app: the servers import ``wsgi:app`` in their worker, after the fork.
"""

from __future__ import annotations

import argparse
import os
import sys

THREADS = 8  # per worker process on PostgreSQL
GRACEFUL_TIMEOUT = 30  # s: on SIGTERM, requests in flight get this long to finish
HEADER_READ_TIMEOUT = 30  # s: a client that sends no complete request head is dropped
WORKERS_MAX_RSS = 1024  # MiB: a worker above this is replaced gracefully (a slow leak)
# gunicorn, for the benchmark's comparison only:
KEEPALIVE = 75  # s: longer than a reverse proxy's upstream idle timeout (nginx: 60 s)
TIMEOUT = 60  # s: a worker silent for this long is killed and replaced (a stuck request)
MAX_REQUESTS = 20_000  # a worker is replaced after this many requests (± jitter)
MAX_REQUESTS_JITTER = 2_000


def cores() -> int:
    """The cores this process may run on (a container's CPU set, a `taskset`)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def embedded(environ=None) -> bool:
    """True for the embedded default: no GATEWAY_DATABASE_URL, or a SQLite one."""
    environ = os.environ if environ is None else environ
    url = environ.get("GATEWAY_DATABASE_URL", "")
    return url == "" or url.startswith("sqlite")


def layout(environ=None, ncores: int | None = None) -> tuple[int, int]:
    """(worker processes, threads per process) for this backend and core count; the
    settings WORKERS and THREADS (GATEWAY_WORKERS, GATEWAY_THREADS; 0 = from the cores,
    config/defaults.py) may set either. Read from the environment: this runs before any app
    exists, in the process that starts the workers."""
    environ = os.environ if environ is None else environ
    ncores = ncores or cores()
    if embedded(environ):
        workers, threads = 1, max(8, 4 * ncores)
    else:
        workers, threads = ncores, THREADS
    try:
        workers = int(environ.get("GATEWAY_WORKERS") or 0) or workers  # 0: from the cores
        threads = int(environ.get("GATEWAY_THREADS") or 0) or threads
    except ValueError:
        raise SystemExit("serving: GATEWAY_WORKERS and GATEWAY_THREADS are numbers") from None
    if workers < 1 or threads < 1:
        raise SystemExit("serving: GATEWAY_WORKERS and GATEWAY_THREADS must be 0 or more")
    if workers > 1 and embedded(environ):
        raise SystemExit("serving: the embedded default (SQLite) is served by one process; "
                         "use GATEWAY_THREADS, or PostgreSQL for several processes")
    return workers, threads


def gunicorn_options(*, bind: str, workers: int, threads: int, accesslog: bool = True,
                     forwarded_allow_ips: str = "") -> dict:
    """gunicorn's settings (https://docs.gunicorn.org/en/stable/settings.html).

    ``forwarded_allow_ips`` is empty: gunicorn itself reads no X-Forwarded-* header; the
    gateway's ProxyFix does, for as many proxies as GATEWAY_TRUSTED_PROXIES says (one
    place decides which forwarded address is trusted, whatever the server)."""
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": KEEPALIVE,
        "timeout": TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "max_requests": MAX_REQUESTS,
        "max_requests_jitter": MAX_REQUESTS_JITTER,
        "forwarded_allow_ips": forwarded_allow_ips,
        "accesslog": "-" if accesslog else None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "vssid-gateway",
    }


def run_gunicorn(target: str, **kwargs) -> None:
    """Serve ``target`` ("module:app" or "module:factory()") until SIGTERM/SIGINT (the
    benchmark's comparison: ``python -m bench --server gunicorn``)."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.util import import_app

    options = gunicorn_options(**kwargs)

    class Application(BaseApplication):
        def load_config(self):
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return import_app(target)

    Application().run()


def run_granian(target: str, *, port: int, workers: int, threads: int, factory: bool = False,
                address: str = "127.0.0.1", access_log: bool = False) -> None:
    """Serve ``target`` ("module:app", or a factory) with granian's WSGI interface until
    SIGTERM/SIGINT (https://github.com/emmett-framework/granian, `granian --help`).

    * ``blocking_threads``: the Python threads that run requests in each worker.
      ``backpressure`` stays granian's default (backlog ÷ workers = 1024): a kept-alive
      connection holds its permit while idle, so a backpressure near the thread count
      leaves new connections waiting for an idle one to close (measured: the benchmark's
      12 connections against 8 permits waited 30 s, docs/operations.md).
    * keep-alive on (HTTP/1.1), a request head must arrive within HEADER_READ_TIMEOUT.
    * on SIGTERM the workers stop accepting and finish what they run, for at most
      GRACEFUL_TIMEOUT; a worker that dies is started again; one whose memory grows above
      WORKERS_MAX_RSS is replaced gracefully.
    * no X-Forwarded-* handling here: the gateway's ProxyFix reads them, for as many
      proxies as GATEWAY_TRUSTED_PROXIES says (one place decides which address is trusted).
    """
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.server import Server

    Server(target, address=address, port=port, interface=Interfaces.WSGI, workers=workers,
           blocking_threads=threads, factory=factory,
           http1_settings=HTTP1Settings(header_read_timeout=HEADER_READ_TIMEOUT * 1000,
                                        keep_alive=True),
           log_access=access_log, respawn_failed_workers=True,
           workers_max_rss=WORKERS_MAX_RSS, workers_kill_timeout=GRACEFUL_TIMEOUT).serve()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.serving",
        description="Serve the gateway (wsgi:app) with granian's WSGI interface. Processes "
                    "and threads come from the cores and the backend (one process on the "
                    "embedded SQLite default); GATEWAY_WORKERS / GATEWAY_THREADS override.")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000,
                        help="port to listen on (default: %(default)s)")
    parser.add_argument("--access-log", action="store_true",
                        help="write one line per request (the reverse proxy usually does)")
    args = parser.parse_args(argv)
    workers, threads = layout()
    print(f"serving: granian (WSGI) on {args.host}:{args.port}, {workers} process(es) × "
          f"{threads} threads ({'embedded SQLite' if embedded() else 'PostgreSQL'}, "
          f"{cores()} cores)", file=sys.stderr, flush=True)
    run_granian("wsgi:app", address=args.host, port=args.port, workers=workers,
                threads=threads, access_log=args.access_log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
