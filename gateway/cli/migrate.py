"""`flask --app wsgi migrate …`: bring the old VssID system's accounts into the gateway.

(`migrate` is this project's group; `flask db` is Flask-Migrate's, the schema's.)

    migrate import-legacy FILE        the old system's accounts
    migrate import-verification FILE  the population database's results
    migrate link-vneid FILE           VNeID subjects, linked by the linking rules
        common options: [--workers N] [--dry-run] [--json] [--report PATH]
                        [--chunk-rows N] [--rerun]
    migrate work               a worker for the migration queue only (started by the above)

How a job runs, survives a crash and is resumed: gateway/jobs/migration/. The output with
``--json`` is one object on stdout::

    {"job", "kind", "run", "rows", "inserted", "updated", "unchanged",
     "rejected": {REASON: COUNT}, "conflicts": {REASON: COUNT}, "report": PATH,
     "dry_run": bool, "already_done": bool}

Progress goes to stderr: a bar (rows/s, ETA) on a terminal, a plain line every few seconds
otherwise. Exit status: 0 done, 1 a step failed (run the command again to resume), 2 the
file was refused (one line ``error: file: CODE (detail)``, nothing written).
"""

from __future__ import annotations

import csv
import os
import signal
import sys
import threading
import time

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway.cli import emit_json, fail
from gateway.extensions import db
from gateway.jobs import worker as queue_worker
from gateway.jobs.migration import bookkeeping, coordinator, files
from gateway.jobs.queue import MIGRATION_QUEUE, queue_of

REPORT_HEADER = ["line", "reason", "field", "bhxh_number", "id_number", "imported"]
PLAIN_EVERY = 5.0  # seconds between progress lines when stderr is not a terminal


@click.group("migrate", help="Migration jobs: import the old VssID system's accounts, the "
             "population-database results, and link VNeID identities. A job is split into "
             "chunks run by the task queue's workers (PostgreSQL), resumable after any crash: "
             "run the same command again.")
def group():
    pass


