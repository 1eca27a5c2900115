"""inbound queue: updates a webhook receiver logs wait there for the workers

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_QUEUED = sa.text("queue_key IS NOT NULL AND handled_at IS NULL AND throttled = false")


def upgrade() -> None:
    with op.batch_alter_table("inbound_updates") as batch:
        batch.add_column(sa.Column("queue_key", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False))
    op.create_index("ix_inbound_queue", "inbound_updates", ["queue_key", "id"], unique=False,
                    postgresql_where=_QUEUED, sqlite_where=_QUEUED)


def downgrade() -> None:
    op.drop_index("ix_inbound_queue", table_name="inbound_updates")
    with op.batch_alter_table("inbound_updates") as batch:
        batch.drop_column("attempts")
        batch.drop_column("queue_key")
