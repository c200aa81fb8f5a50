"""What the development SMS provider "sent" (the JSON-lines file of SMS_OUTBOX), as a person's
phone would show it: after the work served requests deferred past their answers and the
outbox's due messages have gone out."""

from __future__ import annotations

import re

from gateway.deferred import wait_idle
from gateway.services.outbox import deliver_pending
from providers.sms import OutboxFileProvider


def sms_sent(app) -> list[dict]:
    """Every message sent for `app`, oldest first ({"to", "text", "template", "at"})."""
    # what the served requests deferred past their answers (SMS included); a generous bound,
    # since on a loaded 2-core machine a batch of Argon2id-heavy work can take seconds
    wait_idle(app, timeout=60.0)
    with app.app_context():
        deliver_pending()
    return OutboxFileProvider(app.config["SMS_OUTBOX"]).messages()


def last_otp(app) -> str:
    """The six digits of the latest one-time code sent."""
    texts = [m["text"] for m in sms_sent(app) if m["template"] == "otp"]
    return re.search(r"\b(\d{6})\b", texts[-1])[1]
