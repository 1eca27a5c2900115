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
import contextvars
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
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
        return engine
    # Room for 32 concurrent updates plus the delivery engine and jobs of the same process.
    return create_async_engine(url, echo=echo, pool_size=20, max_overflow=20, pool_pre_ping=True)


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
