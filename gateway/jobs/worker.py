"""The worker of the task queue: `flask --app wsgi worker` runs ``run(app)``.

Run as many workers as needed, on one machine or many: each takes jobs from PostgreSQL with
``SELECT … FOR UPDATE SKIP LOCKED`` (procrastinate's fetch), so a job runs in one worker at a
time. What a worker does:

* runs the jobs the web processes deferred (``gateway.outbox.deliver``), each task in a thread
  of its own with an app context of its own (``concurrency`` at once);
* defers the periodic jobs when they fall due — the outbox sweep every minute, the password
  reminders at 02:00 UTC (09:00 in Viet Nam), the stalled-job retry every minute, the sweeps
  of expired rows (gateway/services/sweeps.py) every five minutes. Every worker
  tries; the database keeps one job per task and tick (procrastinate's periodic defers), a
  queueing lock keeps at most one of each waiting, and a lock one sweep and one reminders job
  running;
* beats every QUEUE_STALLED_AFTER / 3 seconds. A worker killed mid-job (SIGKILL, a lost
  machine) leaves its jobs "doing"; once it has missed its beats for QUEUE_STALLED_AFTER, the
  next stalled-job retry puts them back in the queue, and the rerun takes back the messages the
  dead run had claimed (gateway/services/outbox/delivery.py).

SIGINT/SIGTERM stop a worker gracefully: it takes no new job and waits for its running ones.
Succeeded jobs are deleted; failed ones stay for inspection (procrastinate_jobs).
"""

from __future__ import annotations

import asyncio
import os
import socket
from contextlib import contextmanager

import procrastinate
from flask import g
from procrastinate.exceptions import ConnectorException
from sqlalchemy import make_url

from gateway.availability import PG_CONNECT_TIMEOUT
from gateway.jobs import tasks
from gateway.jobs.queue import (
    DELIVER,
    MIGRATION_MERGE,
    MIGRATION_QUEUE,
    MIGRATION_STAGE,
    REMIND,
    RETRY_STALLED,
    SWEEP,
    SWEEP_EXPIRED,
)

EVERY_MINUTE = "* * * * *"
EVERY_FIVE_MINUTES = "*/5 * * * *"
REMINDER_CRON = "0 2 * * *"  # 02:00 UTC = 09:00 in Viet Nam: reminders arrive in the morning
# A periodic job missed while no worker ran (a deployment at 02:00) is still deferred when a
# worker starts within this many seconds of its time (procrastinate's default: 10 minutes).
PERIODIC_MAX_DELAY = 6 * 3600
SHUTDOWN_GRACE = 30  # seconds a stopping worker waits for its jobs before aborting them


