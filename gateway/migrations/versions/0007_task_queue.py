"""the task queue's schema (procrastinate 3.10.0) on PostgreSQL; nothing on SQLite

Background work (outbox delivery, the outbox sweep, password reminders) runs on procrastinate,
a task queue kept in PostgreSQL itself (docs/operations.md says why). Its tables, types,
functions and triggers (procrastinate_jobs, procrastinate_workers, …) are applied here, so that
`flask --app wsgi db upgrade` stays the one way the schema changes. The SQL is the schema file
procrastinate ships in its package (procrastinate/sql/schema.sql) for the pinned version.

SQLite (the embedded default) has no queue: the same task functions run in place there, so
this revision does nothing on it.

Upgrading procrastinate later: its release notes list migration files
(procrastinate/sql/migrations/<version>_*.sql, "pre" before the new code, "post" after); apply
them in a new revision, and let this one accept the version it was written for only, as below
— a fresh database then gets 3.10.0's schema here and the later changes from the new revision.

Revision ID: 0007
Revises: 0006
"""
from importlib import metadata, resources

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

PROCRASTINATE = "3.10.0"

_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
           "procrastinate_workers")
_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_event_type",
          "procrastinate_job_status")


def _schema_sql() -> str:
    installed = metadata.version("procrastinate")
    if installed != PROCRASTINATE:
        raise RuntimeError(
            f"migration 0007 applies procrastinate {PROCRASTINATE}'s schema, but {installed} is "
            "installed: install the version pinned in pyproject.toml (a later version's changes "
            "belong in a later revision)")
    return (resources.files("procrastinate.sql") / "schema.sql").read_text(encoding="utf-8")


def _run(sql: str) -> None:
    # Straight to psycopg, in the migration's transaction, without parameters: the text is
    # sent as one simple query (several statements; its "%" signs are not placeholders).
    op.get_bind().connection.driver_connection.execute(sql)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _run(_schema_sql())


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    _run("DROP TABLE IF EXISTS " + ", ".join(_TABLES) + " CASCADE")
    _run("DO $$ DECLARE f regprocedure; BEGIN "
         "FOR f IN SELECT p.oid::regprocedure FROM pg_proc p "
         "WHERE p.proname LIKE 'procrastinate\\_%' "
         "AND p.pronamespace = current_schema()::regnamespace "
         "LOOP EXECUTE 'DROP FUNCTION ' || f || ' CASCADE'; END LOOP; END $$")
    _run("DROP TYPE IF EXISTS " + ", ".join(_TYPES) + " CASCADE")
