"""The migrations build exactly the schema the models describe (nothing missing, nothing extra)."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

import storage.models_delivery  # noqa: F401 -- every model module registers its tables
import storage.models_meetings  # noqa: F401
import storage.models_support  # noqa: F401
from storage.migrate import upgrade
from storage.models import Base


def test_migrations_match_the_models(tmp_path: Path) -> None:
    upgrade(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
    engine = create_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
