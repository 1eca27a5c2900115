"""indexes for statistics and exports

Revision ID: 0009
Revises: 0008

- ix_cooperatives_kecamatan_status gains incorporated_on: /statistik counts cooperatives by
  kecamatan and status, and those that owe a year's report (not dissolved, founded by the
  year's end), from the index alone. Over 210,000 cooperatives on SQLite the second count took
  1.3 s reading the table in index order; covered, 0.13 s.
- ix_cooperatives_kecamatan_name (kecamatan_id, name, id): the annual-report export lists each
  kecamatan's cooperatives by name, page by page, without sorting the registry.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cooperatives", schema=None) as batch_op:
        batch_op.drop_index("ix_cooperatives_kecamatan_status")
        batch_op.create_index("ix_cooperatives_kecamatan_status", ["kecamatan_id", "status", "incorporated_on"])
        batch_op.create_index("ix_cooperatives_kecamatan_name", ["kecamatan_id", "name", "id"])


def downgrade() -> None:
    with op.batch_alter_table("cooperatives", schema=None) as batch_op:
        batch_op.drop_index("ix_cooperatives_kecamatan_name")
        batch_op.drop_index("ix_cooperatives_kecamatan_status")
        batch_op.create_index("ix_cooperatives_kecamatan_status", ["kecamatan_id", "status"])
