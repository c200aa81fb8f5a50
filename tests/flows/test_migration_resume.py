"""A migration job killed at any moment resumes to the state of an uninterrupted run, and
several workers end where one does.

The command runs as a process of its own (with, on PostgreSQL, the worker processes it
starts, in its process group). On PostgreSQL the kill waits until a worker is inside a
chunk's transaction (it holds the chunk's row lock), then SIGKILLs the whole group; on the
embedded default, where the command stages the chunks itself, it is killed once a few chunks
are staged. Then the same command again, and the accounts are compared column by column with
a clean run's over an empty database.
"""

from __future__ import annotations

import json
import signal
import time

import pytest
from sqlalchemy import text

from gateway.extensions import db
from gateway.jobs.queue import queue_of
from tests.conftest import TABLES
from tests.helpers.migration import dump, export, kill_group, run, spawn

ROWS = 3001
RESULT_KEYS = ("rows", "inserted", "updated", "unchanged", "rejected", "conflicts")


def _empty():
    for table in TABLES:
        db.session.execute(text(f"DELETE FROM {table}"))  # noqa: S608
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("DELETE FROM procrastinate_jobs"))
    db.session.commit()


def _chunk_in_progress() -> bool:
    """A worker holds a pending chunk's row lock: it is inside that chunk's transaction."""
    try:
        locked = db.session.execute(text(
            "SELECT number FROM import_chunks WHERE state = 'pending' "
            "FOR UPDATE SKIP LOCKED")).all()
        pending = db.session.execute(text(
            "SELECT count(*) FROM import_chunks WHERE state = 'pending'")).scalar()
        staged = db.session.execute(text(
            "SELECT count(*) FROM import_chunks WHERE state = 'staged'")).scalar()
        return staged >= 1 and len(locked) < pending
    finally:
        db.session.rollback()


def _staged_chunks() -> int:
    try:
        return db.session.execute(text(
            "SELECT count(*) FROM import_chunks WHERE state = 'staged'")).scalar() or 0
    finally:
        db.session.rollback()


def _wait(condition, what: str, timeout: float = 120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.01)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def _finish(process) -> dict:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return json.loads(out)


def test_killed_mid_chunk_then_run_again_ends_as_a_clean_run(app, tmp_path):
    path, _ = export(tmp_path, ROWS, seed=21)
    args = ("import-legacy", path, "--json", "--chunk-rows", 200, "--workers", 1)
    on_queue = queue_of(app) is not None
    for _ in range(2):  # killed twice, at two different moments
        process = spawn(app, *args)
        try:
            if on_queue:
                _wait(_chunk_in_progress, "a worker inside a chunk")
            else:
                _wait(lambda: _staged_chunks() >= 3, "three chunks staged")
        finally:
            kill_group(process, signal.SIGKILL)
    staged_at_kill = _staged_chunks()
    assert 0 < staged_at_kill < 16  # killed half-way: some chunks staged, others not
    [killed_job] = db.session.execute(text("SELECT id FROM import_jobs")).scalars().all()
    db.session.rollback()
    resumed = _finish(spawn(app, *args))
    assert resumed["job"] == killed_job and not resumed["already_done"]  # the same job
    after_crash = dump(with_ids=False)
    assert db.session.execute(text("SELECT count(*) FROM legacy_rows")).scalar() == 0
    db.session.rollback()

    _empty()
    clean = _finish(spawn(app, *args))
    assert {k: clean[k] for k in RESULT_KEYS} == {k: resumed[k] for k in RESULT_KEYS}
    assert dump(with_ids=False) == after_crash
    assert len(after_crash) == resumed["inserted"]


def test_several_workers_end_where_one_does(app, tmp_path):
    path, _ = export(tmp_path, 2001, seed=22)
    one = _finish(spawn(app, "import-legacy", path, "--json", "--chunk-rows", 100,
                        "--workers", 1))
    with_one = dump(with_ids=False)
    _empty()
    three = _finish(spawn(app, "import-legacy", path, "--json", "--chunk-rows", 100,
                          "--workers", 3))
    assert {k: three[k] for k in RESULT_KEYS} == {k: one[k] for k in RESULT_KEYS}
    assert dump(with_ids=False) == with_one


