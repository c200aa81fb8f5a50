"""`flask --app wsgi email test --to ADDRESS [--lang vi|en] --json`: check the e-mail
configuration by sending one real message.

The message goes the way every e-mail goes — a row of the outbox, sealed, then delivered by
the configured provider (EMAIL_PROVIDER) — but is delivered at once by this command, so the
operator sees the outcome: ``{"id", "to" (masked), "provider", "status", "reason"}`` with
status ``delivered``, ``retry`` (a temporary failure: the sweep will try again) or ``failed``
(given up, e.g. the server refused the address). Exit status 0 only when delivered, 1
otherwise, 2 for an address that is not one.
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from gateway.cli import emit_json, fail
from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.models import OutboxMessage
from gateway.services.outbox import deliver_keys, enqueue_email


@click.group("email", help="E-mail to people: check the configuration.")
def group():
    pass


@group.command("test", help="Queue a test e-mail through the outbox and deliver it now; "
               'prints {"id", "to", "provider", "status", "reason"}.')
@click.option("--to", "to", required=True, help="Address to send the test message to.")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True,
              help="Language of the message.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the only output format).")
@with_appcontext
def test(to, lang, as_json):
    try:
        message = enqueue_email(to, "test", {}, lang)
        db.session.commit()
    except GatewayError as exc:
        fail(exc)
    message_id, key = message.id, bytes(message.message_key)
    deliver_keys([key], lease_owner=f"cli:email-test:{message_id}")
    db.session.expire_all()
    row = db.session.get(OutboxMessage, message_id)
    if row.delivered_at is not None:
        status = "delivered"
    elif row.failed_at is not None:
        status = "failed"
    else:
        status = "retry"
    emit_json({"id": row.id, "to": row.recipient_hint,
               "provider": current_app.config["EMAIL_PROVIDER"], "status": status,
               "reason": row.last_error})
    db.session.rollback()
    if status != "delivered":
        sys.exit(1)
