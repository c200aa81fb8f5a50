"""outbox_messages.lease_owner: who holds a claimed message while it is sent

A job of the task queue that claimed messages and died before recording the outcome is run
again, as the same job, once the queue sees its worker stopped (stalled-job recovery). Naming
the lease's owner ("job:<id>") lets that run take its messages back at once instead of waiting
for the lease (5 minutes) to lapse. Existing rows have none.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("lease_owner")
