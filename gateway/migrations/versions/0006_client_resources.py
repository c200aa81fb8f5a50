"""clients.resources: the resource servers that may introspect tokens for their audience

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    # Existing clients get none: after this revision a service introspects only its own tokens
    # until an operator registers it (`clients set-resources`), which is the point (RFC 7662 §4).
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resources", sa.JSON(), server_default=sa.text("'[]'"),
                                      nullable=False))


def downgrade():
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("resources")
