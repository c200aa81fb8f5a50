"""migration jobs' staging: UNLOGGED tables, and a mark per staged chunk (import_staged_chunks)

The staging tables (legacy_rows, verification_rows, vneid_rows) hold rows for minutes, from
a chunk's staging to the job's end, and are rebuilt from the file whenever lost: written
without the write-ahead log they cost a fraction of the time. PostgreSQL empties them in its
crash recovery, and the marks with them (also UNLOGGED): a chunk recorded ``staged`` without
its mark is staged again (gateway/jobs/migration/bookkeeping.recover_staging). Other
databases have no UNLOGGED tables: there the marks are ordinary rows.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

STAGING = ("legacy_rows", "verification_rows", "vneid_rows")


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "import_staged_chunks",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"],
                                name=op.f("fk_import_staged_chunks_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("job_id", "number", name=op.f("pk_import_staged_chunks")),
        prefixes=["UNLOGGED"] if postgresql else [],
    )
    if postgresql:
        for table in STAGING:
            op.execute(f"ALTER TABLE {table} SET UNLOGGED")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in STAGING:
            op.execute(f"ALTER TABLE {table} SET LOGGED")
    op.drop_table("import_staged_chunks")
