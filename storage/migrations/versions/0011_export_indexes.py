"""export indexes

Revision ID: 0011
Revises: 0005

The annual-report export lists a kecamatan's cooperatives by name, page by page on
(name, id): this index serves those pages without sorting the registry each time.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_cooperatives_kecamatan_name", "cooperatives", ["kecamatan_id", "name", "id"])


def downgrade() -> None:
    op.drop_index("ix_cooperatives_kecamatan_name", table_name="cooperatives")