def conninfo(database_url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL (the driver's name removed)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def _owner(context: procrastinate.JobContext) -> str:
    return f"job:{context.job.id}"


@contextmanager
def _in_app(flask_app, request_id: str | None = None):
    with flask_app.app_context():
        if request_id:
            g.request_id = request_id
        yield


async def retry_stalled_jobs(queue: procrastinate.App, stalled_after: float) -> list[int]:
    """Put back in the queue every job left "doing" by a worker that stopped beating."""
    retried = []
    for job in await queue.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after):
        try:
            await queue.job_manager.retry_job(job)
        except ConnectorException:  # another worker's retry got there first
            continue
        retried.append(job.id)
    return retried


def build(flask_app, *, concurrency: int = 1) -> procrastinate.App:
    """A procrastinate app whose tasks run the gateway's task functions in ``flask_app``."""
    url = make_url(flask_app.config["DATABASE_URL"])
    connect = {} if "connect_timeout" in url.query else {"connect_timeout": PG_CONNECT_TIMEOUT}
    stalled_after = flask_app.config["QUEUE_STALLED_AFTER"]
    queue = procrastinate.App(
        connector=procrastinate.PsycopgConnector(
            conninfo=conninfo(flask_app.config["DATABASE_URL"]), kwargs=connect,
            # listening, heartbeats, fetching and finishing jobs, periodic defers
            min_size=2, max_size=concurrency + 3),
        periodic_defaults={"max_delay": PERIODIC_MAX_DELAY},
    )

    # The rows' claims make a rerun harmless; a few quick retries cover a database hiccup.
    @queue.task(name=DELIVER, pass_context=True,
                retry=procrastinate.RetryStrategy(max_attempts=4, exponential_wait=4))
    def deliver(context, keys: list[str], request_id: str | None = None):
        with _in_app(flask_app, request_id):
            return tasks.deliver_messages(keys, lease_owner=_owner(context))

    @queue.periodic(cron=EVERY_MINUTE, periodic_id="every-minute")
    @queue.task(name=SWEEP, pass_context=True, lock=SWEEP, queueing_lock=SWEEP)
    def sweep(context, timestamp: int):
        with _in_app(flask_app):
            return tasks.sweep_outbox(lease_owner=_owner(context))

    # Bounded batches, each committed: a sweep interrupted loses nothing, the next goes on.
    @queue.periodic(cron=EVERY_FIVE_MINUTES, periodic_id="every-five-minutes")
    @queue.task(name=SWEEP_EXPIRED, lock=SWEEP_EXPIRED, queueing_lock=SWEEP_EXPIRED)
    def sweep_expired(timestamp: int):
        with _in_app(flask_app):
            return tasks.sweep_expired()

    @queue.periodic(cron=REMINDER_CRON, periodic_id="daily")
    @queue.task(name=REMIND, lock=REMIND, queueing_lock=REMIND,
                retry=procrastinate.RetryStrategy(max_attempts=3, wait=600))
    def remind(timestamp: int):
        with _in_app(flask_app):
            return tasks.remind_passwords()

    # No lock: a retry that died holding one would keep every later retry from running.
    @queue.periodic(cron=EVERY_MINUTE, periodic_id="every-minute")
    @queue.task(name=RETRY_STALLED, queueing_lock=RETRY_STALLED)
    async def retry_stalled(timestamp: int):
        return await retry_stalled_jobs(queue, stalled_after)

    # A migration job's steps (gateway/jobs/migration/coordinator.py). A retry covers a
    # database hiccup; the chunk's or part's row lock and state make a rerun a no-op.
    migration_retry = procrastinate.RetryStrategy(max_attempts=3, wait=5)

    @queue.task(name=MIGRATION_STAGE, queue=MIGRATION_QUEUE, retry=migration_retry)
    def stage(job_id: int, number: int):
        with _in_app(flask_app):
            return tasks.stage_import_chunk(job_id, number)

    @queue.task(name=MIGRATION_MERGE, queue=MIGRATION_QUEUE, retry=migration_retry)
    def merge(job_id: int, number: int):
        with _in_app(flask_app):
            return tasks.merge_import_part(job_id, number)

    return queue


def options(flask_app, *, concurrency: int = 4, wait: bool = True, name: str | None = None,
            install_signal_handlers: bool = True, queues: list[str] | None = None) -> dict:
    """procrastinate's worker options for ``flask_app`` (``wait=False``: stop once no job is
    left to do; ``queues``: only these queues, default every one)."""
    stalled_after = flask_app.config["QUEUE_STALLED_AFTER"]
    return {"queues": queues,
        "concurrency": concurrency, "wait": wait,
        "name": name or f"{socket.gethostname()}-{os.getpid()}",
        "delete_jobs": "successful", "install_signal_handlers": install_signal_handlers,
        "update_heartbeat_interval": stalled_after / 3, "stalled_worker_timeout": stalled_after,
        "shutdown_graceful_timeout": SHUTDOWN_GRACE,
    }


def run(flask_app, *, concurrency: int = 4, **kwargs) -> None:
    """Run a worker until stopped (``wait=False``: until no job is left to do)."""
    build(flask_app, concurrency=concurrency).run_worker(
        **options(flask_app, concurrency=concurrency, **kwargs))


def retry_stalled_now(flask_app) -> list[int]:
    """What the periodic stalled-job retry does, at once (operators, tests)."""
    queue = build(flask_app)

    async def retry():
        async with queue.open_async():
            return await retry_stalled_jobs(queue, flask_app.config["QUEUE_STALLED_AFTER"])

    return asyncio.run(retry())
