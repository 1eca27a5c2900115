"""inbound fingerprint, report prompt and answer messages

The report draft remembers the bot's latest message with its buttons (presses on older
messages are stale) and the user's message that gave the latest typed answer, with the field
it answered (an edit of that message corrects the answer).

The inbound log is deduplicated on (update_id, fingerprint) instead of update_id alone:
Telegram (and the sandbox) may start numbering updates again, and a new update that reuses an
old number must not be taken for a redelivery. Existing rows get the fingerprint of their raw
JSON, computed exactly as `storage.repositories.message_log.fingerprint` does (repeated here
so that this migration does not change when the application does).

Revision ID: 0006
Revises: 0005
"""

import hashlib
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def _fingerprint(raw: object) -> str:
    if isinstance(raw, str):
        raw = json.loads(raw)
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    table = sa.table(
        "inbound_updates",
        sa.column("id", sa.BigInteger()),
        sa.column("raw", sa.JSON()),
        sa.column("fingerprint", sa.String()),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(table.c.id, table.c.raw).where(table.c.id > last).order_by(table.c.id).limit(_BATCH)
        ).all()
        if not rows:
            break
        for row in rows:
            bind.execute(
                table.update().where(table.c.id == row.id).values(fingerprint=_fingerprint(row.raw))
            )
        last = rows[-1].id
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.alter_column("fingerprint", existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_constraint("uq_inbound_updates_update_id", type_="unique")
        batch_op.create_unique_constraint("uq_inbound_updates_update_id", ["update_id", "fingerprint"])

    with op.batch_alter_table("report_drafts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("answer_message_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("answer_field", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("report_drafts", schema=None) as batch_op:
        batch_op.drop_column("answer_field")
        batch_op.drop_column("answer_message_id")
        batch_op.drop_column("prompt_message_id")
    # Keep one row per update_id (the latest) so that the old unique constraint holds again.
    op.execute(
        "DELETE FROM inbound_updates WHERE id NOT IN "
        "(SELECT max(id) FROM inbound_updates GROUP BY update_id)"
    )
    with op.batch_alter_table("inbound_updates", schema=None) as batch_op:
        batch_op.drop_constraint("uq_inbound_updates_update_id", type_="unique")
        batch_op.drop_column("fingerprint")
        batch_op.create_unique_constraint("uq_inbound_updates_update_id", ["update_id"])
