"""`python -m bench.migration`: the legacy import against a plain COPY, in one run.

For each size (``--rows``, default 100,000 and 1,000,000), on a fresh PostgreSQL database
(bench/server.py, loopback only, dropped at the end):

1. a legacy export of that size (bench/legacy_export.py, seeded, 5 % dirty);
2. **the physical limit**: ``COPY`` of the same file into a table of its ten columns (text)
   with two btree indexes, on the social-insurance number and the ID number — what the
   accounts table indexes for look-ups — timed; then dropped;
3. on the largest size only: the sign-in and refresh rate on that database before the import
   (`login+code` and `refresh_token` of `python -m bench`, same server and load generator);
4. **the import**: `flask --app wsgi migrate import-legacy FILE --workers W --json` as an
   operator runs it, timed, with the peak RSS (VmHWM) of the command and of each worker
   process it started, sampled from /proc every 0.5 s, and the CPU seconds it took: of the
   command and its workers (their rusage) and of the database's backends (sampled from
   /proc), against the plain COPY's backend — figures a loaded machine distorts less than
   wall time;
5. where the time went (from the job's rows: planning, staging, merging, finishing), the
   size on disk per account (accounts table and its indexes, and the whole database over the
   accounts), and the report's counts;
6. on the largest size: the sign-in and refresh rate again, and their ratio to step 3.

Then the projection for 35 million rows with 1, 2 and 8 workers: the measured per-row cost of
the work that spreads over workers (staging, merging: CPU of Python and of PostgreSQL) divided
among them, plus the work that does not (planning: one read of the file; finishing) — and a
floor no number of workers passes: PostgreSQL writing each row three times (staging, accounts,
the staging rows' deletion), estimated at three plain COPYs. Assumes the workers run on hosts
of their own and PostgreSQL keeps up; on this machine (``os.cpu_count()`` cores shared with the
database) only as many workers as cores can run at once.

Nothing is asserted; the figures are printed (and the load average, to read them by).

Past 250 lines on purpose: the samplers (peak memory, CPU of the processes and of the
database's backends), the baseline and the import are one measurement, read together.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from bench import legacy_export, load, server

ROOT = Path(__file__).resolve().parents[1]
FLASK = str(Path(sys.executable).with_name("flask"))
TARGET = 35_000_000
BASELINE_COLUMNS = legacy_export.HEADER


def _hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    """The process's children, from /proc/PID/task/*/children (a scan of every /proc/*/stat
    cost a fifth of a core at five samples a second, taken from the import it measures)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(child) for child in handle.read().split()]
        except (OSError, ValueError):
            continue
    return found


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a live process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving one database, sampled every 0.5 s
    until stopped (a backend's last half second before it exits is missed). On a loaded
    machine CPU seconds say more than wall time: they count what the work took, not what
    the other sessions left it."""

    def __init__(self, settings: dict):
        import psycopg

        url = settings["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        self.conn = psycopg.connect(url, autocommit=True)
        self.own = self.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        self.seen: dict[int, tuple[float, float]] = {}  # pid -> (first, last) sample
        self._stop = threading.Event()
        self._sample()
        self.baseline = {pid: first for pid, (first, _) in self.seen.items()}
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        for (pid,) in self.conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()").fetchall():
            cpu = _cpu_seconds(pid)
            first, last = self.seen.get(pid, (cpu, cpu))
            self.seen[pid] = (first, max(last, cpu))

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self._sample()

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.conn.close()
        # Backends alive at the start count from then; those born later, from zero.
        return sum(last - self.baseline.get(pid, 0.0) for pid, (_, last) in self.seen.items())


class PeakMemory:
    """Peak RSS of a process and of its children, sampled until stopped."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            for pid in [self.pid, *_children(self.pid)]:
                self.peaks[pid] = max(self.peaks.get(pid, 0), _hwm_kib(pid))
            time.sleep(0.5)

    def stop(self) -> tuple[int, int]:
        """(the command's peak, the largest worker's peak), in KiB."""
        self._stop.set()
        self._thread.join()
        workers = [kib for pid, kib in self.peaks.items() if pid != self.pid]
        return self.peaks.get(self.pid, 0), max(workers, default=0)


def copyable(path: Path) -> Path:
    """The file without the lines COPY itself refuses (a wrong column count, a cut last
    line): the same rows otherwise, for the baseline. Written before the clock starts."""
    import csv

    out = path.with_suffix(".copyable.csv")
    with open(path, encoding="utf-8", newline="") as source, \
            open(out, "w", encoding="utf-8", newline="") as target:
        writer = csv.writer(target, lineterminator="\n")
        for fields in csv.reader(source):
            if len(fields) == len(BASELINE_COLUMNS):
                writer.writerow(fields)
    return out


def baseline_copy(settings: dict, path: Path) -> tuple[float, float]:
    """(seconds, CPU seconds of its PostgreSQL backend) for COPY of the file's rows into an
    indexed table of its columns (then dropped)."""
    import psycopg

    path = copyable(path)
    url = settings["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    columns = ", ".join(f"{c} text" for c in BASELINE_COLUMNS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE bench_copy ({columns})")
        conn.execute("CREATE INDEX ON bench_copy (bhxh_number)")
        conn.execute("CREATE INDEX ON bench_copy (id_number)")
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        cpu = _cpu_seconds(backend)
        started = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(
                "COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)") as copy, \
                open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                copy.write(block)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds(backend) - cpu
        conn.execute("DROP TABLE bench_copy")
    return elapsed, cpu


def _environment(settings: dict) -> dict:
    env = dict(os.environ)
    for name, value in settings.items():
        env[f"GATEWAY_{name}"] = ("true" if value else "false") if isinstance(value, bool) \
            else str(value)
    return env


def run_import(settings: dict, path: Path, workers: int, chunk_rows: int) -> dict:
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    backends = BackendCpu(settings)
    started = time.perf_counter()
    process = subprocess.Popen(
        [FLASK, "--app", "wsgi", "migrate", "import-legacy", str(path), "--json",
         "--workers", str(workers), "--chunk-rows", str(chunk_rows)],
        cwd=ROOT, env=_environment(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    memory = PeakMemory(process.pid)
    out, err = process.communicate()
    elapsed = time.perf_counter() - started
    command_kib, worker_kib = memory.stop()
    database_cpu = backends.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the command and its workers
    python_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    if process.returncode != 0:
        raise SystemExit(f"bench: the import failed ({process.returncode}): {err[-2000:]}")
    return {"result": json.loads(out), "seconds": elapsed, "command_kib": command_kib,
            "worker_kib": worker_kib, "python_cpu": python_cpu, "database_cpu": database_cpu}


def job_phases(settings: dict, job_id: int) -> dict:
    """Seconds spent staging, merging and finishing, from the job's rows."""
    import psycopg

    url = settings["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        created, finished = conn.execute(
            "SELECT created_at, finished_at FROM import_jobs WHERE id = %s", (job_id,)).fetchone()
        first, staged = conn.execute("SELECT min(staged_at), max(staged_at) FROM import_chunks "
                                     "WHERE job_id = %s", (job_id,)).fetchone()
        merged = conn.execute("SELECT max(merged_at) FROM import_parts WHERE job_id = %s",
                              (job_id,)).fetchone()[0]
        accounts = conn.execute("SELECT count(*), pg_total_relation_size('accounts'), "
                                "pg_database_size(current_database()) FROM accounts").fetchone()
    return {"staging": (staged - created).total_seconds(),
            "first_chunk": (first - created).total_seconds(),
            "merging": (merged - staged).total_seconds(),
            "finishing": (finished - merged).total_seconds(),
            "accounts": accounts[0], "accounts_bytes": accounts[1], "database_bytes": accounts[2]}


def sign_in_rates(ctx, settings: dict, fixture, seconds: float, threads: int) -> dict:
    """ops/s of login+code and refresh_token against a server on this database."""
    cpus = sorted(os.sched_getaffinity(0))
    port = load.free_port()
    base = f"http://127.0.0.1:{port}"
    proc = ctx.Process(target=server.serve, args=({**settings, "ISSUER": base}, port, cpus[0]),
                       daemon=False)  # granian's master has children
    proc.start()
    try:
        load.wait_ready(base, proc)
        target = load.Target(base, fixture, device_history=1)
        rates = {}
        for scenario in ("login+code", "refresh_token"):
            result = load.run_scenario(scenario, target, threads=threads, seconds=seconds,
                                       max_ops=100_000, server_cores=1)
            rates[scenario] = (result.rate, result.errors)
        return rates
    finally:
        proc.terminate()
        proc.join(10)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.migration", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="each sign-in measurement (default 8)")
    parser.add_argument("--threads", type=int, default=6)
    parser.add_argument("--no-sign-in", action="store_true",
                        help="skip the sign-in and refresh measurement")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    ctx = multiprocessing.get_context("spawn")
    sizes = sorted(args.rows)
    print(f"VssID migration benchmark — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; "
          f"{args.workers} workers, chunks of {args.chunk_rows} lines")
    measured = {}
    with tempfile.TemporaryDirectory(prefix="bench-migration-") as workdir:
        for rows in sizes:
            path = Path(workdir) / f"legacy-{rows}.csv"
            started = time.perf_counter()
            manifest = legacy_export.generate(path, rows=rows, seed=args.seed, dirty=0.05,
                                              verification=None, vneid=None)
            print(f"\n== {rows} rows: export written in {time.perf_counter() - started:.1f} s "
                  f"({path.stat().st_size / 1e6:.0f} MB, {sum(manifest['dirty'].values())} "
                  "dirty)")
            with server.backend("production") as backend:
                settings = backend.settings
                from flask_migrate import upgrade

                from gateway import create_app
                from gateway.extensions import db

                app = create_app(settings)
                with app.app_context():
                    upgrade()
                    db.engine.dispose()
                copy_seconds, copy_cpu = baseline_copy(settings, path)
                print(f"   plain COPY into an indexed table: {copy_seconds:.1f} s "
                      f"({rows / copy_seconds:,.0f} rows/s), {copy_cpu:.1f} s of PostgreSQL "
                      "CPU")
                largest = rows == sizes[-1] and not args.no_sign_in
                if largest:
                    fixture = server.prepare(settings, {"web": 50})
                    empty = sign_in_rates(ctx, settings, fixture, args.seconds, args.threads)
                print(f"   load average before the import: {os.getloadavg()[0]:.2f}")
                run = run_import(settings, path, args.workers, args.chunk_rows)
                result = run["result"]
                phases = job_phases(settings, result["job"])
                rate = rows / run["seconds"]
                rest = (run["seconds"] - phases["staging"] - phases["merging"]
                        - phases["finishing"])
                print(f"   import: {run['seconds']:.1f} s ({rate:,.0f} rows/s) = "
                      f"{copy_seconds / run['seconds']:.2f} x the plain COPY; "
                      f"staging {phases['staging']:.1f} s, merging {phases['merging']:.1f} s, "
                      f"finishing {phases['finishing']:.1f} s, the rest (starting the command, "
                      f"planning the file, writing the report) {rest:.1f} s; the first chunk "
                      f"staged {phases['first_chunk']:.1f} s after the job opened")
                cpu = run["python_cpu"] + run["database_cpu"]
                print(f"   CPU: the command and its workers {run['python_cpu']:.1f} s, "
                      f"PostgreSQL {run['database_cpu']:.1f} s = {cpu / rows * 1e6:.1f} µs per "
                      f"row, {cpu / copy_cpu:.1f} x the plain COPY's; on {os.cpu_count()} cores "
                      f"with nothing else running, at best {copy_cpu * os.cpu_count() / cpu:.2f}"
                      " x its time")
                print(f"   report: {result['inserted']} inserted, "
                      f"{sum(result['rejected'].values())} rejected "
                      f"({len(result['rejected'])} reasons), "
                      f"{sum(result['conflicts'].values())} conflicts")
                print(f"   peak RSS: command {run['command_kib'] / 1024:.0f} MiB, largest "
                      f"worker {run['worker_kib'] / 1024:.0f} MiB")
                per_account = phases["accounts_bytes"] / max(phases["accounts"], 1)
                print(f"   on disk: accounts (table + indexes) {per_account:.0f} bytes per "
                      f"account; whole database {phases['database_bytes'] / 1e6:.0f} MB for "
                      f"{phases['accounts']} accounts")
                if largest:
                    after = sign_in_rates(ctx, settings, fixture, args.seconds, args.threads)
                    for scenario, (before_rate, before_errors) in empty.items():
                        after_rate, after_errors = after[scenario]
                        print(f"   {scenario}: {before_rate:.1f} ops/s on the empty database, "
                              f"{after_rate:.1f} after the import = "
                              f"{after_rate / before_rate:.2f} x (errors {before_errors}/"
                              f"{after_errors})")
                measured[rows] = (run, phases, copy_seconds)
    rows = sizes[-1]
    run, phases, copy_seconds = measured[rows]
    parallel = (phases["staging"] + phases["merging"]) * args.workers / rows  # worker-s/row
    serial = (run["seconds"] - phases["staging"] - phases["merging"]) / rows
    floor = 3 * copy_seconds / rows
    print(f"\nprojection for {TARGET:,} rows (from the {rows:,}-row run: "
          f"{parallel * 1e6:.1f} worker-µs per row in staging and merging, "
          f"{serial * 1e6:.1f} µs per row serial; PostgreSQL floor {floor * 1e6:.1f} µs per row "
          "= three plain COPYs):")
    for workers in (1, 2, 8):
        seconds = TARGET * (max(parallel / workers, floor) + serial)
        print(f"   {workers} worker{'s' if workers > 1 else ' '}: {seconds / 3600:.1f} h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
