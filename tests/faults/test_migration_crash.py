"""PostgreSQL crashes while a migration job has chunks staged: its crash recovery empties the
UNLOGGED staging tables — the rows and the chunks' marks together, the logged bookkeeping
stays — nothing reads the lost rows, and the next run stages them again and ends with the
counts of a run without a crash.

The PostgreSQL is the test's own (tests/helpers/private_postgres.py), stopped in immediate
mode (no shutdown checkpoint: the next start is a crash recovery); the shared one is never
stopped.
"""

from __future__ import annotations

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from gateway import create_app
from gateway.extensions import db
from gateway.jobs.migration import bookkeeping, coordinator, files
from policies.migration_rows import LEGACY_HEADER
from tests.helpers.migration import export
from tests.helpers.private_postgres import PrivatePostgres

RESULT_KEYS = ("rows", "inserted", "updated", "unchanged", "rejected", "conflicts")


def _count(table: str) -> int:
    return db.session.execute(text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608


def test_staging_lost_in_a_crash_recovery_is_staged_again(tmp_path):
    pg = PrivatePostgres()
    try:
        pg.start()
        app = create_app({"DATABASE_URL": pg.create_database("gateway"), "REDIS_URL": "",
                          "SMS_OUTBOX": str(tmp_path / "outbox.jsonl"),
                          "LOG_LEVEL": "WARNING"})
        path, _ = export(tmp_path, 301, seed=25)
        plan = files.plan_file(str(path), LEGACY_HEADER, 100)
        with app.app_context():
            upgrade()
            dry, _ = bookkeeping.open_job("legacy", plan, fresh=True, commit=False)
            expected = coordinator.run_inline(dry.id, commit=False)  # what a clean run gives
            db.session.rollback()
            job, _ = bookkeeping.open_job("legacy", plan)
            job_id = job.id
            for number in range(len(plan.chunks)):
                assert bookkeeping.stage_chunk(job_id, number)
            assert _count("legacy_rows") > 250 and _count("import_staged_chunks") == 4
            db.session.remove()
            db.engine.dispose()

        pg.stop("immediate")
        pg.start()

        with app.app_context():
            assert _count("legacy_rows") == 0 and _count("import_staged_chunks") == 0
            assert db.session.execute(text(
                "SELECT count(*) FROM import_chunks WHERE state = 'staged'")).scalar() == 4
            with pytest.raises(bookkeeping.StagingLost):
                bookkeeping.start_merging(job_id)
            db.session.rollback()
            result = coordinator.run_inline(job_id)
            assert result["job"] == job_id
            assert {k: result[k] for k in RESULT_KEYS} == {k: expected[k] for k in RESULT_KEYS}
            assert _count("accounts") == expected["inserted"]
            assert _count("legacy_rows") == 0 and _count("import_staged_chunks") == 0
            db.session.remove()
            db.engine.dispose()
    finally:
        pg.close()
