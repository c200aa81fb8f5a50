"""migration jobs' staging tables without their foreign key to import_jobs

A foreign key is checked row by row: PostgreSQL queues a trigger event per row a COPY writes
and then runs a look-up of import_jobs for each one — measured at about 5 µs of the
database's CPU per staged row, more than the COPY and its primary key together (a 200,000-row
staging: 1.5–1.9 s with the key, 0.6 s without). The staging rows live from a chunk's
staging to the job's end, are written only by the job's own steps (whose job id is the one
they locked), and no job row is ever deleted: the key guarded nothing the code does not.
The report's rows (import_rejects) keep theirs.

Revision ID: 0022
Revises: 0021
"""
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

STAGING = ("legacy_rows", "verification_rows", "vneid_rows")


def upgrade():
    for table in STAGING:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"fk_{table}_job_id_import_jobs"),
                                     type_="foreignkey")


def downgrade():
    for table in STAGING:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_foreign_key(op.f(f"fk_{table}_job_id_import_jobs"),
                                        "import_jobs", ["job_id"], ["id"])
