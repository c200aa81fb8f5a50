"""The task queue: procrastinate, kept in the gateway's own PostgreSQL (docs/operations.md says
why this one). This module is the web side: it defers jobs; gateway/jobs/worker.py runs them.

How a message reaches a worker: a request writes its messages in its own transaction (the
outbox); after the commit their keys are handed over (gateway/services/outbox/enqueue.py) to
the work that runs after the response; there ``defer_delivery`` inserts one job
``gateway.outbox.deliver`` with the keys, on a connection of the app's own pool. Deferring
after the response keeps it off the request path (an answer costs the same whether or not
it wrote a message). A process that dies between the commit and the deferral loses only the
trigger: the periodic sweep delivers the row within a minute.

Where there is no PostgreSQL (the embedded default, SQLite), there is no queue: the same
task function (gateway/jobs/tasks.py) delivers the keys in place, after the response.

Public surface::

    init_app(app)               chooses the queue (PostgreSQL) or in-place work (SQLite)
    queue_of(app) -> Queue | None
    Queue.defer(task, **kwargs) -> job id
    DELIVER, SWEEP, SWEEP_EXPIRED, REMIND, RETRY_STALLED   the tasks' names
"""

from __future__ import annotations

import procrastinate
from flask import current_app, g
from sqlalchemy import make_url

from gateway.extensions import db
from gateway.jobs import tasks
from gateway.services.outbox import set_dispatch

EXTENSION = "gateway.queue"
DELIVER = "gateway.outbox.deliver"
SWEEP = "gateway.outbox.sweep"
REMIND = "gateway.passwords.remind"
SWEEP_EXPIRED = "gateway.sweeps.expired"
RETRY_STALLED = "gateway.queue.retry_stalled"
# The migration jobs' steps (gateway/jobs/migration/), on a queue of their own so that the
# command's own workers (`migrate work`) take nothing else.
MIGRATION_QUEUE = "migration"
MIGRATION_STAGE = "gateway.migration.stage"
MIGRATION_MERGE = "gateway.migration.merge"


_deferrer: procrastinate.App | None = None


def _job_deferrer() -> procrastinate.App:
    """One per process: its connector is never opened, it only ever writes on a connection it
    is given (one of the app's own pool), so the web process opens no second pool for the
    queue. (procrastinate renames its built-in tasks for every App made in a process.)"""
    global _deferrer
    if _deferrer is None:
        _deferrer = procrastinate.App(connector=procrastinate.SyncPsycopgConnector())
    return _deferrer


class Queue:
    """Defers jobs into the queue's tables, in the app's database (db.engine)."""

    def defer(self, task: str, **kwargs) -> int:
        """Insert a job for ``task(**kwargs)`` (JSON-able arguments) and commit it."""
        return self.defer_with(task, **kwargs)

    def defer_with(self, task: str, *, queue: str | None = None,
                   queueing_lock: str | None = None, **kwargs) -> int:
        """``defer`` on a named queue and/or with a queueing lock (procrastinate's
        AlreadyEnqueued when a job with that lock is already waiting)."""
        options = {k: v for k, v in (("queue", queue), ("queueing_lock", queueing_lock)) if v}
        raw = db.engine.raw_connection()
        try:
            deferrer = _job_deferrer().configure_task(task, connection=raw.driver_connection,
                                                      **options)
            job_id = deferrer.defer(**kwargs)
            raw.commit()
            return job_id
        finally:
            raw.close()  # back to the pool (rolled back there if the insert failed)


def queue_of(app) -> Queue | None:
    return app.extensions.get(EXTENSION)


def defer_delivery(keys: list[str]) -> None:
    """The dispatch on PostgreSQL: one delivery job for the messages a request committed,
    carrying the request's id so that the worker's events name the request."""
    extra = {"request_id": g.request_id} if g.get("request_id") else {}
    current_app.extensions[EXTENSION].defer(DELIVER, keys=keys, **extra)


def init_app(app) -> None:
    if make_url(app.config["DATABASE_URL"]).get_backend_name() == "postgresql":
        app.extensions[EXTENSION] = Queue()
        set_dispatch(app, defer_delivery)
    else:
        set_dispatch(app, tasks.deliver_messages)
