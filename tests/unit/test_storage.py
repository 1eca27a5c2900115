"""Storage: SQLite set-up, the unit of work, the inbound log's statuses, UTC timestamps, the CLI."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import inspect, select, text, update

from bot.runtime import Runtime
from storage.db import SQLITE_BUSY_TIMEOUT_MS, Database, current_uow
from storage.models import AuditEntry, Base, InboundUpdate, OutboundCall, Person
from storage.repositories import message_log
from storage.repositories.message_log import InboundStatus
from storage.types import utcnow
from tests.support.cli import run_cli
from tests.support.harness import fetch


async def test_sqlite_pragmas_in_force(tmp_path: Path) -> None:
    """Every SQLite connection runs in WAL mode with the busy timeout and foreign keys on."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'pragmas.db'}")
    try:
        async with db.session() as session:
            journal = (await session.execute(text("PRAGMA journal_mode"))).scalar_one()
            busy = (await session.execute(text("PRAGMA busy_timeout"))).scalar_one()
            foreign = (await session.execute(text("PRAGMA foreign_keys"))).scalar_one()
        assert journal.lower() == "wal"
        assert busy == SQLITE_BUSY_TIMEOUT_MS == 30_000
        assert foreign == 1
        # A second pooled connection gets the same treatment.
        async with db.engine.connect() as first, db.engine.connect() as second:
            for conn in (first, second):
                assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one() == 30_000
    finally:
        await db.dispose()


async def _audit_actions(db: Database) -> list[str]:
    return [row.action for row in await fetch(db, AuditEntry, order_by=AuditEntry.id)]


async def test_unit_of_work_commits_on_success(runtime: Runtime) -> None:
    """Writes in a unit of work are committed when it ends normally; it is current only inside."""
    db = runtime.db
    async with db.unit_of_work(update_id=7) as uow:
        assert current_uow() is uow and uow.update_id == 7
        uow.session.add(AuditEntry(action="kept", details={}))
    assert current_uow() is None
    assert await _audit_actions(db) == ["kept"]


async def test_unit_of_work_rolls_back_and_reraises(runtime: Runtime) -> None:
    """An error inside a unit of work rolls every write back and reaches the caller unchanged."""
    db = runtime.db
    boom = RuntimeError("handler failed")
    with pytest.raises(RuntimeError) as caught:
        async with db.unit_of_work(update_id=8) as uow:
            uow.session.add(AuditEntry(action="lost", details={}))
            await uow.session.flush()  # really sent to the database
            raise boom
    assert caught.value is boom
    assert current_uow() is None
    assert await _audit_actions(db) == []


async def test_queued_writes_survive_a_failed_unit_of_work(runtime: Runtime) -> None:
    """Database.write inside a failing unit of work (the outbound log) still commits its row."""
    db = runtime.db
    with pytest.raises(ValueError):
        async with db.unit_of_work(update_id=9) as uow:
            uow.session.add(AuditEntry(action="lost", details={}))
            await db.write(lambda s: s.add(AuditEntry(action="queued", details={})))
            raise ValueError("after the send")
    assert await _audit_actions(db) == ["queued"]


def _raw(update_id: int, text: str = "halo") -> dict:
    return {"update_id": update_id, "message": {"text": text}}


async def _record(db: Database, update_id: int, user_id: int = 5, text: str = "halo") -> InboundStatus:
    async with db.session() as session:
        return await message_log.record_inbound(
            session,
            update_id=update_id,
            user_id=user_id,
            chat_id=user_id,
            kind="text",
            text=text,
            raw=_raw(update_id, text),
        )


async def test_record_inbound_statuses(runtime: Runtime) -> None:
    """record_inbound: NEW the first time, UNFINISHED while not handled, DONE once handled."""
    db = runtime.db
    assert await _record(db, 100) is InboundStatus.NEW
    assert await _record(db, 100) is InboundStatus.UNFINISHED
    async with db.session() as session:
        await message_log.mark_handled(session, 100, message_log.fingerprint(_raw(100)))
    assert await _record(db, 100) is InboundStatus.DONE
    # A throttled update counts as done too; other ids are unaffected.
    assert await _record(db, 101) is InboundStatus.NEW
    async with db.session() as session:
        await message_log.mark_throttled(session, 101)
    assert await _record(db, 101) is InboundStatus.DONE
    rows = await fetch(db, InboundUpdate, order_by=InboundUpdate.update_id)
    assert [r.update_id for r in rows] == [100, 101]
    assert rows[0].handled_at is not None and rows[1].handled_at is None


async def test_a_second_handled_mark_is_refused(runtime: Runtime) -> None:
    """Two workers that both believe they hold a chat: the second to commit the update's handled
    mark gets AlreadyHandled, and its transaction rolls back."""
    db = runtime.db
    await _record(db, 300)
    digest = message_log.fingerprint(_raw(300))
    async with db.session() as session:
        await message_log.mark_handled(session, 300, digest)
    with pytest.raises(message_log.AlreadyHandled):
        async with db.session() as session:
            await message_log.mark_handled(session, 300, digest)


async def test_reused_update_id_with_another_payload_is_new(runtime: Runtime) -> None:
    """Telegram may number updates from the start again: same id, other payload → a new update."""
    db = runtime.db
    assert await _record(db, 100, text="halo") is InboundStatus.NEW
    async with db.session() as session:
        await message_log.mark_handled(session, 100, message_log.fingerprint(_raw(100, "halo")))
    assert await _record(db, 100, text="/start") is InboundStatus.NEW
    assert await _record(db, 100, text="halo") is InboundStatus.DONE
    # The flood limit marks only the unsettled row of that id.
    async with db.session() as session:
        await message_log.mark_throttled(session, 100)
    rows = await fetch(db, InboundUpdate, order_by=InboundUpdate.id)
    assert [(r.text, r.handled_at is not None, r.throttled) for r in rows] == [
        ("halo", True, False), ("/start", False, True)
    ]
    async with db.session() as session:
        assert await message_log.highest_update_id(session) == 100


