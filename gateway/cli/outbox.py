"""`flask --app wsgi outbox deliver [--limit N]`: deliver due messages now, by hand.

On PostgreSQL the task queue's workers deliver the outbox, and their periodic sweep retries
what failed (`flask --app wsgi worker`); on the embedded default messages go out after each
response. This command sends one batch at once whatever the backend: to empty the outbox
before changing SECRET_KEY, or from cron where no worker runs. Several copies may run at once,
with the workers too: each message is claimed by exactly one of them.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import emit_json
from gateway.services.outbox import deliver_pending


@click.group("outbox", help="Messages to people (SMS, e-mail): the delivery queue.")
def group():
    pass


@group.command("deliver", help="Send due messages; failures are retried later with backoff. "
               'Prints {"delivered", "failed", "pending"}.')
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Most messages to claim in this run.")
@with_appcontext
def deliver(limit):
    emit_json(deliver_pending(limit=limit))
