"""issuance: staff accounts, account applications, and the hash-chained audit trail

Staff sign in to the console with a password and a sealed TOTP secret. Applications are the
online declarations until a clerk decides (policies/applications.py). The audit trail is
append-only and chained by hash (gateway/services/audit.py).

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "staff_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=24), nullable=False),
        sa.Column("office_code", sa.String(length=32), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("totp_secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("totp_last_step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["office_code"], ["offices.code"],
                                name=op.f("fk_staff_accounts_office_code_offices")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_accounts_username")),
    )
    with op.batch_alter_table("staff_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_accounts_office_code"), ["office_code"],
                              unique=False)

    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bhxh", sa.String(length=10), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("dob", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=6), nullable=False),
        sa.Column("cccd", sa.String(length=12), nullable=False),
        sa.Column("phone", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("office_code", sa.String(length=32), nullable=False),
        sa.Column("portrait_file", sa.String(length=80), nullable=False),
        sa.Column("id_front_file", sa.String(length=80), nullable=False),
        sa.Column("id_back_file", sa.String(length=80), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("field_verified_by", sa.Integer(), nullable=True),
        sa.Column("field_verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason_code", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_applications_account_id_accounts")),
        sa.ForeignKeyConstraint(["decided_by"], ["staff_accounts.id"],
                                name=op.f("fk_applications_decided_by_staff_accounts")),
        sa.ForeignKeyConstraint(["field_verified_by"], ["staff_accounts.id"],
                                name=op.f("fk_applications_field_verified_by_staff_accounts")),
        sa.ForeignKeyConstraint(["office_code"], ["offices.code"],
                                name=op.f("fk_applications_office_code_offices")),
        sa.ForeignKeyConstraint(["previous_id"], ["applications.id"],
                                name=op.f("fk_applications_previous_id_applications")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("previous_id", name=op.f("uq_applications_previous_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_applications_reference")),
    )
    with op.batch_alter_table("applications", schema=None) as batch_op:
        for column in ("bhxh", "cccd", "office_code", "status", "submitted_at"):
            batch_op.create_index(batch_op.f(f"ix_applications_{column}"), [column], unique=False)

    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=False, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("actor_role", sa.String(length=24), nullable=True),
        sa.Column("actor_office", sa.String(length=32), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=80), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_records")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_records_hash")),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        for column in ("action", "actor", "at", "subject"):
            batch_op.create_index(batch_op.f(f"ix_audit_records_{column}"), [column], unique=False)


def downgrade():
    op.drop_table("audit_records")
    op.drop_table("applications")
    op.drop_table("staff_accounts")
