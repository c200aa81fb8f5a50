"""Drivers for the migration jobs' tests: generated exports, the command run as an operator
runs it (in this process, or as a process of its own that a test may kill), and dumps of what
the jobs wrote, to compare two runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from bench.legacy_export import generate
from gateway.extensions import db

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))
# Every column of an account the import writes or keeps; `id` and `sub` are random per run
# (a sequence, a token), so runs of different histories are compared without them.
ACCOUNT_COLUMNS = ("bhxh", "full_name", "dob", "sex", "cccd", "old_id_number", "phone", "email",
                   "status", "level", "password_hash", "must_change_password", "created_at")


def export(tmp_path: Path, rows: int, *, seed: int = 1, dirty: float = 0.05, name="legacy.csv",
           **flags) -> tuple[Path, dict]:
    """A generated legacy export (bench/legacy_export.py) and its manifest."""
    path = tmp_path / name
    stem = path.with_suffix("")
    manifest = generate(path, rows=rows, seed=seed, dirty=dirty,
                        verification=Path(f"{stem}-verification.csv"),
                        vneid=Path(f"{stem}-vneid.csv"), **flags)
    return path, manifest


@contextmanager
def thread_worker(app):
    """On PostgreSQL, a worker of the migration queue in a thread of this process while the
    block runs (started again whenever it has caught up): the command can then run with
    ``--workers 0``, without starting a worker process per command. Nothing elsewhere."""
    from gateway.jobs import worker
    from gateway.jobs.queue import MIGRATION_QUEUE, queue_of

    if queue_of(app) is None:
        yield
        return
    stop = threading.Event()
    failures: list[BaseException] = []

    def loop():
        while not stop.is_set():
            try:
                worker.run(app, concurrency=1, wait=False, queues=[MIGRATION_QUEUE],
                           install_signal_handlers=False)
            except BaseException as exc:  # noqa: BLE001 — re-raised by the test's thread
                failures.append(exc)
                return
            stop.wait(0.1)

    thread = threading.Thread(target=loop, daemon=True, name="migration-worker")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(120)
    if failures:
        raise failures[0]


def run(app, *args) -> tuple[int, dict | None, str]:
    """The command in this process: (exit status, its JSON output or None, stderr). Unless
    the test names ``--workers``, the queue's work is done by a worker thread of this process
    (thread_worker) rather than by worker processes the command starts."""
    args = tuple(map(str, args))
    if "--workers" not in args and args and args[0] != "work":
        with thread_worker(app):
            result = app.test_cli_runner().invoke(args=["migrate", *args, "--workers", "0"])
    else:
        result = app.test_cli_runner().invoke(args=["migrate", *args])
    payload = None
    if result.exit_code == 0 and "--json" in args:
        payload = json.loads(result.stdout)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, payload, result.stderr


def environment(app) -> dict:
    """GATEWAY_* variables for a process of its own with ``app``'s settings."""
    from gateway.jobs.migration.coordinator import worker_environment

    return worker_environment(app)


def spawn(app, *args) -> subprocess.Popen:
    """`flask --app wsgi migrate …` as an operator starts it, in a process group of its own
    (its workers with it), so a test can kill the lot."""
    return subprocess.Popen([FLASK, "--app", "wsgi", "migrate", *map(str, args)], cwd=ROOT,
                            env=environment(app), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def dump(*, with_ids: bool = True) -> list[tuple]:
    """Every account, by social-insurance number, with every column the import touches."""
    columns = (("id", "sub") if with_ids else ()) + ACCOUNT_COLUMNS + ("imported",)
    select = ", ".join(c for c in columns if c != "imported")
    rows = db.session.execute(text(
        f"SELECT {select}, imported_at IS NOT NULL FROM accounts ORDER BY bhxh")).all()  # noqa: S608
    db.session.rollback()
    return [tuple(str(v) for v in row) for row in rows]


def report_lines(path: str) -> list[list[str]]:
    import csv

    with open(path, encoding="utf-8") as handle:
        return list(csv.reader(handle))[1:]


def table_counts() -> dict[str, int]:
    counts = {}
    for table in ("accounts", "import_jobs", "import_chunks", "import_parts", "import_rejects",
                  "legacy_rows", "events"):
        counts[table] = db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608
    db.session.rollback()
    return counts


def kill_group(process: subprocess.Popen, sig) -> None:
    os.killpg(process.pid, sig)
    process.wait(timeout=30)