async def test_timestamps_are_aware_utc(runtime: Runtime) -> None:
    """Timestamps come back timezone-aware in UTC, the same instant that was stored."""
    db = runtime.db
    wita = datetime(2025, 3, 31, 23, 30, tzinfo=ZoneInfo("Asia/Makassar"))  # 15:30 UTC
    async with db.session() as session:
        session.add(AuditEntry(action="at_wita", details={}, at=wita))
        session.add(AuditEntry(action="default", details={}))
    await _record(db, 200)
    async with db.session() as session:
        await message_log.mark_handled(session, 200, message_log.fingerprint(_raw(200)))

    entries = {e.action: e for e in await fetch(db, AuditEntry)}
    stored = entries["at_wita"].at
    assert stored.utcoffset() == timedelta(0)
    assert stored == wita and stored.hour == 15
    assert abs(entries["default"].at - utcnow()) < timedelta(minutes=1)
    assert entries["default"].at.utcoffset() == timedelta(0)
    (row,) = await fetch(db, InboundUpdate)
    for value in (row.received_at, row.handled_at):
        assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
    # Comparisons in SQL respect the instant, whatever the zone of the bound value.
    async with db.session() as session:
        found = (
            await session.execute(
                select(AuditEntry.action).where(
                    AuditEntry.at < datetime(2025, 4, 1, 0, 0, tzinfo=ZoneInfo("Asia/Makassar"))
                )
            )
        ).scalars().all()
    assert found == ["at_wita"]


async def test_naive_datetime_refused(runtime: Runtime) -> None:
    """A naive datetime is refused rather than stored with a guessed zone."""
    with pytest.raises(Exception, match="naive datetime"):
        async with runtime.db.session() as session:
            session.add(AuditEntry(action="naive", details={}, at=datetime(2025, 1, 1, 12, 0)))
    assert await _audit_actions(runtime.db) == []


async def _table_names(url: str) -> set[str]:
    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await db.dispose()


async def test_db_upgrade_creates_tables_and_is_idempotent(tmp_path: Path, database_url: str) -> None:
    """`kopdesk db upgrade` creates every table on a new SQLite file, and a rerun changes nothing."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    first = run_cli("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    assert "database: up to date" in first.stdout
    tables = await _table_names(url)
    assert set(Base.metadata.tables) | {"alembic_version"} == tables

    second = run_cli("db", "upgrade", cwd=tmp_path, DATABASE_URL=url)
    assert second.returncode == 0, second.stderr
    assert await _table_names(url) == tables
    db = Database(url)
    try:
        async with db.session() as session:
            versions = (await session.execute(text("SELECT version_num FROM alembic_version"))).all()
    finally:
        await db.dispose()
    assert len(versions) == 1

    # The test database of this run (SQLite or PostgreSQL) is at head already: a no-op.
    again = run_cli("db", "upgrade", cwd=tmp_path, DATABASE_URL=database_url)
    assert again.returncode == 0, again.stderr


async def test_logs_prune_removes_only_old_rows(runtime: Runtime, tmp_path: Path) -> None:
    """`kopdesk logs prune` deletes inbound and outbound rows older than the cut-off, nothing else."""
    db = runtime.db
    now = utcnow()
    ages = {1: timedelta(days=3), 2: timedelta(hours=30), 3: timedelta(minutes=1)}
    for update_id, age in ages.items():
        await _record(db, update_id)
        async with db.session() as session:
            await session.execute(
                update(InboundUpdate)
                .where(InboundUpdate.update_id == update_id)
                .values(received_at=now - age)
            )
            session.add(
                OutboundCall(
                    method="sendMessage", chat_id=5, text=f"reply {update_id}", ok=True,
                    attempts=1, duration_ms=3, update_id=update_id, created_at=now - age,
                )
            )
    async with db.session() as session:
        session.add(AuditEntry(action="old_audit", details={}, at=now - timedelta(days=30)))
        session.add(Person(telegram_id=5, first_name="B", created_at=now - timedelta(days=30),
                           last_seen_at=now - timedelta(days=30)))

    # Default age: LOG_RETENTION_DAYS.
    result = run_cli("logs", "prune", cwd=tmp_path, DATABASE_URL=db.url, LOG_RETENTION_DAYS="2")
    assert result.returncode == 0, result.stderr
    assert "removed 1 inbound and 1 outbound" in result.stdout
    assert [r.update_id for r in await fetch(db, InboundUpdate, order_by=InboundUpdate.update_id)] == [2, 3]
    assert [r.update_id for r in await fetch(db, OutboundCall, order_by=OutboundCall.update_id)] == [2, 3]

    result = run_cli("logs", "prune", "--older-than", "24h", cwd=tmp_path, DATABASE_URL=db.url)
    assert result.returncode == 0, result.stderr
    assert "removed 1 inbound and 1 outbound" in result.stdout
    assert [r.update_id for r in await fetch(db, InboundUpdate)] == [3]
    assert [r.update_id for r in await fetch(db, OutboundCall)] == [3]
    # Not message logs: untouched.
    assert await _audit_actions(db) == ["old_audit"]
    assert len(await fetch(db, Person)) == 1

    bad = run_cli("logs", "prune", "--older-than", "soon", cwd=tmp_path, DATABASE_URL=db.url)
    assert bad.returncode == 2 and "--older-than" in bad.stderr
    assert [r.update_id for r in await fetch(db, InboundUpdate)] == [3]

