"""Who runs a migration job's steps (bookkeeping.py): the task queue's workers, or this process.

On PostgreSQL the operator's command is the coordinator. It defers one queue job per
chunk still to stage (``gateway.migration.stage``, queue ``migration``), starts ``--workers
N`` - 1 worker processes of its own on this host (``flask --app wsgi migrate work``: the
migration queue only, one job at a time — the work is CPU-bound Python and PostgreSQL's) and,
unless N is 0, works itself, taking steps no one holds from the last back (the queue's
workers take them from the first), and follows the job: once every chunk is staged it
moves the job to merging and defers one job per part (``gateway.migration.merge``); once
every part is merged it finishes the job itself (a short step). Any ``flask --app wsgi
worker`` on any host takes the same jobs, so ``--workers 0`` leaves them all to workers
elsewhere.

A queueing lock per chunk and per part keeps at most one of its jobs waiting. Not
procrastinate's ``lock``: a worker killed mid-chunk leaves its job "doing" (and the lock
held) until the stalled-job retry notices, whereas the chunk's row lock in PostgreSQL goes
with the dead worker's connection — the next run of that chunk, deferred by a re-run of the
command, starts at once and finds the chunk either staged (nothing to do) or pending
(everything to do). The command itself can be killed and run again at any moment: all it
knows is in the job's rows.

Without PostgreSQL (the embedded default) there is no queue: the command runs every step in
place, in the same order and with the same transactions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from flask import current_app
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import text

from gateway.extensions import db
from gateway.jobs.migration import bookkeeping
from gateway.jobs.queue import MIGRATION_MERGE, MIGRATION_QUEUE, MIGRATION_STAGE, queue_of
from gateway.models import ImportChunk, ImportPart
from gateway.settings import default_settings

POLL_SECONDS = 0.5


class MigrationJobFailed(RuntimeError):  # noqa: N818 — what the operator reads
    """A chunk or part whose queue job failed for good (its retries spent), or workers that
    died: the job stays resumable; running the command again retries what is left."""


def run_inline(job_id: int, *, commit: bool = True,
               on_progress: Callable[[dict], None] | None = None) -> dict:
    """Every remaining step in this process (the embedded default; dry runs)."""
    bookkeeping.recover_staging(job_id, commit=commit)
    for number in bookkeeping.pending(ImportChunk, job_id):
        bookkeeping.stage_chunk(job_id, number, commit=commit)
        if on_progress and commit:
            on_progress(bookkeeping.progress(job_id))
    bookkeeping.start_merging(job_id, commit=commit)
    for number in bookkeeping.pending(ImportPart, job_id):
        bookkeeping.merge_part(job_id, number, commit=commit)
        if on_progress and commit:
            on_progress(bookkeeping.progress(job_id))
    return bookkeeping.finish_job(job_id, commit=commit)


def _defer(task: str, job_id: int, numbers: list[int], what: str) -> None:
    queue = queue_of(current_app)
    for number in numbers:
        try:
            queue.defer_with(task, queue=MIGRATION_QUEUE,
                             queueing_lock=f"migration:{job_id}:{what}:{number}",
                             job_id=job_id, number=number)
        except AlreadyEnqueued:
            continue  # one is already waiting


def _failed(job_id: int) -> list[str]:
    found = db.session.execute(text(
        "SELECT task_name, args FROM procrastinate_jobs WHERE task_name IN (:stage, :merge) "
        "AND status = 'failed' AND (args->>'job_id')::int = :job"),
        {"stage": MIGRATION_STAGE, "merge": MIGRATION_MERGE, "job": job_id}).all()
    db.session.commit()
    return [f"{task.rsplit('.', 1)[1]} {args['number']}" for task, args in found]


def _clear_failed(job_id: int) -> None:
    """Forget the failed queue jobs of an earlier attempt: this run defers them again."""
    db.session.execute(text(
        "DELETE FROM procrastinate_jobs WHERE task_name IN (:stage, :merge) "
        "AND status = 'failed' AND (args->>'job_id')::int = :job"),
        {"stage": MIGRATION_STAGE, "merge": MIGRATION_MERGE, "job": job_id})
    db.session.commit()


def worker_environment(app) -> dict:
    """The settings of ``app`` as GATEWAY_* variables, so a worker process started here
    works on the same database whatever way this one was configured."""
    env = dict(os.environ)
    for name in default_settings():
        value = app.config[name]
        env[f"GATEWAY_{name}"] = ("true" if value else "false") if isinstance(value, bool) \
            else str(value)
    return env


def start_workers(app, count: int) -> list[subprocess.Popen]:
    flask = str(Path(sys.executable).with_name("flask"))
    root = Path(__file__).resolve().parents[3]
    env = worker_environment(app)
    return [subprocess.Popen(  # noqa: S603 — our own command, no shell
        [flask, "--app", "wsgi", "migrate", "work", "--parent", str(os.getpid()),
         "--name", f"migration-{os.getpid()}-{i}"], cwd=root, env=env,
        stdout=subprocess.DEVNULL) for i in range(count)]


def stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_on_queue(job_id: int, *, workers: int,
                 on_progress: Callable[[dict], None] | None = None,
                 started: list[subprocess.Popen] | None = None,
                 work_here: bool = False) -> dict:
    """Defer the remaining steps to the task queue and follow them until the job is done.
    ``started``: worker processes the caller started already (while it planned the file,
    so that their start-up and the planning overlap); else ``workers`` are started here.
    They are stopped at the end either way. ``work_here``: between two looks at the job,
    this process stages (then merges) a step no one holds, from the last one back — the
    queue's workers take them from the first — instead of waiting idle; the queue job of a
    step done here later finds it done."""
    app = current_app._get_current_object()
    _clear_failed(job_id)
    if bookkeeping.recover_staging(job_id):
        # Merges a run before the crash left waiting would find the job staging again and
        # do nothing; they are deferred again once it is merging.
        db.session.execute(text(
            "DELETE FROM procrastinate_jobs WHERE task_name = :merge AND status = 'todo' "
            "AND (args->>'job_id')::int = :job"), {"merge": MIGRATION_MERGE, "job": job_id})
        db.session.commit()
    state = bookkeeping.progress(job_id)["state"]
    if state == "staging":
        _defer(MIGRATION_STAGE, job_id, bookkeeping.pending(ImportChunk, job_id), "stage")
    merges_deferred = False
    processes = started if started is not None else start_workers(app, workers)
    try:
        while True:
            status = bookkeeping.progress(job_id)
            if on_progress:
                on_progress(status)
            if status["state"] == "staging" and status["chunks_staged"] == status["chunks"]:
                bookkeeping.start_merging(job_id)
                continue
            if status["state"] == "merging" and not merges_deferred:
                _defer(MIGRATION_MERGE, job_id, bookkeeping.pending(ImportPart, job_id),
                       "merge")
                merges_deferred = True
            if status["state"] in ("merging", "done") and (
                    status["parts_merged"] == status["parts"]):
                result = bookkeeping.finish_job(job_id)
                _drop_waiting(job_id)
                return result
            failed = _failed(job_id)
            if failed:
                raise MigrationJobFailed(
                    f"job {job_id}: queue jobs failed ({', '.join(failed)}); see "
                    "procrastinate_jobs, then run the same command again to resume")
            if processes and all(p.poll() is not None for p in processes):
                raise MigrationJobFailed(f"job {job_id}: every local worker stopped; run the "
                                         "same command again to resume")
            if work_here and _work_one(job_id, status["state"], merges_deferred):
                continue
            time.sleep(POLL_SECONDS)
    finally:
        stop_workers(processes)


def _work_one(job_id: int, state: str, merging: bool) -> bool:
    """Stage or merge one step of the job no one holds, in this process; False if none."""
    if state == "staging":
        number = bookkeeping.claim(ImportChunk, job_id)
        if number is not None:
            return bookkeeping.stage_chunk(job_id, number)
    elif state == "merging" and merging:
        number = bookkeeping.claim(ImportPart, job_id)
        if number is not None:
            return bookkeeping.merge_part(job_id, number)
    db.session.rollback()
    return False


def _drop_waiting(job_id: int) -> None:
    """The finished job's queue jobs still waiting (steps this process did): nothing is left
    for them to do."""
    db.session.execute(text(
        "DELETE FROM procrastinate_jobs WHERE task_name IN (:stage, :merge) "
        "AND status = 'todo' AND (args->>'job_id')::int = :job"),
        {"stage": MIGRATION_STAGE, "merge": MIGRATION_MERGE, "job": job_id})
    db.session.commit()
