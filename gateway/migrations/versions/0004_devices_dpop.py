"""one active device per account; DPoP-bound refresh tokens; app sessions' device

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "active_devices",
        sa.Column("account_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("device_name", sa.String(length=100), nullable=False),
        sa.Column("jkt", sa.String(length=64), nullable=False),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("bound_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_active_devices_account_id_accounts")),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_active_devices")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_id", sa.String(length=128), nullable=True))
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dpop_jkt", sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_column("dpop_jkt")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("device_id")
    op.drop_table("active_devices")
