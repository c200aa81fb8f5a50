"""ssf streams: Shared Signals streams of relying services, and their subject choices

``ssf_streams``: one row per receiver (``client_id`` UNIQUE), the delivery endpoint and its
Authorization header sealed (gateway/models/ssf_stream.py says why). ``ssf_stream_subjects``:
the people a receiver added to or removed from its stream. SETs themselves wait in the
outbox (channel ``ssf_push``), whose rows need no new column.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ssf_streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream_id", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=True),
        sa.Column("events_requested", sa.JSON(), nullable=False),
        sa.Column("delivery_method", sa.String(length=64), nullable=False),
        sa.Column("endpoint_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("authorization_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ssf_streams")),
        sa.UniqueConstraint("client_id", name=op.f("uq_ssf_streams_client_id")),
        sa.UniqueConstraint("stream_id", name=op.f("uq_ssf_streams_stream_id")),
    )
    op.create_table(
        "ssf_stream_subjects",
        sa.Column("stream_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("included", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_ssf_stream_subjects_account_id_accounts")),
        sa.ForeignKeyConstraint(["stream_id"], ["ssf_streams.id"], ondelete="CASCADE",
                                name=op.f("fk_ssf_stream_subjects_stream_id_ssf_streams")),
        sa.PrimaryKeyConstraint("stream_id", "account_id", name=op.f("pk_ssf_stream_subjects")),
    )
    with op.batch_alter_table("ssf_stream_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ssf_stream_subjects_account_id"), ["account_id"],
                              unique=False)


def downgrade():
    with op.batch_alter_table("ssf_stream_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ssf_stream_subjects_account_id"))
    op.drop_table("ssf_stream_subjects")
    op.drop_table("ssf_streams")
