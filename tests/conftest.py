"""Shared fixtures: a freshly migrated database per test, on SQLite or PostgreSQL.

The backend is chosen by TEST_DATABASE_URL: unset means SQLite in a temporary file; a
``postgresql+asyncpg://`` URL means PostgreSQL, where the run creates its own database, migrates
it once and empties every table before each test. If PostgreSQL is unreachable the tests skip
with the reason, except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot import clock
from bot.runtime import Runtime
from bot.sandbox import Sandbox, SandboxClient
from bot.settings import Settings
from storage.migrate import upgrade
from storage.models import Base

ADMIN_ID = 900
OFFICERS_CHAT = -100500
TEST_TOKEN = "123456:TEST-TOKEN-abcdefghijklmnop"


def _pg_target() -> str | None:
    return os.environ.get("TEST_DATABASE_URL") or None


async def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.database or "postgres",
        timeout=5,
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database for this test run: a SQLite file to copy, or a PostgreSQL database."""
    target = _pg_target()
    if target is None:
        path = tmp_path_factory.mktemp("db") / "template.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)
        return
    name = f"kopdesk_test_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_admin(target, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server, refused login...
        reason = f"PostgreSQL at {make_url(target).host}:{make_url(target).port} unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI must not skip the PostgreSQL pass)")
        pytest.skip(reason)
    url = make_url(target).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    asyncio.run(_pg_admin(target, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(migrated_template: str, tmp_path: Path) -> str:
    """A migrated, empty database for one test."""
    if _pg_target() is None:
        copy = tmp_path / "kopdesk.db"
        shutil.copy(migrated_template, copy)
        return f"sqlite+aiosqlite:///{copy}"
    tables = ", ".join(
        f'"{t.name}"' for t in Base.metadata.sorted_tables
    )
    asyncio.run(_truncate(migrated_template, tables))
    return migrated_template


async def _truncate(url: str, tables: str) -> None:
    from storage.db import Database

    db = Database(url)
    try:
        async with db.session() as session:
            await session.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Settings for a test bot: the test database, one admin, an officers' chat."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=database_url,
        send_ledger_dir=tmp_path / "sends",
        bot_token=TEST_TOKEN,
        admin_ids=[ADMIN_ID],
        officers_chat_id=OFFICERS_CHAT,
        telegram_api_url="http://127.0.0.1:9/bot",
    )


@pytest.fixture
async def runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime (database engine, outbound log) of a test bot."""
    rt = Runtime.create(settings)
    yield rt
    await rt.db.dispose()


@pytest.fixture
def clock_start() -> datetime:
    """Where `manual_clock` starts; a test module overrides this fixture with its own moment."""
    return datetime(2027, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def manual_clock(clock_start: datetime) -> Iterator[clock.ManualClock]:
    """The program's one clock, stopped at `clock_start`: the test moves it, nothing sleeps."""
    fixed = clock.ManualClock(clock_start)
    previous = clock.install(fixed)
    yield fixed
    clock.install(previous)


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A Bot API sandbox on a free local port, for the test token."""
    box = Sandbox(bot_token=TEST_TOKEN)
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[SandboxClient]:
    """The control-API client of the sandbox."""
    async with SandboxClient(sandbox.control_url) as c:
        yield c