class Progress:
    """Rows staged then parts merged, as a tqdm bar on a terminal, plain lines otherwise."""

    def __init__(self, label: str, stream=None):
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.bar = None
        self.phase = None
        self.started = time.monotonic()
        self.last_line = 0.0
        self.first_rows = None

    def __call__(self, status: dict) -> None:
        phase = "staging" if status["state"] == "staging" else "merging"
        done, total = ((status["rows_staged"], status["lines"]) if phase == "staging"
                       else (status["parts_merged"], status["parts"]))
        if self.tty:
            self._bar(phase, done, total)
        else:
            self._line(phase, done, total)

    def _bar(self, phase: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if phase != self.phase:
            self.close()
            self.phase = phase
            self.bar = tqdm(total=total, unit="rows" if phase == "staging" else "parts",
                            unit_scale=phase == "staging", desc=f"{self.label}: {phase}",
                            file=self.stream,
                            dynamic_ncols=True)
        self.bar.update(max(0, done - self.bar.n))

    def _line(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if phase == self.phase and now - self.last_line < PLAIN_EVERY and done < total:
            return
        if phase != self.phase:
            self.phase, self.started, self.first_rows = phase, now, done
        elapsed = max(now - self.started, 1e-9)
        rate = (done - self.first_rows) / elapsed
        eta = f", ETA {(total - done) / rate:.0f} s" if rate > 0 and done < total else ""
        unit = "rows" if phase == "staging" else "parts"
        share = 100 * done / total if total else 100.0
        click.echo(f"{self.label}: {phase} {done}/{total} {unit} ({share:.1f}%), "
                   f"{rate:.0f} {unit}/s{eta}", file=self.stream)
        self.last_line = now

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def write_report(job_id: int, path: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(REPORT_HEADER)
        for line, reason, field, bhxh, id_number, refused in bookkeeping.report_rows(job_id):
            writer.writerow([line, reason, field, bhxh, id_number, "no" if refused else "yes"])


def run_job(kind: str, file: str, *, workers: int, dry_run: bool, as_json: bool,
            report: str | None, chunk_rows: int, rerun: bool) -> None:
    module = bookkeeping.kind_module(kind)
    path = os.path.abspath(file)
    report = os.path.abspath(report or f"{path}.report.csv")
    # The workers this command starts load the application while it reads the file.
    started = (coordinator.start_workers(current_app._get_current_object(), workers - 1)
               if workers > 1 and not dry_run and queue_of(current_app) is not None else [])
    try:
        plan = files.plan_file(path, module.HEADER, chunk_rows)
    except files.MigrationFileError as exc:
        coordinator.stop_workers(started)
        fail(exc)
    label = f"{kind} {os.path.basename(path)}"
    progress = Progress(label)
    already_done = False
    try:
        if dry_run:
            # A fresh job over the file, every step in this process, one transaction: the
            # report file is written, then everything is rolled back.
            job, _ = bookkeeping.open_job(kind, plan, fresh=True, commit=False)
            result = coordinator.run_inline(job.id, commit=False)
            write_report(job.id, report)
            db.session.rollback()
        else:
            job, created = bookkeeping.open_job(kind, plan, rerun=rerun)
            already_done = job.state == "done" and not created
            if already_done:
                result = job.result
            elif queue_of(current_app) is None:
                result = coordinator.run_inline(job.id, on_progress=progress)
            else:
                result = coordinator.run_on_queue(job.id, workers=workers,
                                                  on_progress=progress, started=started,
                                                  work_here=workers > 0)
            write_report(job.id, report)
    except (coordinator.MigrationJobFailed, bookkeeping.StagingLost) as exc:
        progress.close()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except files.MigrationFileError as exc:
        progress.close()
        fail(exc)
    finally:
        coordinator.stop_workers(started)  # those run_on_queue did not stop (an error)
    progress.close()
    output = {**result, "report": report, "dry_run": dry_run, "already_done": already_done}
    if as_json:
        emit_json(output)
        return
    state = "already done" if already_done else ("dry run, nothing written" if dry_run
                                                 else "done")
    click.echo(f"{kind} job {result['job']} ({state}): {result['rows']} rows, "
               f"{result['inserted']} inserted, {result['updated']} updated, "
               f"{result['unchanged']} unchanged, {sum(result['rejected'].values())} "
               f"rejected, {sum(result['conflicts'].values())} conflicts; report {report}")
    for reason, count in {**result["rejected"], **result["conflicts"]}.items():
        click.echo(f"  {reason}: {count}")


def _job_options(command):
    for option in reversed([
        click.option("--workers", type=click.IntRange(0, 64), default=1, show_default=True,
                     help="Processes working on the job on this host (PostgreSQL): the "
                          "command itself and N-1 worker processes it starts. Any `flask "
                          "--app wsgi worker` on any host also takes its chunks; 0 leaves "
                          "them all to those. Ignored on the embedded default, where the "
                          "command does the work itself."),
        click.option("--dry-run", is_flag=True,
                     help="Read and check the whole file and compute what the job would "
                          "insert, update and reject, in one transaction rolled back at the "
                          "end: nothing is written to the database (the report file is)."),
        click.option("--json", "as_json", is_flag=True,
                     help='Print one JSON object: {"rows", "inserted", "updated", '
                          '"unchanged", "rejected": {REASON: COUNT}, "conflicts": {...}, '
                          '"report", "job", ...}.'),
        click.option("--report", default=None, metavar="PATH",
                     help="Where to write the report CSV of rejected and conflicting lines "
                          "(line, reason, field, masked identifiers). Default: FILE.report.csv."),
        click.option("--chunk-rows", type=click.IntRange(10, 10_000_000), default=50_000,
                     show_default=True,
                     help="Lines per chunk (one queue job, one transaction) of a new job."),
        click.option("--rerun", is_flag=True,
                     help="Run a finished file again as a new job (its counts then show what "
                          "changed since: nothing, for the same database). Without it the "
                          "same file resumes its unfinished job or reports the finished one."),
    ]):
        command = option(command)
    return command


@group.command("import-legacy", help="Import the old system's account export (CSV, UTF-8, "
               "header bhxh_number,full_name,date_of_birth,sex,id_number,phone,email,"
               "password_hash,created_at,status). Accounts keep their legacy password hash "
               "(re-hashed to Argon2id at the first sign-in) and must change the password "
               "(MIGRATION_FORCE_PASSWORD_CHANGE). Bad lines are never fatal: each is "
               "reported with its line number and a stable reason (docs/operations.md). "
               "FILE must be readable at the same path by every worker host.")
@click.argument("file", type=click.Path(dir_okay=False))
@_job_options
@with_appcontext
def import_legacy(file, workers, dry_run, as_json, report, chunk_rows, rerun):
    run_job("legacy", file, workers=workers, dry_run=dry_run, as_json=as_json, report=report,
            chunk_rows=chunk_rows, rerun=rerun)


@group.command("import-verification", help="Import the national population database's "
               "results (CSV, UTF-8, header id_number,full_name,date_of_birth,verified,"
               "verified_at): sets or clears accounts.population_verified_at on every account "
               "holding the CCCD whose name and birth date agree — the flag the VNeID linking "
               "rules read. Lines that match no account, or another person, are reported.")
@click.argument("file", type=click.Path(dir_okay=False))
@_job_options
@with_appcontext
def import_verification(file, workers, dry_run, as_json, report, chunk_rows, rerun):
    run_job("verification", file, workers=workers, dry_run=dry_run, as_json=as_json,
            report=report, chunk_rows=chunk_rows, rerun=rerun)


@group.command("link-vneid", help="Link VNeID subjects from the national system (CSV, UTF-8, "
               "header vneid_subject,id_number,full_name,date_of_birth,level) to accounts by "
               "the linking rules of a VNeID sign-in (policies/linking.py). What the rules do "
               "not allow is reported; conflicts also go to the staff review queue (`links "
               "list`). No account is created and no SMS sent.")
@click.argument("file", type=click.Path(dir_okay=False))
@_job_options
@with_appcontext
def link_vneid(file, workers, dry_run, as_json, report, chunk_rows, rerun):
    run_job("vneid", file, workers=workers, dry_run=dry_run, as_json=as_json, report=report,
            chunk_rows=chunk_rows, rerun=rerun)


def _exit_with_parent(parent: int) -> None:
    """Stop gracefully (SIGTERM to ourselves) once the command that started us is gone (a
    kill -9 of the command would otherwise leave its workers behind; stopping in the middle of
    a step is safe, the step's transaction is simply not committed)."""
    def watch():
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="parent-watch").start()


@group.command("work", help="Run a worker for the migration queue only, one step at a time "
               "(`migrate import-*` starts these for --workers; `flask --app wsgi worker` "
               "runs the same steps among its other jobs). Stops on SIGTERM/SIGINT.")
@click.option("--parent", type=int, default=None,
              help="Stop when the process with this id is no longer this one's parent.")
@click.option("--name", default=None, help="Name in the logs (default: host-pid).")
@with_appcontext
def work(parent, name):
    app = current_app._get_current_object()
    if queue_of(app) is None:
        click.echo("error: DATABASE_URL: the task queue needs PostgreSQL; on the embedded "
                   "default the migration commands do the work themselves", err=True)
        sys.exit(2)
    if parent:
        if os.getppid() != parent:
            click.echo("migrate work: the command that started this worker is gone", err=True)
            return
        _exit_with_parent(parent)
    queue_worker.run(app, concurrency=1, wait=True, name=name, queues=[MIGRATION_QUEUE])
