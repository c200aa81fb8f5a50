"""`python -m bench.soak`: many flows, then each race, repeated; every request timed.

Finds requests that *wait*, which a throughput benchmark averages away: a live server on
loopback (werkzeug's threaded server, as `make run` starts it), driven in rounds of

1. **flows** for ``--flow-seconds``: browser logins with the code exchange, refresh-token
   chains, app sign-ins of a bound device and app takeovers (OTP read from the SMS outbox),
   all at once, from ``--threads`` threads;
2. **race: refresh** — ``--racers`` concurrent ``POST /token`` of one refresh token;
3. **race: otp** — ``--racers`` concurrent submissions of one takeover OTP at
   ``/authorize-challenge``.

Every HTTP request is timed at the transport (connect to response headers; werkzeug sends
the headers once the app has built the whole response). The report gives, per phase and
per endpoint, the count, p50, p99 and maximum latency and how many took over ``--slow``
(2 s, the goal: none), the server's logged errors, and after each round the idle state of
its connection pools (a connection still checked out when nothing runs would be a leak).
When a request has been waiting longer than ``--dump-after``, the server process is sent
SIGUSR1 and writes every thread's stack (faulthandler); the report counts the threads by
where they wait and by the gateway frame that got them there: who waits on whom
(``--stacks FILE`` keeps the full dumps). Nothing is asserted; the race outcomes are
checked (one winner at most) and anything else is counted as unexpected.

Settings besides the backend's (bench.server.backend): ``ADDRESS_FAILURE_LIMIT`` is raised,
because every OTP race makes a few failures from 127.0.0.1 and the default (50 per 10 min)
would turn later rounds into 429s that measure nothing; the OTP daily caps are raised as in
the benchmark.
"""

from __future__ import annotations

import argparse
import itertools
import math
import multiprocessing
import os
import signal
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from bench import load, server

TIMEOUT = 90  # longer than SQLite's busy timeout (30 s): a wait shows as a wait, not an error


# --- timing every request ---------------------------------------------------------------


@dataclass
class Sample:
    phase: str
    method: str
    path: str
    status: int  # 0: no response (connection error, timeout)
    seconds: float


class Recorder:
    """Every request's latency, and the requests in flight (for the watchdog)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.samples: list[Sample] = []
        self.phase = "setup"
        self._ids = itertools.count()
        self.in_flight: dict[int, tuple[float, str, str]] = {}

    def start(self, method: str, path: str) -> int:
        ident = next(self._ids)
        with self._lock:
            self.in_flight[ident] = (time.perf_counter(), method, path)
        return ident

    def done(self, ident: int, status: int) -> None:
        end = time.perf_counter()
        with self._lock:
            started, method, path = self.in_flight.pop(ident)
            self.samples.append(Sample(self.phase, method, path, status, end - started))

    def oldest(self) -> tuple[float, str, str] | None:
        with self._lock:
            if not self.in_flight:
                return None
            started, method, path = min(self.in_flight.values())
        return time.perf_counter() - started, method, path


class TimedAdapter(HTTPAdapter):
    """Times each HTTP exchange (each redirect hop on its own)."""

    def __init__(self, recorder: Recorder):
        super().__init__()
        self.recorder = recorder

    def send(self, request, **kwargs):
        ident = self.recorder.start(request.method, urlsplit(request.url).path)
        status = 0
        try:
            response = super().send(request, **kwargs)
            status = response.status_code
            return response
        finally:
            self.recorder.done(ident, status)


def timed(session: requests.Session, recorder: Recorder) -> requests.Session:
    session.mount("http://", TimedAdapter(recorder))
    return session


class Watchdog(threading.Thread):
    """Asks the server for its stacks when a request has waited longer than ``after``."""

    def __init__(self, recorder: Recorder, pid: int, after: float):
        super().__init__(daemon=True)
        self.recorder, self.pid, self.after = recorder, pid, after
        self.dumps: list[str] = []
        self.stop = threading.Event()

    def run(self):
        last = 0.0
        while not self.stop.wait(0.25):
            oldest = self.recorder.oldest()
            if oldest is None or oldest[0] < self.after or time.monotonic() - last < self.after:
                continue
            last = time.monotonic()
            waited, method, path = oldest
            self.dumps.append(f"{self.recorder.phase}: {method} {path} waiting {waited:.1f} s")
            os.kill(self.pid, signal.SIGUSR1)


# --- the server ---------------------------------------------------------------------------


def serve(settings: dict, port: int, dump_path: str, log_path: str) -> None:
    """Process entry: the gateway under werkzeug's threaded server (what `flask run` does),
    writing all threads' stacks to ``dump_path`` on SIGUSR1 and its log to ``log_path``."""
    import faulthandler
    import logging

    from werkzeug.serving import run_simple

    from gateway import create_app

    log = open(log_path, "a", buffering=1)  # noqa: SIM115 — open for the life of the process
    os.dup2(log.fileno(), 2)  # the gateway logs JSON lines on stderr
    dump = open(dump_path, "a")  # noqa: SIM115
    faulthandler.register(signal.SIGUSR1, file=dump, all_threads=True)
    app = create_app(settings)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def pool():
        from flask import jsonify

        from gateway.extensions import db

        pools = {"orm": db.engine.pool.status()}
        store = app.extensions["gateway.store"]
        if getattr(store, "engine", None) is not None and store.engine is not db.engine:
            pools["store"] = store.engine.pool.status()
        return jsonify(pools)

    app.add_url_rule("/_soak/pool", "soak_pool", pool)
    run_simple("127.0.0.1", port, app, threaded=True, use_reloader=False, use_debugger=False)


