"""Helpers shared by repositories."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


def insert_for(session: AsyncSession, model: Any) -> Any:
    """A dialect-specific Core INSERT into `model`'s table, with ON CONFLICT on both backends.

    Core, not ORM-enabled: these run on every update, and the ORM bulk path costs more than
    the statement itself.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    table = getattr(model, "__table__", model)
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)

