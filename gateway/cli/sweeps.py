"""`flask --app wsgi sweep [--batch-size N]`: delete what has expired, now, by hand.

On PostgreSQL the task queue's workers run the sweeps every five minutes (`flask --app wsgi
worker`). The embedded default has no queue: run this command from cron (every hour is
plenty for a small site). Safe beside the workers' sweeps: a row is deleted once.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import emit_json
from gateway.services.sweeps import sweep_all


@click.command("sweep", help="Delete expired sessions, refresh tokens and store rows, old "
               "outbox rows and events past their retention, in bounded batches. Prints the "
               "rows deleted per table as JSON.")
@click.option("--batch-size", type=click.IntRange(10, 100_000), default=None,
              help="Rows per batch (default: SWEEP_BATCH_SIZE).")
@with_appcontext
def command(batch_size):
    emit_json(sweep_all(batch=batch_size))
