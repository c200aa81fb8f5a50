"""`flask --app wsgi passwords remind`"""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from gateway.cli import emit_json


@click.group("passwords", help="Password rotation jobs.")
def group():
    pass


@group.command("remind", help="Send an SMS to every account whose password expires soon "
               "(once per reminder window). Workers do it daily on their own; the SMS go out "
               "with the next outbox sweep (or `outbox deliver`).")
@click.option("--batch", default=500, show_default=True, help="Accounts read per query.")
@with_appcontext
def remind(batch):
    from gateway.jobs.password_reminders import send_reminders

    emit_json(send_reminders(batch=batch))
