"""Carrier-grade NAT: thousands of people and one sprayer behind one public address.

    python -m bench.cgnat                       # both backends, attackers of 0, 1, 4, 16, 64
    python -m bench.cgnat --backend production --attackers 0 8

A discrete-event simulation of `--minutes` (10) of clock time on one source address: `--people`
(2,000) people arrive at random moments and sign in; each try is a typo with probability
`--typo` (5 %), after which the person retries 3-10 s later. On the same address an attacker
sprays one common password over fresh names with N concurrent connections, as fast as the
answers come back.

What is real: the throttle (gateway.services.throttle.Attempt — reservations, verdicts,
redemptions, locks) against the real store of the backend (Redis, or the SQL store on
SQLite), with the injected FixedClock moved from event to event, so ten minutes take seconds
and nobody sleeps. What is modelled: a check's outcome (the simulation knows who typed what)
and its duration as the client sees it (`--service-ms`, 150: a mobile round trip plus one
Argon2id verification), HTTP, and the rest of the gateway. Only the address's own failures
reach the global alarm (a quiet gateway otherwise).

Printed per attacker size: people refused (goal 0), people delayed and by how much, the
attacker's password checks per minute, and what the previous rule (refuse every sign-in after
50 failures from the address in 10 minutes) would have done to the same crowd.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

ADDRESS = "203.113.131.7"  # a documentation-style carrier address; only the store sees it
OLD_RULE_LIMIT = 50  # the previous rule: this many failures in 10 minutes, then 429 for all


@dataclass
class Person:
    name: str
    arrival: float
    tries: int = 0
    refusals: int = 0
    waited_ms: int = 0
    signed_in_at: float | None = None


@dataclass
class Result:
    attackers: int
    people: list[Person]
    attacker_checks: Counter = field(default_factory=Counter)  # minute -> verifications
    attacker_refused: int = 0
    attacker_delayed: int = 0
    attacker_hits: int = 0
    failures: list[float] = field(default_factory=list)  # times of every failed check
    failures_per_minute: Counter = field(default_factory=Counter)
    elapsed: float = 0.0


def _names(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    out = []
    while len(out) < n:
        name = f"{rng.randrange(10**10):010d}"
        if name not in taken:
            taken.add(name)
            out.append(name)
    return out


def simulate(app, fixed, start: datetime, args, attackers: int) -> Result:
    """One run on a clean store: the crowd, and `attackers` spraying connections."""
    from gateway.services.throttle import Attempt, LockedError, ThrottledError

    rng = random.Random(args.seed)
    duration = args.minutes * 60
    service = args.service_ms / 1000
    taken: set[str] = set()
    people = [Person(name, rng.uniform(0, duration))
              for name in _names(rng, args.people, taken)]
    sprayed = iter(lambda: _names(rng, 1, taken)[0], None)
    result = Result(attackers, people)
    heap: list = []
    order = itertools.count()

    def at(t: float, step, *payload) -> None:
        heapq.heappush(heap, (t, next(order), step, payload))

    def failed(t: float, attempt) -> None:
        attempt.failed()
        result.failures.append(t)
        result.failures_per_minute[int(t // 60)] += 1

    def person_try(t: float, person: Person) -> None:
        person.tries += 1
        attempt = Attempt(person.name, ADDRESS)
        try:
            delay_ms = attempt.admit()
        except (LockedError, ThrottledError) as refused:
            person.refusals += 1
            if person.refusals < 3:  # a person waits as told (at most a minute), then retries
                at(t + min(refused.retry_after, 60), person_try, person)
            return
        person.waited_ms += delay_ms
        at(t + delay_ms / 1000 + service, person_done, person, attempt)

    def person_done(t: float, person: Person, attempt) -> None:
        if rng.random() < args.typo:
            failed(t, attempt)
            if person.tries < 5:
                at(t + rng.uniform(3, 10), person_try, person)
            return
        attempt.succeeded()
        person.signed_in_at = t

    def attacker_try(t: float) -> None:
        if t >= duration:
            return
        attempt = Attempt(next(sprayed), ADDRESS)
        try:
            delay_ms = attempt.admit()
        except (LockedError, ThrottledError):
            result.attacker_refused += 1
            at(t + 1, attacker_try)  # hammers on, once a second per connection
            return
        result.attacker_delayed += bool(delay_ms)
        at(t + delay_ms / 1000 + service, attacker_done, attempt)

    def attacker_done(t: float, attempt) -> None:
        result.attacker_checks[int(t // 60)] += 1
        if rng.random() < args.hit_rate:  # a name whose password is the sprayed one
            result.attacker_hits += 1
            attempt.succeeded()
        else:
            failed(t, attempt)
        attacker_try(t)

    for person in people:
        at(person.arrival, person_try, person)
    for i in range(attackers):
        at(i * 0.01, attacker_try)
    started = time.perf_counter()
    with app.app_context():
        while heap:
            t, _, step, payload = heapq.heappop(heap)
            fixed.advance(seconds=(start + timedelta(seconds=t) - fixed.now()).total_seconds())
            step(t, *payload)
    result.elapsed = time.perf_counter() - started
    return result


# --- reporting ---------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def summary(result: Result, args, alarm_per_minute: int) -> dict:
    duration_min = args.minutes
    people = result.people
    delayed = [p.waited_ms / 1000 for p in people if p.waited_ms]
    fails = sorted(result.failures)
    old_from = next((t for i, t in enumerate(fails)
                     if i + 1 >= OLD_RULE_LIMIT and t - fails[i + 1 - OLD_RULE_LIMIT] <= 600),
                    None)
    checks = [result.attacker_checks.get(m, 0) for m in range(duration_min)]
    alarm_minutes = sum(1 for m in range(1, duration_min)
                        if result.failures_per_minute.get(m - 1, 0) >= alarm_per_minute)
    return {
        "attackers": result.attackers,
        "people": len(people),
        "signed_in": sum(p.signed_in_at is not None for p in people),
        "refused": sum(bool(p.refusals) for p in people),
        "never_in": sum(p.signed_in_at is None for p in people),
        "delayed": len(delayed),
        "delay_p50": _pct(delayed, 50),
        "delay_p95": _pct(delayed, 95),
        "delay_max": max(delayed, default=0.0),
        "checks_per_min": sum(checks) / duration_min,
        "checks_max_min": max(checks, default=0),
        "attacker_refused": result.attacker_refused,
        "attacker_hits": result.attacker_hits,
        "failures": len(fails),
        "alarm_minutes": alarm_minutes,
        "old_rule_from": old_from,
        "old_rule_refused": sum(1 for p in people if old_from is not None
                                and (p.signed_in_at is None or p.signed_in_at >= old_from)),
        "elapsed": result.elapsed,
    }


HEADER = ("attacker conns | people refused | never in | delayed (p50 / p95 / max s) | "
          "attacker checks/min (max min) | attacker 429s | alarm min | "
          "failures | previous rule: refuses from, people refused")


def format_row(s: dict) -> str:
    old = (f"t={s['old_rule_from']:.0f} s, {s['old_rule_refused']}"
           if s["old_rule_from"] is not None else "never, 0")
    return (f"{s['attackers']:>14} | {s['refused']:>14} | {s['never_in']:>8} | "
            f"{s['delayed']:>5} ({s['delay_p50']:.1f} / {s['delay_p95']:.1f} / "
            f"{s['delay_max']:.1f}) | {s['checks_per_min']:>9.1f} ({s['checks_max_min']}) | "
            f"{s['attacker_refused']:>12} | {s['alarm_minutes']:>9} | {s['failures']:>8} | {old}")


# --- the run -----------------------------------------------------------------------------


def run_backend(name: str, args) -> list[dict]:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from bench import server
    from gateway import create_app
    from gateway.clock import FixedClock
    from gateway.extensions import db

    rows = []
    with server.backend(name, pg_admin=args.pg_admin, redis_url=args.redis_url) as be:
        print(f"\n=== backend: {name} — {be.description}")
        print(HEADER)
        start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a window boundary: 10 min = 1 window
        overrides = {k: v for k, v in (("ADDRESS_DELAY_MS", args.delay_ms),
                                       ("ADDRESS_FAILURE_LIMIT", args.limit)) if v is not None}
        for attackers in args.attackers:
            fixed = FixedClock(start)
            app = create_app({**be.settings, **overrides}, clock=fixed)
            with app.app_context():
                upgrade()
                db.session.execute(text("DELETE FROM store_entries"))
                db.session.commit()
                store = app.extensions["gateway.store"]
                if hasattr(store, "client"):
                    store.client.flushdb()
            result = simulate(app, fixed, start, args, attackers)
            row = summary(result, args, app.config["GLOBAL_FAILURE_ALARM_PER_MINUTE"])
            rows.append(row)
            print(format_row(row) + f"   [{row['elapsed']:.1f} s]", flush=True)
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
            if hasattr(store, "client"):
                store.client.close()
    return rows


def parse_args(argv=None):
    from bench import server

    parser = argparse.ArgumentParser(prog="python -m bench.cgnat", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["production", "embedded", "both"], default="both")
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--typo", type=float, default=0.05, help="chance a try is mistyped")
    parser.add_argument("--attackers", type=int, nargs="+", default=[0, 1, 4, 16, 64],
                        help="concurrent spraying connections, one run each")
    parser.add_argument("--service-ms", type=int, default=150,
                        help="a check as the client sees it, without the wait (default 150)")
    parser.add_argument("--hit-rate", type=float, default=0.001,
                        help="share of sprayed names whose password is the sprayed one")
    parser.add_argument("--delay-ms", type=int, default=None, help="ADDRESS_DELAY_MS override")
    parser.add_argument("--limit", type=int, default=None, help="ADDRESS_FAILURE_LIMIT override")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pg-admin", default=server.PG_ADMIN)
    parser.add_argument("--redis-url", default=server.REDIS_URL)
    args = parser.parse_args(argv)
    if args.people < 1 or args.minutes < 1 or not 0 <= args.typo < 1:
        parser.error("--people and --minutes must be positive, --typo in [0, 1)")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    from config import defaults

    print(f"CGNAT simulation — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"one address, {args.people} people over {args.minutes} min, typo rate "
          f"{args.typo:.0%}, check {args.service_ms} ms, sprayed-password hit rate "
          f"{args.hit_rate:.2%}, seed {args.seed}")
    limit = args.limit if args.limit is not None else defaults.ADDRESS_FAILURE_LIMIT
    delay = args.delay_ms if args.delay_ms is not None else defaults.ADDRESS_DELAY_MS
    print(f"rules: ADDRESS_FAILURE_LIMIT={limit} per {defaults.ADDRESS_FAILURE_WINDOW} s, "
          f"ADDRESS_DELAY_MS={delay}, GLOBAL_FAILURE_ALARM_PER_MINUTE="
          f"{defaults.GLOBAL_FAILURE_ALARM_PER_MINUTE} (then refused past "
          f"{defaults.ADDRESS_FAILURE_LIMIT_UNDER_ATTACK}), LOCKOUT_THRESHOLD="
          f"{defaults.LOCKOUT_THRESHOLD}")
    backends = ["production", "embedded"] if args.backend == "both" else [args.backend]
    for name in backends:
        run_backend(name, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
