"""Indexes for the periodic sweeps (gateway/services/sweeps.py)

Each sweep deletes a bounded batch of expired rows, `DELETE … WHERE id IN (SELECT id … WHERE
<expired> LIMIT n)`; without an index on what "expired" reads, every batch scanned the whole
table (millions of sessions and refresh tokens), so the sweep's cost grew with the data it was
meant to keep small. `events.at` and `store_entries.expires_at` were indexed already.

Revision ID: 0019
Revises: 0017
"""
from alembic import op

revision = "0019"
down_revision = "0017"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_login_sessions_expires_at", "login_sessions", "expires_at"),
    ("ix_refresh_tokens_expires_at", "refresh_tokens", "expires_at"),
    ("ix_outbox_messages_delivered_at", "outbox_messages", "delivered_at"),
    ("ix_outbox_messages_failed_at", "outbox_messages", "failed_at"),
)


def upgrade():
    for name, table, column in INDEXES:
        op.create_index(name, table, [column])


def downgrade():
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