# --- the races ------------------------------------------------------------------------------


def _together(n: int, fn) -> list:
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def worker(i):
        barrier.wait(30)
        try:
            results[i] = fn(i)
        except Exception as exc:  # counted by the caller
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _json(response: requests.Response) -> dict:
    try:
        body = response.json()
    except ValueError:  # an HTML error page
        return {"error": f"not JSON: {response.headers.get('Content-Type')}"}
    return body if isinstance(body, dict) else {}


def race_refresh(target: load.Target, recorder: Recorder, racers: int) -> list[str]:
    """One refresh token presented ``racers`` times at once: at most one new token."""
    with timed(load.loopback_session(), recorder) as browser, \
            timed(load.loopback_session(), recorder) as rp:
        token = load.login_with_code_exchange(browser, rp, target)["refresh_token"]
    recorder.phase = "race: refresh"

    def present(_):
        with timed(load.loopback_session(), recorder) as session:
            r = session.post(f"{target.base}/token", data={
                "grant_type": "refresh_token", "refresh_token": token,
            }, auth=target.web_auth, timeout=TIMEOUT)
            return r.status_code, _json(r).get("error")

    outcomes = _together(racers, present)
    errors = [repr(o) for o in outcomes if isinstance(o, Exception)]
    done = [o for o in outcomes if not isinstance(o, Exception)]
    winners = [o for o in done if o[0] == 200]
    errors += [f"refresh race: {o}" for o in done if o[0] != 200 and o != (400, "invalid_grant")]
    if len(winners) > 1:
        errors.append(f"refresh race: {len(winners)} winners")
    return errors


def race_otp(target: load.Target, recorder: Recorder, racers: int, username: str) -> list[str]:
    """One takeover OTP submitted ``racers`` times at once by the new device: one code."""
    with timed(load.loopback_session(), recorder) as http:
        first = load._new_device(target, http, "Điện thoại cũ")
        load.device_sign_in(first, target, username)
        device = load._new_device(target, http, "Điện thoại mới")
        conflict = load._expect_challenge(
            lambda: device.sign_in(username, target.fixture.password), "device_conflict",
            "sign_in")
        phone = target.fixture.phones[username]
        seen = target.otps.seen(phone)
        step = load._expect_challenge(lambda: device.confirm_takeover(conflict.auth_session),
                                      "otp_required", "confirm_takeover")
        code = target.otps.newer_than(phone, seen)
    recorder.phase = "race: otp"
    url = f"{target.base}/authorize-challenge"

    def submit(_):
        with timed(load.loopback_session(), recorder) as session:
            r = session.post(url, data={
                "client_id": target.fixture.app_client_id, "auth_session": step.auth_session,
                "otp": code,
            }, headers={"DPoP": device.proof("POST", url)}, timeout=TIMEOUT)
            body = _json(r)
            return r.status_code, body.get("error"), body.get("reason")

    outcomes = _together(racers, submit)
    errors = [repr(o) for o in outcomes if isinstance(o, Exception)]
    done = [o for o in outcomes if not isinstance(o, Exception)]
    winners = [o for o in done if o[0] == 200]
    if len(winners) != 1:
        errors.append(f"otp race: {len(winners)} winners: {sorted(map(str, done))[:4]}")
    # The losers: a wrong-try refusal (otp_*), the name locked by the tries reserved at once
    # (account_locked), or the flow already finished by the winner (session_expired).
    refused = {(400, "insufficient_authorization"), (429, "insufficient_authorization"),
               (400, "invalid_session")}
    errors += [f"otp race: {o}" for o in done if o[0] != 200 and o[:2] not in refused]
    return errors


# --- the flows ------------------------------------------------------------------------------


