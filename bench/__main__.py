"""`python -m bench`: one run, both backends by default; prints tables and ratios."""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import sys
import time
from datetime import datetime

from bench import load, server

DESCRIPTION = """\
Throughput benchmark of the VssID gateway over real HTTP on loopback.

First measures the floor: Argon2id verifications per second (verify_password on a
hash_password hash) in a process alone on the server core. Then, per backend, starts the
gateway in a separate process pinned to the server core (granian, one worker, as
production; --server gunicorn|werkzeug to compare) and drives it from this process, pinned
to the load core, with N threads for a fixed time:

  login+code          GET /authorize -> GET /login -> POST /login -> GET /authorize
                      -> code -> POST /token (client_secret_basic + PKCE), fresh cookie jar
  refresh_token       POST /token grant_type=refresh_token, each thread rotating its chain
  client_credentials  POST /token grant_type=client_credentials
  device_login        the VssID app, same device signing in again (no conflict, no OTP):
                      POST /authorize-challenge -> code -> POST /token, both with DPoP
  device_login_history  device_login on accounts that each used --device-history devices
  device_first_login  a new device on an account that never had one (fresh accounts)
  device_takeover     a new device on an account with another active device:
                      /authorize-challenge (device_conflict) -> takeover=confirm
                      (otp_required) -> OTP read from the SMS outbox file -> otp -> /token

Prints per backend: operations, errors, ops/s, ops/s per server core, ratio to the floor,
p50/p95 latency, and what each operation cost (server CPU, store operations, SQL
statements), in all and per endpoint. The target for login+code is >= 0.8 x the floor; the
budget for an app sign-in is <= 10 store operations. Nothing is asserted.
"""


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _pick_cpus(args) -> tuple[int, int]:
    allowed = sorted(os.sched_getaffinity(0))
    server_cpu = args.server_cpu if args.server_cpu is not None else allowed[0]
    load_cpu = args.load_cpu if args.load_cpu is not None else allowed[1 % len(allowed)]
    for cpu in (server_cpu, load_cpu):
        if cpu not in allowed:
            raise SystemExit(f"bench: CPU {cpu} is not available (allowed: {allowed})")
    if server_cpu == load_cpu:
        print(f"bench: WARNING: server and load generator share CPU {server_cpu}; "
              "the figures are not per-core figures", file=sys.stderr)
    return server_cpu, load_cpu


def measure_floor(ctx, cpu: int, seconds: float) -> tuple[float, float, int]:
    """(verifications per wall second, per CPU-second, count)."""
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=server.measure_floor, args=(cpu, seconds, send), daemon=True)
    proc.start()
    send.close()
    try:
        count, elapsed, cpu_seconds = receive.recv()
    except EOFError:
        raise SystemExit("bench: the floor process died") from None
    finally:
        proc.join(10)
    return count / elapsed, count / cpu_seconds, count


