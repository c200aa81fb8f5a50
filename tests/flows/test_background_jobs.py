"""Background work on the task queue: on PostgreSQL a real procrastinate worker (in this process
with run_worker, or `flask --app wsgi worker` as a process of its own) against the run's real
database; on the embedded default the same task functions, called in place.

What must hold whatever the backend: a message committed in a request is delivered after the
response, once; a second trigger for the same message sends nothing; a deliverer that died
after claiming a message, before sending it, does not lose it and does not make it go out
twice; a message whose trigger was lost (a crash between the commit and the deferral) is
delivered by the periodic sweep; the reminders run as a job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.clock import FixedClock
from gateway.extensions import db
from gateway.jobs import tasks, worker
from gateway.jobs.queue import DELIVER, REMIND, SWEEP, queue_of
from gateway.models import Event, OutboxMessage
from gateway.services.outbox import deliver_pending, enqueue_sms
from gateway.services.outbox.delivery import LEASE
from providers.sms import OutboxFileProvider
from tests.helpers import in_thread, new_account, race, run_jobs

PHONE = "+84912345623"
ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))
STALLED_AFTER = 3  # seconds: the test's workers beat every second


@pytest.fixture
def start(make_app, tmp_path):
    """start(**settings) -> an app (context pushed) with its own SMS file and an empty queue."""
    contexts = []

    def build(**overrides):
        app = make_app(SMS_OUTBOX=str(tmp_path / "sms.jsonl"),
                       QUEUE_STALLED_AFTER=STALLED_AFTER, **overrides)
        context = app.app_context()
        context.push()
        contexts.append(context)
        if queue_of(app) is not None:  # jobs left by other tests' requests are not this one's
            for table in ("procrastinate_jobs", "procrastinate_periodic_defers",
                          "procrastinate_workers"):
                db.session.execute(text(f"DELETE FROM {table}"))  # noqa: S608
            db.session.commit()
        return app

    yield build
    for context in reversed(contexts):
        context.pop()


@pytest.fixture
def gw(start):
    return start()


def sent(app) -> list[dict]:
    return OutboxFileProvider(app.config["SMS_OUTBOX"]).messages()


def row() -> OutboxMessage:
    db.session.expire_all()
    [message] = OutboxMessage.query.all()
    return message


def jobs() -> list:
    db.session.expire_all()
    found = db.session.execute(text(
        "SELECT id, task_name, args, status FROM procrastinate_jobs ORDER BY id")).all()
    db.session.rollback()
    return found


def _view(app, work):
    def view():
        work()
        return "", 204

    app.add_url_rule("/_jobs_test", "jobs_test", view, methods=["POST"])
    return app.test_client()


def _commit_a_message() -> OutboxMessage:
    message = enqueue_sms(PHONE, "password_changed", {})
    db.session.commit()
    return message


def _worker_process(app, **settings) -> subprocess.Popen:
    """`flask --app wsgi worker` as an operator starts it, with the app's settings."""
    env = {**os.environ, **{f"GATEWAY_{k}": str(v) for k, v in {
        "DATABASE_URL": app.config["DATABASE_URL"], "REDIS_URL": app.config["REDIS_URL"],
        "REDIS_KEY_PREFIX": app.config["REDIS_KEY_PREFIX"], "LOG_LEVEL": "WARNING",
        "SMS_OUTBOX": app.config["SMS_OUTBOX"], "QUEUE_STALLED_AFTER": STALLED_AFTER,
        **settings}.items()}}
    return subprocess.Popen([FLASK, "--app", "wsgi", "worker", "--concurrency", "1"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def _wait_for(condition, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def _stop(process: subprocess.Popen, sig=signal.SIGTERM) -> int:
    if process.poll() is None:
        process.send_signal(sig)
    try:
        return process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


# ---------------------------------------------------------------- a request's message


def test_a_message_committed_in_a_request_is_delivered_by_the_worker(gw):
    client = _view(gw, _commit_a_message)
    assert client.post("/_jobs_test", headers={"X-Request-Id": "req-jobs-00001"}
                       ).status_code == 204
    key = bytes(row().message_key).hex()
    if queue_of(gw) is not None:
        # The web process deferred one job after its response, and sent nothing itself.
        [(_, task, args, status)] = jobs()
        assert (task, args, status) == (DELIVER, {"keys": [key],
                                                  "request_id": "req-jobs-00001"}, "todo")
        assert sent(gw) == [] and row().attempts == 0
        run_jobs(gw)
        assert jobs() == []  # succeeded, and deleted
    [message] = sent(gw)
    assert message["to"] == PHONE and message["template"] == "password_changed"
    assert row().delivered_at is not None and row().attempts == 1
    [delivered] = Event.query.filter_by(name="message.delivered").all()
    assert delivered.request_id == "req-jobs-00001"


def test_the_same_message_triggered_twice_is_sent_once(gw):
    key = bytes(_commit_a_message().message_key).hex()
    queue = queue_of(gw)
    if queue is not None:
        first, second = queue.defer(DELIVER, keys=[key]), queue.defer(DELIVER, keys=[key])
        assert [j.id for j in jobs()] == [first, second]
        run_jobs(gw, concurrency=2)
        assert jobs() == []
    else:
        def trigger(_):
            with gw.app_context():
                return tasks.deliver_messages([key])["delivered"]

        assert sorted(race(2, trigger)) == [0, 1]
    assert len(sent(gw)) == 1
    assert row().attempts == 1 and row().delivered_at is not None
    assert deliver_pending() == {"delivered": 0, "failed": 0, "pending": 0}
    assert len(sent(gw)) == 1


# ---------------------------------------------------------------- a deliverer that died


def _fifo(tmp_path) -> str:
    """An SMS file nobody reads: the file provider's open() blocks there, after the claim and
    before anything is written — a deliverer stuck in the middle of sending."""
    path = tmp_path / "stuck-sms.fifo"
    os.mkfifo(path)
    return str(path)


def _claimed():
    message = row()
    db.session.rollback()
    return message if message.attempts == 1 and message.next_attempt_at is not None else None


def test_a_deliverer_killed_after_its_claim_loses_nothing_and_sends_once(start, tmp_path):
    now = datetime.now(UTC)
    clock = FixedClock(now)
    app = start(clock=clock)
    message_id = _commit_a_message().id
    stuck = _fifo(tmp_path)
    if queue_of(app) is not None:
        job_id = queue_of(app).defer(DELIVER, keys=[bytes(row().message_key).hex()])
        process = _worker_process(app, SMS_OUTBOX=stuck)
    else:
        process = subprocess.Popen(
            [FLASK, "--app", "wsgi", "outbox", "deliver"], cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True,
            env={**os.environ, "GATEWAY_DATABASE_URL": app.config["DATABASE_URL"],
                 "GATEWAY_SMS_OUTBOX": stuck, "GATEWAY_LOG_LEVEL": "WARNING"})
    claimed = _wait_for(_claimed, "the message claimed by the other process")
    assert _stop(process, signal.SIGKILL) == -signal.SIGKILL  # mid-send: nothing went out
    assert claimed.id == message_id and claimed.delivered_at is None and sent(app) == []
    assert deliver_pending()["delivered"] == 0  # leased: nobody else sends it meanwhile

    if queue_of(app) is not None:
        # The worker stops beating; the stalled-job retry puts its job back in the queue,
        # and the same job, run again, takes back the message its first run had claimed.
        assert claimed.lease_owner == f"job:{job_id}"
        assert [j.status for j in jobs() if j.id == job_id] == ["doing"]
        time.sleep(STALLED_AFTER + 0.5)
        assert job_id in in_thread(worker.retry_stalled_now, app)
        run_jobs(app)
        assert job_id not in [j.id for j in jobs()]
    else:
        # No queue: the lease (taken by the other process's clock) lapses, then the sweep
        # takes the message.
        assert claimed.lease_owner is None
        clock.advance(seconds=LEASE.total_seconds() + 60)
        assert tasks.sweep_outbox()["delivered"] == 1
    [message] = sent(app)
    assert message["to"] == PHONE
    assert row().delivered_at is not None and row().attempts == 2
    assert deliver_pending() == {"delivered": 0, "failed": 0, "pending": 0}
    assert len(sent(app)) == 1


# ---------------------------------------------------------------- the sweep


def test_the_sweep_delivers_a_message_whose_job_was_never_deferred(gw):
    _commit_a_message()  # outside a request: no job, as after a crash before the deferral
    if queue_of(gw) is not None:
        assert jobs() == []
        process = _worker_process(gw)
        try:
            # The worker defers the sweep of the current minute as it starts.
            _wait_for(lambda: sent(gw), "the sweep's delivery")
        finally:
            assert _stop(process) == 0, process.stderr.read()
        sweeps = db.session.execute(text(
            "SELECT count(*) FROM procrastinate_periodic_defers WHERE task_name = :t"),
            {"t": SWEEP}).scalar()
        assert sweeps >= 1
    else:
        assert tasks.sweep_outbox() == {"claimed": 1, "delivered": 1, "failed": 0}
    assert len(sent(gw)) == 1 and row().delivered_at is not None and row().attempts == 1


# ---------------------------------------------------------------- reminders and the command


def test_password_reminders_run_as_a_daily_job(start):
    clock = FixedClock()
    app = start(clock=clock)
    new_account()
    clock.advance(days=170)
    if queue_of(app) is not None:
        registry = worker.build(app).periodic_registry.periodic_tasks
        assert registry[(REMIND, "daily")].cron == worker.REMINDER_CRON
        queue_of(app).defer(REMIND, timestamp=int(clock.now().timestamp()))
        run_jobs(app)
    else:
        assert tasks.remind_passwords()["sent"] == 1
    assert row().template == "password_expiry_reminder"
    assert Event.query.filter_by(name="password.expiry_reminded").count() == 1
    deliver_pending()  # what the next sweep does (a worker's own sweep may have done it)
    [message] = sent(app)
    assert "het han sau" in message["text"]


def test_the_worker_command(gw):
    def invoke(*args):
        return in_thread(gw.test_cli_runner().invoke, args=["worker", *args])

    result = invoke("--until-empty")
    if queue_of(gw) is None:
        assert result.exit_code == 2
        assert "the task queue needs PostgreSQL" in result.output
        return
    assert result.exit_code == 0, result.output
    key = bytes(_commit_a_message().message_key).hex()
    queue_of(gw).defer(DELIVER, keys=[key])
    result = invoke("--until-empty", "--concurrency", "2")
    assert result.exit_code == 0, result.output
    assert len(sent(gw)) == 1 and jobs() == []
