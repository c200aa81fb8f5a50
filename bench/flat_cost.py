"""`python -m bench.flat_cost`: does a request cost the same at a million rows as at none?

One run, production backend only (PostgreSQL + Redis on loopback):

1. a fresh database of its own (`gateway_bench_<random>`, dropped at the end) and Redis db 13
   (flushed before and after; not the main bench's 14, so the two can run side by side),
   migrated and prepared like `python -m bench` (a web client, a pool of accounts);
2. the gateway is served in a process pinned to the server core; after a warm-up of each
   scenario (`--warmup` seconds, unmeasured), **empty**: sign-in
   (`login+code`), `refresh_token` and `introspection` are measured with the load generator
   of bench/load.py, and one browser sign-in and one app sign-in are made alone to measure
   what a live session keeps in Redis (MEMORY USAGE of every key it left);
3. **filled** with plain SQL in the database (generate_series; no ORM, one shared Argon2id
   hash): `--rows` accounts, as many live SSO sessions with one live refresh-token family each
   (unexpired, unused), and as many audit events; then VACUUM ANALYZE, as autovacuum would;
   bytes per row are the growth of `pg_total_relation_size` (table, indexes, TOAST) ÷ rows;
4. the same three measured again on the same server; prints each rate filled ÷ empty (the
   target: ≥ 0.9), per wall second per core and per CPU-second the server got (the figure to
   trust on a loaded machine), with the load average.

Nothing is asserted; the figures go in bench/README.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time

from bench import load, server

SCENARIOS = ("login+code", "refresh_token", "introspection")
REDIS_URL = os.environ.get("GATEWAY_FLAT_REDIS_URL", "redis://127.0.0.1:6379/13")
TABLES = ("accounts", "login_sessions", "refresh_tokens", "events")

FILL = {
    "accounts": """
        INSERT INTO accounts (sub, bhxh, full_name, dob, phone, status, level, password_hash,
                              password_usable, password_changed_at, must_change_password,
                              created_at)
        SELECT md5('flat-sub-' || i), '1' || lpad(i::text, 9, '0'), 'Người Dữ Liệu ' || i,
               date '1950-01-01' + (i %% 25000), '+8491' || lpad((i %% 10000000)::text, 7, '0'),
               'active', 1, %(hash)s, true, now(), false, now()
        FROM generate_series(1, %(rows)s) AS i""",
    "login_sessions": """
        INSERT INTO login_sessions (sid, handle_hash, account_id, kind, auth_time, amr, acr,
                                    created_at, expires_at)
        SELECT md5('flat-sid-' || i), md5('flat-handle-' || i) || md5('flat-h2-' || i),
               %(first)s + i - 1, 'browser', now(), '["pwd"]', 'urn:vssid:loa:1', now(),
               now() + interval '30 days'
        FROM generate_series(1, %(rows)s) AS i""",
    "refresh_tokens": """
        INSERT INTO refresh_tokens (token_hash, family_id, client_id, account_id, sid, scope,
                                    resource, auth_time, acr, amr, issued_at, expires_at)
        SELECT md5('flat-rt-' || i) || md5('flat-rt2-' || i), md5('flat-fam-' || i),
               %(client_id)s, %(first)s + i - 1, md5('flat-sid-' || i),
               'openid profile offline_access', %(resource)s, now(), 'urn:vssid:loa:1', 'pwd',
               now(), now() + interval '30 days'
        FROM generate_series(1, %(rows)s) AS i""",
    "events": """
        INSERT INTO events (name, at, account_id, client_id, request_id, data)
        SELECT (ARRAY['login.succeeded', 'session.started', 'login.failed',
                      'password.changed'])[1 + i %% 4],
               now() - (i %% 500) * interval '1 day', %(first)s + (i %% %(rows)s), NULL,
               md5('flat-req-' || i)::varchar(16), '{"method": "pwd"}'
        FROM generate_series(1, %(rows)s) AS i""",
}


def _sizes(conn) -> dict[str, int]:
    return {t: conn.execute("SELECT pg_total_relation_size(%s)", (t,)).fetchone()[0]
            for t in TABLES}


def fill(dsn: str, rows: int, *, client_id: str, resource: str) -> tuple[dict, dict, float]:
    """Insert the rows; (bytes before, bytes after, seconds)."""
    import psycopg

    from gateway.crypto.password_hashing import hash_password

    shared = hash_password(server.PASSWORD)  # one hash for all: what a verification reads
    t0 = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        before = _sizes(conn)
        params = {"rows": rows, "hash": shared, "client_id": client_id, "resource": resource}
        with conn.transaction():
            conn.execute(FILL["accounts"], params)
        first = conn.execute("SELECT min(id) FROM accounts WHERE bhxh LIKE '1%'").fetchone()[0]
        params["first"] = first
        for table in ("login_sessions", "refresh_tokens", "events"):
            with conn.transaction():
                conn.execute(FILL[table], params)
        for table in TABLES:
            conn.execute(f"VACUUM ANALYZE {table}")
        after = _sizes(conn)
    return before, after, time.perf_counter() - t0


def redis_bytes_of_one_session(redis_url: str, journey) -> tuple[int, dict[str, str]]:
    """Run ``journey()`` alone; the bytes (MEMORY USAGE) of the Redis keys it left, by kind
    (the key's first segment), with the longest time to live among them."""
    import redis

    rds = redis.Redis.from_url(redis_url)
    try:
        before = set(rds.scan_iter(count=1000))
        journey()
        left = set(rds.scan_iter(count=1000)) - before
        kinds: dict[str, list[int]] = {}  # kind -> [bytes, longest TTL in seconds]
        for key in left:
            size = rds.memory_usage(key, samples=0) or 0
            name = key.decode(errors="replace")
            kind = name.split(":", 1)[0] if ":" in name else name
            entry = kinds.setdefault(kind, [0, 0])
            entry[0] += size
            entry[1] = max(entry[1], rds.ttl(key))
        return sum(size for size, _ in kinds.values()), {
            kind: f"{size} B, ttl {ttl} s" for kind, (size, ttl) in kinds.items()}
    finally:
        rds.close()


def measure(target, args, server_cores: int) -> dict[str, load.Result]:
    results = {}
    for scenario in SCENARIOS:
        load_avg = os.getloadavg()[0]
        result = load.run_scenario(scenario, target, threads=args.threads,
                                   seconds=args.seconds, max_ops=args.max_ops,
                                   server_cores=server_cores)
        result.load_avg = load_avg
        print(f"    {scenario}: {result.ops} ops, {result.errors} errors, "
              f"{result.per_core:.1f} ops/s/core, {result.per_cpu_second:.1f} ops/cpu-s "
              f"(load average {load_avg:.2f})", flush=True)
        results[scenario] = result
    return results


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.flat_cost", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="accounts, live sessions + refresh families, and events to add "
                             "(default: 1000000)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="measured duration of each scenario (default: 10)")
    parser.add_argument("--warmup", type=float, default=3.0,
                        help="seconds of each scenario run, unmeasured, before the empty "
                             "database's figures (default: 3)")
    parser.add_argument("--threads", type=int, default=6, help="client threads (default: 6)")
    parser.add_argument("--accounts", type=int, default=50,
                        help="accounts the sign-ins cycle through (default: 50)")
    parser.add_argument("--max-ops", type=int, default=100_000)
    parser.add_argument("--server-cpu", type=int, default=None)
    parser.add_argument("--load-cpu", type=int, default=None)
    parser.add_argument("--pg-admin", default=server.PG_ADMIN)
    parser.add_argument("--redis-url", default=REDIS_URL,
                        help="Redis on loopback; this database is flushed before and after "
                             "(default: %(default)s, env GATEWAY_FLAT_REDIS_URL)")
    args = parser.parse_args(argv)
    if args.rows < 1 or args.seconds <= 0 or args.threads < 1 or args.accounts < args.threads:
        parser.error("--rows, --seconds, --threads must be positive; --accounts >= --threads")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    allowed = sorted(os.sched_getaffinity(0))
    server_cpu = args.server_cpu if args.server_cpu is not None else allowed[0]
    load_cpu = args.load_cpu if args.load_cpu is not None else allowed[1 % len(allowed)]
    server.pin(load_cpu)
    ctx = multiprocessing.get_context("spawn")
    print(f"flat cost — {time.strftime('%Y-%m-%d %H:%M %Z')}; {args.rows:,} rows per table; "
          f"server on CPU {server_cpu}, load on CPU {load_cpu}; {args.seconds:g} s per "
          f"scenario; load average {os.getloadavg()[0]:.2f}", flush=True)
    with server.backend("production", pg_admin=args.pg_admin, redis_url=args.redis_url) as be:
        port = load.free_port()
        base = f"http://127.0.0.1:{port}"
        settings = {**be.settings, "ISSUER": base}
        fixture = server.prepare(settings, {"web": args.accounts, "device": args.threads})
        dsn = settings["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        proc = ctx.Process(target=server.serve, args=(settings, port, server_cpu),
                           daemon=False)  # granian's master has children
        proc.start()
        try:
            load.wait_ready(base, proc)
            target = load.Target(base, fixture)
            journeys = load.Worker(target)
            browser_bytes, browser_kinds = redis_bytes_of_one_session(
                args.redis_url, lambda: load.login_with_code_exchange(
                    journeys.browser, journeys.rp, target))
            username = fixture.pools["device"][0]
            device = load._new_device(target, journeys.rp, "Điện thoại đo")
            app_bytes, app_kinds = redis_bytes_of_one_session(
                args.redis_url, lambda: load.device_sign_in(device, target, username))
            journeys.close()
            if args.warmup > 0:  # the server's first seconds (imports, first connections,
                # templates compiled) are not the empty database's cost
                for scenario in SCENARIOS:
                    load.run_scenario(scenario, target, threads=args.threads,
                                      seconds=args.warmup, max_ops=args.max_ops, server_cores=1)
            print("\n=== empty database", flush=True)
            empty = measure(target, args, 1)
            print(f"\n=== filling: {args.rows:,} accounts, live sessions, refresh families, "
                  "events (SQL)", flush=True)
            before, after, took = fill(dsn, args.rows, client_id=fixture.client_id,
                                       resource=settings.get("DEFAULT_RESOURCE") or base)
            print(f"    filled in {took:.0f} s (VACUUM ANALYZE included)", flush=True)
            print("\n=== filled database", flush=True)
            filled = measure(target, args, 1)
        finally:
            proc.terminate()
            proc.join(10)
            if proc.is_alive():
                proc.kill()
    print(f"\nfilled ÷ empty ({args.rows:,} rows per table; target >= 0.90):")
    for scenario in SCENARIOS:
        e, f = empty[scenario], filled[scenario]
        print(f"  {scenario:<14} wall: {e.per_core:7.1f} -> {f.per_core:7.1f} ops/s/core = "
              f"{f.per_core / e.per_core:4.2f};  cpu: {e.per_cpu_second:7.1f} -> "
              f"{f.per_cpu_second:7.1f} ops/cpu-s = {f.per_cpu_second / e.per_cpu_second:4.2f}"
              f"  (load {e.load_avg:.1f} / {f.load_avg:.1f}; p50 {e.percentile(0.5) * 1e3:.0f} -> "
              f"{f.percentile(0.5) * 1e3:.0f} ms)")
    print("\nPostgreSQL bytes per row (pg_total_relation_size growth ÷ rows, indexes included):")
    for table in TABLES:
        grown = after[table] - before[table]
        print(f"  {table:<15} {grown / args.rows:7.0f} B/row  ({grown / 2**20:,.0f} MiB)")
    per_account = sum(after[t] - before[t] for t in TABLES) / args.rows
    print(f"  an account with one live session, one refresh family and one event: "
          f"{per_account:.0f} B")
    print("\nRedis bytes a live session leaves (MEMORY USAGE of its keys, by kind):")
    print(f"  browser sign-in + code: {browser_bytes} B  {browser_kinds}")
    print(f"  app sign-in + code:     {app_bytes} B  {app_kinds}")
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