def run_backend(ctx, name: str, args, server_cpu: int, floor: tuple[float, float]):
    with server.backend(name, pg_admin=args.pg_admin, redis_url=args.redis_url) as be:
        port = load.free_port()
        base = f"http://127.0.0.1:{port}"
        settings = {**be.settings, "ISSUER": base}
        t0 = time.perf_counter()
        pools = load.pool_sizes(args.scenarios, threads=args.threads, accounts=args.accounts,
                                fresh_accounts=args.fresh_accounts)
        fixture = server.prepare(settings, pools)
        print(f"\n=== backend: {name} — {be.description}")
        print(f"    prepared {sum(pools.values())} accounts "
              f"({', '.join(f'{p} {n}' for p, n in pools.items())}) + 3 clients in "
              f"{time.perf_counter() - t0:.1f} s")
        proc = ctx.Process(target=server.serve, args=(settings, port, server_cpu, args.server),
                           daemon=False)  # gunicorn's and granian's masters have children
        proc.start()
        try:
            load.wait_ready(base, proc)
            info = load.server_stats(base)
            print(f"    server: pid {info['pid']} on CPU {info['affinity']}, {base}")
            target = load.Target(base, fixture, device_history=args.device_history)
            results = []
            for scenario in args.scenarios:
                load_avg = os.getloadavg()[0]
                t0 = time.perf_counter()
                result = load.run_scenario(
                    scenario, target, threads=args.threads, seconds=args.seconds,
                    max_ops=args.max_ops, server_cores=len(info["affinity"]),
                )
                setup = time.perf_counter() - t0 - result.elapsed
                note = (f"; {result.exhausted_threads} threads used up their accounts"
                        if result.exhausted_threads else "")
                print(f"    {scenario}: {result.ops} ops, {result.errors} errors in "
                      f"{result.elapsed:.1f} s (setup {setup:.1f} s, load average before: "
                      f"{load_avg:.2f}{note})")
                results.append(result)
        finally:
            proc.terminate()
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
    print()
    print(load.format_results(results, *floor))
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=["production", "embedded", "both"], default="both",
                        help="production = PostgreSQL + Redis db 14, embedded = SQLite + SQL "
                             "store; both (default) runs one after the other")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured duration of each scenario (default: 10)")
    parser.add_argument("--floor-seconds", type=float, default=None,
                        help="duration of the Argon2id floor measurement (default: --seconds)")
    parser.add_argument("--threads", type=int, default=6,
                        help="concurrent client threads (default: 6)")
    parser.add_argument("--max-ops", type=int, default=100_000,
                        help="upper bound on operations per scenario (default: 100000)")
    parser.add_argument("--accounts", type=int, default=50,
                        help="size of each account pool logins cycle through: web logins, "
                             "device_login, device_takeover (default: 50)")
    parser.add_argument("--fresh-accounts", type=int, default=600,
                        help="accounts without a device for device_first_login, each used "
                             "once; a thread stops when its share is used up (default: 600)")
    parser.add_argument("--device-history", type=int, default=50,
                        help="devices each device_login_history account used before the "
                             "window (that many sign-ins in setup, all but the first "
                             "takeovers; default: 50)")
    parser.add_argument("--scenarios", nargs="+", choices=list(load.SCENARIOS),
                        default=list(load.SCENARIOS), help="which scenarios (default: all)")
    parser.add_argument("--server", choices=server.SERVERS, nargs="+", default=["granian"],
                        help="the WSGI server of the gateway (default: granian, WSGI, "
                             f"{server.SERVER_THREADS} threads, one worker process); with "
                             "--peer several may be given, each is measured in turn")
    parser.add_argument("--peer", action="store_true",
                        help="the gateway and panva's oidc-provider side by side "
                             "(bench/side_by_side.py; installs the peer with npm under "
                             "bench/peer/ first): client_credentials, refresh_token, "
                             "introspection, login; prints ours ÷ peer per core")
    parser.add_argument("--rounds", type=int, default=3,
                        help="with --peer: rounds, each scenario on each server in turn; the "
                             "medians are compared (default: 3)")
    parser.add_argument("--p99", action="store_true",
                        help="with --peer: also p99 latency at 80%% of each scenario's "
                             "measured maximum (a second, rate-limited run)")
    parser.add_argument("--server-cpu", type=int, default=None,
                        help="core for the server and the floor (default: first allowed, 0)")
    parser.add_argument("--load-cpu", type=int, default=None,
                        help="core for the load generator (default: second allowed, 1)")
    parser.add_argument("--pg-admin", default=server.PG_ADMIN,
                        help="PostgreSQL admin URL on loopback; the bench creates and drops a "
                             "database there (default: %(default)s, env GATEWAY_BENCH_PG_ADMIN)")
    parser.add_argument("--redis-url", default=server.REDIS_URL,
                        help="Redis on loopback; the run's keys have a prefix of their own, "
                             "deleted at the end "
                             "(default: %(default)s, env GATEWAY_BENCH_REDIS_URL)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.threads < 1 or args.max_ops < 1 or args.accounts < 1:
        parser.error("--seconds, --threads, --max-ops and --accounts must be positive")
    if args.device_history < 1:
        parser.error("--device-history must be 1 or more")
    device = set(args.scenarios) & {"device_login", "device_takeover"}
    if device and args.accounts < args.threads:
        parser.error(f"{', '.join(sorted(device))}: --accounts must be at least --threads")
    if "device_first_login" in args.scenarios and args.fresh_accounts < 2 * args.threads:
        parser.error("device_first_login: --fresh-accounts must be at least 2 x --threads")
    from importlib.util import find_spec

    missing = [name for name in args.server if find_spec(name) is None]
    if missing:
        parser.error(f"--server {' '.join(missing)}: not installed; "
                     "`.venv/bin/pip install -e '.[bench]'` installs the servers compared")
    if len(args.server) > 1 and not args.peer:
        parser.error("--server: one server, or several with --peer")
    if not args.peer:
        args.server = args.server[0]
    if args.floor_seconds is None:
        args.floor_seconds = args.seconds
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    server_cpu, load_cpu = _pick_cpus(args)
    server.pin(load_cpu)  # before any thread starts: every load thread inherits it
    ctx = multiprocessing.get_context("spawn")
    if args.peer:
        from bench import side_by_side

        return side_by_side.main(ctx, args, server_cpu, load_cpu)

    print(f"VssID gateway benchmark — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {platform.node()}, {_cpu_model()}, {os.cpu_count()} CPUs, "
          f"Linux {platform.release()}, Python {platform.python_version()}")
    print(f"server: {server.server_version(args.server)}, one worker process "
          f"pinned to CPU {server_cpu}; load: {args.threads} threads (requests) pinned to CPU "
          f"{load_cpu}; {args.seconds:g} s per scenario, at most {args.max_ops} ops; "
          f"load average {os.getloadavg()[0]:.2f}")
    floor, floor_cpu, count = measure_floor(ctx, server_cpu, args.floor_seconds)
    print(f"floor: {floor:.1f} Argon2id verifications/s on CPU {server_cpu} "
          f"({count} in {args.floor_seconds:g} s; {floor_cpu:.1f} per CPU-second, so the "
          f"process had {100 * floor / floor_cpu:.0f}% of the core)")
    backends = ["production", "embedded"] if args.backend == "both" else [args.backend]
    summary = []
    for name in backends:
        results = run_backend(ctx, name, args, server_cpu, (floor, floor_cpu))
        summary += [(name, r) for r in results]
    print(f"\nsummary: floor = {floor:.1f} Argon2id verifications/s/core "
          f"({floor_cpu:.1f} per CPU-second)")
    width = max((len(r.scenario) for _, r in summary), default=0)
    for name, r in summary:
        target = "  (target >= 0.80)" if r.scenario == "login+code" else ""
        if r.scenario in load.DEVICE_SCENARIOS:
            target = f"; {r.per_op('store_ops'):4.1f} store ops/sign-in (budget <= 10)"
        print(f"  {name:<10} {r.scenario:<{width}} {r.per_core:7.1f} ops/s/core = "
              f"{r.per_core / floor:5.2f} x floor;  {r.per_cpu_second:7.1f} ops/cpu-s = "
              f"{r.per_cpu_second / floor_cpu:5.2f} x floor/cpu-s{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