FLOW_MIX = (  # (scenario, share of the threads); at least one thread each
    ("login+code", 2),
    ("refresh_token", 2),
    ("device_login", 1),
    ("device_takeover", 1),
)


def flow_workers(target: load.Target, recorder: Recorder, threads: int) -> list[load.Worker]:
    total = sum(share for _, share in FLOW_MIX)
    workers = []
    for scenario, share in FLOW_MIX:
        n = max(1, round(threads * share / total))
        for i in range(n):
            worker = load.SCENARIOS[scenario](target, i, n)
            timed(worker.browser, recorder)
            timed(worker.rp, recorder)
            workers.append(worker)
    return workers


def run_flows(workers: list[load.Worker], seconds: float) -> tuple[int, list[str]]:
    lock = threading.Lock()
    ops, errors = [0], []
    deadline = time.perf_counter() + seconds

    def run(worker):
        while time.perf_counter() < deadline:
            try:
                worker.op()
                with lock:
                    ops[0] += 1
            except Exception as exc:
                with lock:
                    errors.append(f"{type(worker).__name__}: {type(exc).__name__}: {exc}"[:300])

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return ops[0], errors


# --- the report -----------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]  # nearest rank


def report(samples: list[Sample], slow: float) -> str:
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for s in samples:
        phase = s.phase.split(" #")[0]
        groups[(phase, f"{s.method} {s.path}")].append(s.seconds)
        groups[(phase, "(all)")].append(s.seconds)
    groups[("all phases", "(all)")] = [s.seconds for s in samples]
    rows = []
    for (phase, path), values in sorted(groups.items()):
        rows.append([phase, path, str(len(values)), f"{_pct(values, .5) * 1e3:.0f}",
                     f"{_pct(values, .99) * 1e3:.0f}", f"{max(values) * 1e3:.0f}",
                     str(sum(v > slow for v in values))])
    return load._table(["phase", "request", "n", "p50 ms", "p99 ms", "max ms",
                        f"> {slow:g} s"], rows)


# --- main -----------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["embedded", "production"], default="embedded",
                        help="embedded (default): SQLite + the SQL store, as `make run`; "
                             "production: PostgreSQL + Redis db 14 (see bench/README.md)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default: 5)")
    parser.add_argument("--flow-seconds", type=float, default=20.0,
                        help="flows before the races, per round (default: 20)")
    parser.add_argument("--threads", type=int, default=6,
                        help="client threads running the flows (default: 6)")
    parser.add_argument("--racers", type=int, default=20,
                        help="concurrent requests in each race (default: 20)")
    parser.add_argument("--races", type=int, default=3,
                        help="races of each kind per round (default: 3)")
    parser.add_argument("--accounts", type=int, default=40,
                        help="accounts in each flow pool (default: 40)")
    parser.add_argument("--slow", type=float, default=2.0,
                        help="a request slower than this counts as slow (default: 2 s)")
    parser.add_argument("--dump-after", type=float, default=5.0,
                        help="dump the server's stacks when a request waits this long "
                             "(default: 5 s)")
    parser.add_argument("--stacks", default=None,
                        help="write the server's full stack dumps to this file")
    args = parser.parse_args(argv)
    if min(args.rounds, args.threads, args.racers, args.races, args.accounts) < 1:
        parser.error("--rounds, --threads, --racers, --races and --accounts must be positive")
    if args.accounts < args.threads:
        parser.error("--accounts must be at least --threads")
    return args


def summarize_stacks(text: str) -> list[str]:
    """One line per (where it waits, what called it) in faulthandler dumps, with counts:
    the innermost frame of each thread and the innermost frame in gateway/."""
    counts: dict[str, int] = defaultdict(int)
    for block in text.split("\nThread 0x")[1:]:
        frames = [line.strip() for line in block.splitlines()[1:] if line.strip()]
        if not frames:
            continue
        inner = _frame(frames[0])
        ours = next((_frame(f) for f in frames if "/gateway/" in f), "-")
        counts[f"{inner}  <-  {ours}"] += 1
    return [f"{n:4d} x {where}" for where, n in sorted(counts.items(), key=lambda i: -i[1])]


def _frame(line: str) -> str:
    # 'File "/x/y/sqlalchemy/pool/impl.py", line 165 in _do_get' -> 'pool/impl.py:165 _do_get'
    try:
        path, rest = line.split('"')[1], line.split('"')[2]
        number, func = rest.split("line ")[1].split(" in ")
    except (IndexError, ValueError):
        return line
    return f"{'/'.join(path.split('/')[-2:])}:{number} {func}"


