"""vneid links: the VNeID ↔ account links, the staff review queue, and two account columns

``vneid_links`` holds one row per linked VNeID subject, UNIQUE on both the subject and the
account, so the database keeps "one subject ↔ at most one account" under any concurrency.
``link_reviews`` are the cases rule 5 of policies/linking.py sends to staff; ``open_subject``
is UNIQUE and NULL once a case is resolved (one open case per subject).

``accounts.population_verified_at``: when the record was verified against the national
population database (the migration import of issue 11 sets it). ``accounts.password_usable``:
false for an account made from a VNeID identity until recovery sets a password; every
existing account has a password, hence the server default true.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_usable", sa.Boolean(),
                                      server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("population_verified_at", sa.DateTime(timezone=True),
                                      nullable=True))

    op.create_table(
        "link_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("open_subject", sa.String(length=255), nullable=True),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("candidate_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.Column("resolved_account_id", sa.Integer(), nullable=True),
        sa.Column("resolved_by", sa.String(length=80), nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["resolved_account_id"], ["accounts.id"],
                                name=op.f("fk_link_reviews_resolved_account_id_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_reviews")),
        sa.UniqueConstraint("open_subject", name=op.f("uq_link_reviews_open_subject")),
    )
    with op.batch_alter_table("link_reviews", schema=None) as batch_op:
        for column in ("opened_at", "status", "subject"):
            batch_op.create_index(batch_op.f(f"ix_link_reviews_{column}"), [column], unique=False)

    op.create_table(
        "vneid_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("how", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("level_before", sa.Integer(), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"],
                                name=op.f("fk_vneid_links_account_id_accounts")),
        sa.ForeignKeyConstraint(["review_id"], ["link_reviews.id"],
                                name=op.f("fk_vneid_links_review_id_link_reviews")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vneid_links")),
        sa.UniqueConstraint("account_id", name=op.f("uq_vneid_links_account_id")),
        sa.UniqueConstraint("subject", name=op.f("uq_vneid_links_subject")),
    )


def downgrade():
    op.drop_table("vneid_links")
    op.drop_table("link_reviews")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("population_verified_at")
        batch_op.drop_column("password_usable")
