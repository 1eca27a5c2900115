"""outbox lane: officers' notices are claimed before bulk rows

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lane", sa.SmallInteger(), nullable=False, server_default="2")
        )
        batch_op.drop_index("ix_outbox_state_due")
        batch_op.create_index(
            "ix_outbox_state_lane_due", ["state", "lane", "next_attempt_at", "id"], unique=False
        )
    # Officers' notices already queued keep their place ahead of bulk.
    op.execute(
        "UPDATE outbox SET lane = 1 WHERE batch_id IN "
        "(SELECT id FROM outbox_batches WHERE source_kind = 'officer_notice')"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_state_lane_due")
        batch_op.create_index(
            "ix_outbox_state_due", ["state", "next_attempt_at", "id"], unique=False
        )
        batch_op.drop_column("lane")
