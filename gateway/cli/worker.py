"""`flask --app wsgi worker [--concurrency N] [--until-empty]`: a worker of the task queue.

It delivers the outbox and runs the periodic jobs (the outbox sweep every minute, the password
reminders daily, the stalled-job retry) — see gateway/jobs/worker.py. Start one or more on any
number of machines, with the same GATEWAY_* settings as the web processes; SIGTERM stops one
gracefully. The queue lives in PostgreSQL: on the embedded default (SQLite) there is no
worker to run, and the command says so.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway.jobs import worker as queue_worker
from gateway.jobs.queue import queue_of


@click.command("worker", help="Run a worker of the task queue (PostgreSQL): outbox delivery, "
               "the outbox sweep, password reminders. Stops gracefully on SIGTERM/SIGINT.")
@click.option("--concurrency", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Jobs run at once, each in its own thread (they mostly wait for the SMS "
                   "gateway or a relying service).")
@click.option("--until-empty", is_flag=True,
              help="Stop once no job is left to do, instead of waiting for more.")
@click.option("--name", default=None, help="Name in the logs (default: host-pid).")
@with_appcontext
def command(concurrency, until_empty, name):
    app = current_app._get_current_object()
    if queue_of(app) is None:
        click.echo("error: DATABASE_URL: the task queue needs PostgreSQL; on the embedded "
                   "default messages are delivered after each response, and "
                   "`outbox deliver` / `passwords remind` do the rest", err=True)
        sys.exit(2)
    queue_worker.run(app, concurrency=concurrency, wait=not until_empty, name=name)
