"""Engine, sessions and the unit of work.

One `UnitOfWork` per update: a single session and transaction that every handler of the update
shares. It commits when the update is done; on error it rolls back and the error still reaches
the error handler (the application rolls back before calling it, see `bot.application`).

SQLite is opened in WAL mode with a busy timeout. The driver's own transaction handling is kept
on purpose: it opens the transaction at the first write, so the reads before it are not part of
a read snapshot that a later write would have to upgrade (in WAL mode such an upgrade fails at
once with "database is locked" when another connection committed in between). A transaction
therefore waits for the write lock (up to the busy timeout) at its first write, and holds it
until commit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextvars
import json
import os
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 30_000

_current_uow: contextvars.ContextVar[UnitOfWork | None] = contextvars.ContextVar(
    "kopdesk_uow", default=None
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for SQLite (aiosqlite) or PostgreSQL (asyncpg), configured for KopDesk."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(url, echo=echo, pool_size=5, max_overflow=5)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        # Room for 32 concurrent updates plus the delivery engine and jobs of the same process.
        engine = create_async_engine(url, echo=echo, pool_size=20, max_overflow=20, pool_pre_ping=True)
    report = os.environ.get(ROUND_TRIPS_ENV)
    if report:
        count_round_trips(engine, Path(f"{report}.{os.getpid()}.json"))
    return engine


# Benchmarks only: a path prefix; the process then writes its database round trips there at exit.
ROUND_TRIPS_ENV = "KOPDESK_ROUND_TRIPS_FILE"


_ROUND_TRIPS: Counter[str] = Counter()


def count_round_trips(engine: AsyncEngine, path: Path) -> Counter[str]:
    """Count what goes to the database: statements, commits, rollbacks (a transaction's end, or
    a connection's reset on return to the pool) and pool checkouts (each one a ping on
    PostgreSQL, where `pool_pre_ping` is on); every engine of the process adds to one count,
    written to `path` when the process exits."""
    counts = _ROUND_TRIPS
    if not counts:
        atexit.register(lambda: path.write_text(json.dumps(dict(counts))))
        counts["engines"] = 0
    counts["engines"] += 1
    sync = engine.sync_engine
    event.listen(sync, "before_cursor_execute", lambda *_a, **_k: counts.update(["statements"]))
    event.listen(sync, "commit", lambda *_a: counts.update(["commits"]))
    event.listen(sync, "rollback", lambda *_a: counts.update(["rollbacks"]))
    event.listen(sync.pool, "checkout", lambda *_a: counts.update(["checkouts"]))
    return counts


@dataclass
class UnitOfWork:
    """The session of one update plus what must be written with it before commit."""

    session: AsyncSession
    update_id: int | None = None
    # The update's row in the inbound log, once stored.
    inbound_id: int | None = None
    failed: bool = False
    closed: bool = False
    # Set (with no await in between) when the queue has been written: later work goes elsewhere.
    sealed: bool = False
    # Work queued by code that must not touch the session concurrently (the request layer
    # and the PTB persistence); run in order right before commit.
    before_commit: list[Callable[[AsyncSession], Any]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def rollback(self) -> None:
        """Undo everything the update's handlers wrote so far; the session stays usable."""
        self.failed = True
        await self.session.rollback()


def current_uow() -> UnitOfWork | None:
    """The unit of work of the update being processed in this task, if any."""
    uow = _current_uow.get()
    return None if uow is None or uow.closed else uow


class Database:
    """Owns the engine and hands out sessions; the only place transactions are committed."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine = create_engine(url, echo=echo)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        # The open unit of work of each (chat, user): conversation states go to its own update.
        self._by_key: dict[tuple[int, ...], UnitOfWork] = {}

    @property
    def is_sqlite(self) -> bool:
        """True for the embedded SQLite backend."""
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A short transaction: commit on success, roll back and re-raise on error."""
        async with self.sessionmaker() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise

    @asynccontextmanager
    async def unit_of_work(
        self, update_id: int | None = None, key: tuple[int, ...] | None = None
    ) -> AsyncIterator[UnitOfWork]:
        """The transaction of one update, visible to all code of the update via `current_uow`.

        `key` (chat id, user id) lets writes about that conversation find this transaction
        even when they are issued from another update's task (see `write`).
        """
        async with self.sessionmaker() as session:
            uow = UnitOfWork(session=session, update_id=update_id)
            token = _current_uow.set(uow)
            if key is not None:
                self._by_key[key] = uow
            try:
                yield uow
                await self._flush_queued(uow)
                await session.commit()
            except BaseException:
                await session.rollback()
                # What was sent to Telegram happened even if the update failed: keep its log.
                if uow.before_commit:
                    try:
                        await self._flush_queued(uow)
                        await session.commit()
                    except Exception:
                        await session.rollback()
                raise
            finally:
                uow.closed = True
                _current_uow.reset(token)
                if key is not None and self._by_key.get(key) is uow:
                    del self._by_key[key]

    @staticmethod
    async def _flush_queued(uow: UnitOfWork) -> None:
        async with uow.lock:
            while uow.before_commit:
                work = uow.before_commit.pop(0)
                result = work(uow.session)
                if asyncio.iscoroutine(result):
                    await result
            uow.sealed = True

    async def write(
        self, work: Callable[[AsyncSession], Any], *, key: tuple[int, ...] | None = None
    ) -> None:
        """Run `work(session)` in the transaction of the update it concerns, or in its own.

        With `key`, the open unit of work of that (chat, user) takes it; otherwise the current
        task's. Outside any update it runs in a short transaction of its own.
        """
        owner = self._by_key.get(key) if key is not None else None
        uow = owner if owner is not None and not owner.sealed else current_uow()
        if uow is not None and not uow.sealed:
            uow.before_commit.append(work)
            return
        async with self.session() as session:
            result = work(session)
            if asyncio.iscoroutine(result):
                await result

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
