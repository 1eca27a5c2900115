"""storage/sqlite_driver.py: one trip to aiosqlite's thread per statement, same answers as sqlite3."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.models import Base, Person
from storage.sqlite_driver import OneTripCursor


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call queued on an aiosqlite connection's thread, by name."""
    queued: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        queued.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield queued


async def test_the_engine_uses_the_one_trip_cursor(db: Database) -> None:
    async with db.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.driver_connection, aiosqlite.Connection)
        assert isinstance(raw.dbapi_connection.cursor(), OneTripCursor)


async def test_a_statement_is_one_trip(db: Database, trips: list[str]) -> None:
    """SQLAlchemy's own adapter makes four trips for a SELECT (cursor, execute, fetchall, close)
    and three for an INSERT; here each is one, and the commit one more."""
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the connection is in the pool now
        trips.clear()
        assert (await conn.execute(select(Person.id))).all() == []
        assert len(trips) == 1
        trips.clear()
        await conn.execute(insert(Person).values(telegram_id=7, first_name="Ani"))
        assert len(trips) == 1
        trips.clear()
        await conn.commit()
        assert trips == ["commit"]


async def test_answers_are_those_of_sqlite3(db: Database) -> None:
    async with db.engine.begin() as conn:
        first = await conn.execute(insert(Person).values(telegram_id=1, first_name="Ani"))
        assert first.rowcount == 1
        assert first.inserted_primary_key is not None and first.inserted_primary_key[0] >= 1
        many = await conn.execute(insert(Person), [
            {"telegram_id": n, "first_name": f"P{n}"} for n in range(2, 12)])
        assert many.rowcount == 10
        rows = (await conn.execute(select(Person.telegram_id, Person.first_name).order_by(Person.telegram_id))).all()
        assert [tuple(row) for row in rows[:2]] == [(1, "Ani"), (2, "P2")]
        assert len(rows) == 11
        result = await conn.execute(select(Person.telegram_id).order_by(Person.telegram_id))
        assert result.keys() == ["telegram_id"]
        assert result.fetchone() == (1,)
        assert result.fetchmany(3) == [(2,), (3,), (4,)]
        assert len(result.fetchall()) == 7
        changed = await conn.execute(text("UPDATE people SET first_name = 'X' WHERE telegram_id > 5"))
        assert changed.rowcount == 6
        streamed = await conn.stream(select(Person.telegram_id).order_by(Person.telegram_id))
        assert [row[0] async for row in streamed] == list(range(1, 12))


async def test_errors_are_sqlalchemys(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(insert(Person).values(telegram_id=3, first_name="Ani"))
        with pytest.raises(IntegrityError):
            await conn.execute(insert(Person).values(telegram_id=3, first_name="Budi"))
        await conn.rollback()
        # The connection is still good after the error.
        assert (await conn.execute(select(Person.id))).all() == []