def test_a_chunk_run_twice_at_once_is_staged_once(app, tmp_path):
    """Two workers given the same chunk (a retried queue job beside the first): the row lock
    lets one in; the other finds it staged and does nothing."""
    from gateway.jobs.migration import bookkeeping, files
    from policies.migration_rows import LEGACY_HEADER
    from tests.helpers import race

    path, _ = export(tmp_path, 400, seed=23)
    plan = files.plan_file(str(path), LEGACY_HEADER, 100)
    job, _ = bookkeeping.open_job("legacy", plan)
    job_id = job.id
    db.session.remove()

    def stage(_):
        with app.app_context():
            return bookkeeping.stage_chunk(job_id, 0)

    if db.engine.dialect.name == "postgresql":
        assert sorted(race(2, stage)) == [False, True]
    else:  # SQLite: one writer at a time; the second, after it, finds the chunk staged
        assert [stage(0), stage(1)] == [True, False]
    staged = db.session.execute(text(
        "SELECT count(*) FROM legacy_rows WHERE job_id = :j"), {"j": job_id}).scalar()
    rejected = db.session.execute(text(
        "SELECT count(*) FROM import_rejects WHERE job_id = :j"), {"j": job_id}).scalar()
    assert staged + rejected == 100


def test_staging_emptied_by_a_crash_recovery_is_staged_again(app, tmp_path):
    """PostgreSQL's crash recovery empties the UNLOGGED staging tables (rows and marks, not
    the logged bookkeeping): simulated here as it does it, half-way through the merges. The
    rows are never read while lost (a merge refuses), and the same command again stages the
    lost chunks anew and ends as a clean run."""
    from gateway.jobs.migration import bookkeeping, files
    from gateway.models import ImportPart
    from policies.migration_rows import LEGACY_HEADER
    from tests.helpers.migration import run

    path, _ = export(tmp_path, 1201, seed=24)
    if db.engine.dialect.name == "postgresql":
        assert db.session.execute(text(
            "SELECT array_agg(relname::text ORDER BY relname) FROM pg_class WHERE "
            "relpersistence = 'u' AND relkind = 'r'")).scalar() == [
            "import_staged_chunks", "legacy_rows", "verification_rows", "vneid_rows"]
    plan = files.plan_file(str(path), LEGACY_HEADER, 300)
    job, _ = bookkeeping.open_job("legacy", plan)
    job_id = job.id
    for number in range(len(plan.chunks)):
        bookkeeping.stage_chunk(job_id, number)
    assert bookkeeping.start_merging(job_id)
    assert bookkeeping.merge_part(job_id, 0) and bookkeeping.merge_part(job_id, 1)
    rejects = db.session.execute(text("SELECT count(*) FROM import_rejects")).scalar()
    db.session.execute(text("DELETE FROM legacy_rows"))  # what crash recovery does
    db.session.execute(text("DELETE FROM import_staged_chunks"))
    db.session.commit()
    with pytest.raises(bookkeeping.StagingLost, match="chunks 0, 1, 2, 3, 4 are gone"):
        bookkeeping.merge_part(job_id, 2)
    db.session.rollback()
    code, resumed, stderr = run(app, "import-legacy", path, "--json", "--chunk-rows", 300)
    assert code == 0, stderr
    assert resumed["job"] == job_id and not resumed["already_done"]
    assert db.session.execute(text(
        "SELECT count(*) FROM events WHERE name = 'import_job.staging_lost'")).scalar() == 1
    assert db.session.scalar(text("SELECT count(*) FROM import_rejects")) >= rejects
    assert {p.number for p in db.session.query(ImportPart).filter_by(job_id=job_id)
            if p.state == "merged"} == set(range(5))
    after_crash = dump(with_ids=False)

    _empty()
    code, clean, stderr = run(app, "import-legacy", path, "--json", "--chunk-rows", 300)
    assert code == 0, stderr
    assert {k: clean[k] for k in RESULT_KEYS} == {k: resumed[k] for k in RESULT_KEYS}
    assert dump(with_ids=False) == after_crash


def test_the_work_command(app):
    if queue_of(app) is None:
        code, _, stderr = run(app, "work")
        assert code == 2 and "the task queue needs PostgreSQL" in stderr
        return
    def workers() -> int:
        try:
            return db.session.execute(text(
                "SELECT max(id) FROM procrastinate_workers")).scalar() or 0
        finally:
            db.session.rollback()

    known = workers()
    worker = spawn(app, "work", "--name", "test-worker")
    _wait(lambda: workers() > known, "the worker registered")  # its signal handlers are set
    kill_group(worker, signal.SIGTERM)
    assert worker.returncode == 0, worker.stderr.read()
    # Started for a command that is gone (its parent is not that process): it stops itself.
    orphan = spawn(app, "work", "--parent", 1)
    assert orphan.wait(timeout=60) == 0


@pytest.fixture(autouse=True)
def _no_migration_jobs_left(app):
    """Queue jobs of killed workers ("doing" forever) must not reach other tests' workers."""
    yield
    if queue_of(app) is not None:
        db.session.rollback()
        db.session.execute(text("DELETE FROM procrastinate_jobs WHERE queue_name = 'migration'"))
        db.session.commit()
