"""`python -m bench.recovery_timing`: how long a forgot-password start takes to answer, for a
registered (number, phone) pair, an unknown number and a known number with another phone.

The answer must not tell them apart (issue 7): the code and its SMS are made after the
response. The server runs in its own process pinned to one core (bench/server.py), this
client on another; requests go one at a time in a shuffled order, with a pause after each so
that work deferred past one answer never overlaps the next request. Prints the median and
the 90th percentile per case and the ratios to the unknown number's. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import statistics
import time

import requests

from bench import load, server

CASES = {
    "matching pair": ("7900000000", "0912000000"),  # server.prepare's first account
    "unknown number": ("7999999999", "0912000000"),
    "wrong phone": ("7900000000", "0987654321"),
}


def measure(base: str, rounds: int, pause: float) -> dict[str, list[float]]:
    session = requests.Session()
    times: dict[str, list[float]] = {case: [] for case in CASES}
    order = [case for case in CASES for _ in range(rounds)]
    random.Random(7).shuffle(order)
    for i, case in enumerate(order):
        username, phone = CASES[case]
        t0 = time.perf_counter()
        answer = session.post(f"{base}/api/v1/recovery", timeout=10,
                              json={"username": username, "phone": phone})
        elapsed = time.perf_counter() - t0
        if answer.status_code != 202:
            raise SystemExit(f"bench: {case}: HTTP {answer.status_code} {answer.text[:200]}")
        if i >= len(CASES):  # the first requests warm the server up
            times[case].append(elapsed * 1000)
        time.sleep(pause)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["production", "embedded", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=150, help="requests per case")
    parser.add_argument("--pause", type=float, default=0.05, help="seconds after each request")
    cpus = sorted(os.sched_getaffinity(0))
    parser.add_argument("--server-cpu", type=int, default=cpus[0])
    parser.add_argument("--load-cpu", type=int, default=cpus[-1],
                        help="this process's core: never the server's, or the work the server "
                             "does after an answer would delay reading the next one here")
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    for name in (["production", "embedded"] if args.backend == "both" else [args.backend]):
        with server.backend(name) as be:
            port = load.free_port()
            base = f"http://127.0.0.1:{port}"
            settings = {**be.settings, "ISSUER": base, "RECOVERY_STARTS_PER_ADDRESS": 10**6}
            server.prepare(settings, {"web": 1})
            proc = ctx.Process(target=server.serve, args=(settings, port, args.server_cpu),
                               daemon=False)  # granian's master has children
            proc.start()
            try:
                load.wait_ready(base, proc)
                server.pin(args.load_cpu)
                times = measure(base, args.rounds, args.pause)
            finally:
                proc.terminate()
                proc.join(10)
        print(f"=== {name} — {be.description}: POST /api/v1/recovery, {args.rounds} per case")
        reference = statistics.median(times["unknown number"])
        for case, values in times.items():
            p50 = statistics.median(values)
            p90 = statistics.quantiles(values, n=10)[-1]
            print(f"    {case:15s} p50 {p50:6.2f} ms  p90 {p90:6.2f} ms  "
                  f"p50 / unknown number {p50 / reference:4.2f}")


if __name__ == "__main__":
    main()
