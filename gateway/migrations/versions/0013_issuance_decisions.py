"""issuance decisions: how an issued account was verified, the issued password's expiry, and
the name key the console searches applications by

accounts: verified_at, verified_by (staff), verified_office, verification_method
(counter | post_office), issued_password_expires_at (an unchanged issued password stops
working then). applications.name_key: the name NFC-normalised and case-folded
(policies/application_search.py), filled here for rows that exist already.

Revision ID: 0013
Revises: 0012 (after merging i9-staff; the lead rechains)
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _name_key(name: str) -> str:
    # A copy of policies.application_search.name_key as it was at this revision: a migration
    # must keep meaning what it meant when it was written.
    folded = unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())
    return " ".join(folded.split())


def upgrade():
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issued_password_expires_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("verified_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("verified_office", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("verification_method", sa.String(length=16), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_accounts_verified_by_staff_accounts"),
                                    "staff_accounts", ["verified_by"], ["id"])
        batch_op.create_foreign_key(batch_op.f("fk_accounts_verified_office_offices"),
                                    "offices", ["verified_office"], ["code"])

    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_key", sa.String(length=400), nullable=True))
    applications = sa.table("applications", sa.column("id", sa.Integer),
                            sa.column("full_name", sa.String), sa.column("name_key", sa.String))
    connection = op.get_bind()
    for row in connection.execute(sa.select(applications.c.id, applications.c.full_name)):
        connection.execute(applications.update().where(applications.c.id == row.id)
                           .values(name_key=_name_key(row.full_name)))
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.alter_column("name_key", existing_type=sa.String(length=400), nullable=False)


def downgrade():
    with op.batch_alter_table("applications", schema=None) as batch_op:
        batch_op.drop_column("name_key")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_accounts_verified_office_offices"),
                                 type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_accounts_verified_by_staff_accounts"),
                                 type_="foreignkey")
        batch_op.drop_column("verification_method")
        batch_op.drop_column("verified_office")
        batch_op.drop_column("verified_by")
        batch_op.drop_column("verified_at")
        batch_op.drop_column("issued_password_expires_at")