def summarize_log(text: str) -> list[str]:
    """Server errors by their exception's last line."""
    import json

    counts: dict[str, int] = defaultdict(int)
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("level") not in ("error", "critical"):
            continue
        exc = (record.get("exc") or "").strip().splitlines()
        counts[f"{record.get('msg')}: {exc[-1][:160] if exc else ''}"] += 1
    return [f"{n:4d} x {what}" for what, n in sorted(counts.items(), key=lambda i: -i[1])]


def run(args, recorder: Recorder, tmp: str) -> dict:
    out = {"errors": [], "flow_ops": 0, "dumps": [], "stacks": "", "log": ""}
    with server.backend(args.backend) as be:
        port = load.free_port()
        base = f"http://127.0.0.1:{port}"
        settings = {**be.settings, "ISSUER": base, "ADDRESS_FAILURE_LIMIT": 1_000_000}
        pools = {"web": args.accounts, "device": args.accounts, "takeover": args.accounts,
                 "race": args.rounds * args.races}
        fixture = server.prepare(settings, pools)
        print(f"backend: {be.description}; {sum(pools.values())} accounts")
        dump_path, log_path = os.path.join(tmp, "stacks.txt"), os.path.join(tmp, "server.log")
        proc = multiprocessing.get_context("spawn").Process(
            target=serve, args=(settings, port, dump_path, log_path), daemon=True)
        proc.start()
        watchdog = Watchdog(recorder, proc.pid, args.dump_after)
        try:
            load.wait_ready(base, proc)
            watchdog.start()
            target = load.Target(base, fixture)
            workers = flow_workers(target, recorder, args.threads)
            for w in workers:
                w.setup()
            race_names = iter(fixture.pools["race"])
            started = time.perf_counter()
            for n in range(1, args.rounds + 1):
                recorder.phase = "flows"
                ops, errs = run_flows(workers, args.flow_seconds)
                out["flow_ops"] += ops
                out["errors"] += errs
                for _ in range(args.races):
                    recorder.phase = "race setup"
                    out["errors"] += race_refresh(target, recorder, args.racers)
                    recorder.phase = "race setup"
                    out["errors"] += race_otp(target, recorder, args.racers, next(race_names))
                worst = max(s.seconds for s in recorder.samples)
                with load.loopback_session() as probe:
                    pool = probe.get(f"{base}/_soak/pool", timeout=TIMEOUT).json()
                print(f"round {n}: {ops} flow operations, {len(out['errors'])} errors so far, "
                      f"slowest request so far {worst:.2f} s; idle pools: {pool} "
                      f"({time.perf_counter() - started:.0f} s elapsed)", flush=True)
            for w in workers:
                w.close()
        finally:
            watchdog.stop.set()
            proc.terminate()
            proc.join(10)
        for key, path in (("stacks", dump_path), ("log", log_path)):
            if os.path.exists(path):
                with open(path) as fh:
                    out[key] = fh.read()
        out["dumps"] = watchdog.dumps
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    from importlib.metadata import version

    print(f"VssID gateway soak — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"server: werkzeug {version('werkzeug')} run_simple(threaded=True); backend "
          f"{args.backend}; {args.rounds} rounds of {args.flow_seconds:g} s of flows "
          f"({args.threads} threads), then {args.races} x {args.racers} racers per race; "
          f"load average {os.getloadavg()[0]:.2f}")
    recorder = Recorder()
    with tempfile.TemporaryDirectory() as tmp:
        out = run(args, recorder, tmp)
    samples = recorder.samples
    print()
    print(report(samples, args.slow))
    values = [s.seconds for s in samples]
    over = sum(v > args.slow for v in values)
    server_errors = sum(s.status >= 500 or s.status == 0 for s in samples)
    print(f"\n{len(samples)} requests ({server_errors} answered 5xx or not at all), "
          f"{out['flow_ops']} flow operations, {len(out['errors'])} unexpected answers; "
          f"p99 {_pct(values, .99) * 1e3:.0f} ms, max {max(values) * 1e3:.0f} ms; "
          f"{over} over {args.slow:g} s (goal: 0)")
    for line in out["errors"][:8]:
        print(f"  unexpected: {line}")
    for line in summarize_log(out["log"])[:8]:
        print(f"  server log: {line}")
    if out["dumps"]:
        print(f"\nserver stacks dumped {len(out['dumps'])} times (watchdog):")
        for line in out["dumps"]:
            print(f"  {line}")
        print("threads, by innermost frame  <-  innermost gateway frame:")
        for line in summarize_stacks(out["stacks"])[:12]:
            print(f"  {line}")
        if args.stacks:
            with open(args.stacks, "w") as fh:
                fh.write(out["stacks"])
            print(f"full dumps: {args.stacks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
