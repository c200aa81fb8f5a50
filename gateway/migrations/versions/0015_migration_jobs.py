"""migration jobs: import_jobs, import_chunks, import_parts, import_rejects, and the
staging tables legacy_rows, verification_rows, vneid_rows; the
imported accounts' accounts.imported_at and accounts.old_id_number

`flask --app wsgi migrate import-legacy FILE` (gateway/jobs/migration/) records here what
survives a crash: the job and its file's SHA-256, its chunks (byte offsets, state), its
parts (a hash share of the social-insurance numbers, merged in one transaction each), every
refused or conflicting line (masked), and the valid rows staged between a chunk and its
part's merge (deleted when the job ends).

Revision ID: 0015
Revises: 0014 (written on 0010; chained after i10-link's 0014 once merged)
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("old_id_number", sa.String(length=9), nullable=True))

    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("file_path", sa.String(length=1000), nullable=False),
        sa.Column("file_size", sa.BigInteger(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("lines", sa.BigInteger(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
        sa.UniqueConstraint("kind", "file_sha256", "run", name="uq_import_jobs_kind_file_run"),
    )
    op.create_table(
        "import_chunks",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("start_offset", sa.BigInteger(), nullable=False),
        sa.Column("end_offset", sa.BigInteger(), nullable=False),
        sa.Column("first_line", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("staged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"],
                                name=op.f("fk_import_chunks_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("job_id", "number", name=op.f("pk_import_chunks")),
    )
    op.create_table(
        "import_parts",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("inserted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"],
                                name=op.f("fk_import_parts_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("job_id", "number", name=op.f("pk_import_parts")),
    )
    op.create_table(
        "import_rejects",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("bhxh", sa.String(length=16), nullable=False),
        sa.Column("id_number", sa.String(length=16), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"],
                                name=op.f("fk_import_rejects_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("job_id", "line", "reason", name=op.f("pk_import_rejects")),
    )
    op.create_table(
        "legacy_rows",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.SmallInteger(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("sub", sa.String(length=64), nullable=False),
        sa.Column("bhxh", sa.String(length=10), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("dob", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=6), nullable=True),
        sa.Column("cccd", sa.String(length=12), nullable=True),
        sa.Column("old_id_number", sa.String(length=9), nullable=True),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"],
                                name=op.f("fk_legacy_rows_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("job_id", "part", "line", name=op.f("pk_legacy_rows")),
    )
    op.create_table(
        "verification_rows",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.SmallInteger(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("id_number", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("dob", sa.Date(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"],
                                name=op.f("fk_verification_rows_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("job_id", "part", "line", name=op.f("pk_verification_rows")),
    )
    op.create_table(
        "vneid_rows",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("part", sa.SmallInteger(), nullable=False),
        sa.Column("line", sa.BigInteger(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("id_number", sa.String(length=12), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("dob", sa.Date(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["import_jobs.id"],
                                name=op.f("fk_vneid_rows_job_id_import_jobs")),
        sa.PrimaryKeyConstraint("job_id", "part", "line", name=op.f("pk_vneid_rows")),
    )


def downgrade():
    op.drop_table("vneid_rows")
    op.drop_table("verification_rows")
    op.drop_table("legacy_rows")
    op.drop_table("import_rejects")
    op.drop_table("import_parts")
    op.drop_table("import_chunks")
    op.drop_table("import_jobs")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("old_id_number")
        batch_op.drop_column("imported_at")
