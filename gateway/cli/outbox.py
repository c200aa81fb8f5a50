"""`flask --app wsgi outbox deliver [--limit N]`: the safety net behind immediate delivery.

Run it every minute or so (cron, a systemd timer); several copies may run at once, on one
machine or many, since each message is claimed by exactly one of them.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import emit_json
from gateway.services.outbox import deliver_pending


@click.group("outbox", help="Messages to people (SMS): the delivery queue.")
def group():
    pass


@group.command("deliver", help="Send due messages; failures are retried later with backoff. "
               'Prints {"delivered", "failed", "pending"}.')
@click.option("--limit", type=click.IntRange(1, 10_000), default=100, show_default=True,
              help="Most messages to claim in this run.")
@with_appcontext
def deliver(limit):
    emit_json(deliver_pending(limit=limit))
