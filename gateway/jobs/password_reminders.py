"""SMS reminders before a password expires: once per reminder window, through the outbox.

Only accounts whose password entered the reminder period are read (an index on
password_changed_at), in batches, so the job is cheap over 35 million accounts.

Run daily by the task queue (gateway/jobs/worker.py: one job per day, a lock so that two never
overlap) or by `flask --app wsgi passwords remind`. The queue decides *when* the job runs; it
cannot know *which accounts* were already reminded: a job retried after a crash half-way, or
the command run by hand the same day, must skip them. So the reminder's window is recorded on
the account in the same transaction as the SMS, with a conditional UPDATE on the window key
that only one runner can win — no one gets the same reminder twice.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, update

from gateway.clock import as_utc, utcnow
from gateway.extensions import db
from gateway.models import Account
from gateway.services.events import emit
from gateway.services.outbox import enqueue_sms
from policies.password_age import password_state, reminder_window_key


def send_reminders(batch: int = 500) -> dict:
    cfg = current_app.config
    max_age, remind = cfg["PASSWORD_MAX_AGE_DAYS"], cfg["PASSWORD_REMIND_DAYS"]
    now = utcnow()
    # Changed between (max_age + 1) days ago (expired: no reminder) and the window start.
    oldest = now - timedelta(days=max_age + 1)
    newest = now - timedelta(days=max_age - remind)
    sent = scanned = 0
    last_id = 0
    while True:
        rows = (Account.query.filter(
            Account.status == "active", Account.password_usable.is_(True),
            Account.id > last_id,
            Account.password_changed_at > oldest, Account.password_changed_at <= newest,
        ).order_by(Account.id).limit(batch).all())
        if not rows:
            break
        for account in rows:
            last_id = account.id
            scanned += 1
            changed = as_utc(account.password_changed_at)
            state = password_state(changed, now, max_age_days=max_age, remind_days=remind,
                                   must_change=account.must_change_password)
            window = reminder_window_key(changed, now, max_age_days=max_age, remind_days=remind,
                                         must_change=account.must_change_password)
            if not state.remind or window is None or account.password_reminded_window == window:
                continue
            claimed = db.session.execute(
                update(Account).where(
                    Account.id == account.id,
                    or_(Account.password_reminded_window.is_(None),
                        Account.password_reminded_window != window),
                ).values(password_reminded_window=window)
            ).rowcount
            if claimed != 1:
                continue
            enqueue_sms(account.phone, "password_expiry_reminder",
                        {"days": max(state.days_left, 0)})
            emit("password.expiry_reminded", account_id=account.id, days_left=state.days_left)
            db.session.commit()
            sent += 1
    return {"scanned": scanned, "sent": sent}
