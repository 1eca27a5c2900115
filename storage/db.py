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
import logging
import math
import os
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import ORMExecuteState, Session

from storage.repositories import message_log
from storage.sender_cache import SenderCache

_LOG = logging.getLogger(__name__)
T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 30_000
# How long a commit may wait for SQLite's write lock while another transaction holds it.
COMMIT_WAIT = timedelta(minutes=10)
# session.info key: the session has written (a DML statement or an ORM flush).
WROTE = "kopdesk_wrote"

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
        # A connection for each update handled at once (bot/tg/build.py) plus the process's own.
        engine = create_async_engine(url, echo=echo, pool_size=8, max_overflow=32)
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
    # The outbound log rows of the update's sends, and (update_id, fingerprint) to mark handled
    # once its handlers are done: written last, with everything else (`_finish`).
    outbound: list[dict[str, Any]] = field(default_factory=list)
    handled: tuple[int, str] | None = None
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
        # A session class of this database's own, so that its events concern only its sessions.
        self.session_class: type[Session] = type("KopDeskSession", (Session,), {})
        event.listen(self.session_class, "do_orm_execute", _note_dml)
        event.listen(self.session_class, "after_flush", _note_flush)
        event.listen(self.session_class, "after_commit", _forget_writes)
        event.listen(self.session_class, "after_rollback", _forget_writes)
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False,
                                               sync_session_class=self.session_class)
        self.results = GroupCommit(self)
        # The open unit of work of each (chat, user): conversation states go to its own update.
        self._by_key: dict[tuple[int, ...], UnitOfWork] = {}
        # Set by `remember_senders` in a process that sees every update of its bot.
        self.senders: SenderCache | None = None

    def remember_senders(self) -> SenderCache:
        """Keep the facts of recent senders between their updates (storage/sender_cache.py)."""
        if self.senders is None:
            self.senders = SenderCache()
            self.senders.watch(self.session_class)
        return self.senders

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
                await self._finish(uow)
            except BaseException:
                await session.rollback()
                # What was sent to Telegram happened even if the update failed: keep its log.
                if uow.before_commit or uow.outbound:
                    try:
                        await self._flush_queued(uow, mark=False)
                        await session.commit()
                    except Exception:
                        await session.rollback()
                raise
            finally:
                uow.closed = True
                _current_uow.reset(token)
                if key is not None and self._by_key.get(key) is uow:
                    del self._by_key[key]

    async def _finish(self, uow: UnitOfWork) -> None:
        """Commit the update: its writes, then its outbound log and "handled" mark.

        An update whose handlers only read (most commands, and every answer from a catalogue)
        has nothing to commit but its log: that goes to `GroupCommit`, which writes the logs of
        the updates finishing together in one transaction. Either way the mark is durable, with
        the update's effects, before this returns.
        """
        session = uow.session
        if not uow.failed and not uow.before_commit and not wrote(session):
            uow.sealed = True  # no await since the check: later writes go elsewhere
            outbound, uow.outbound = uow.outbound, []
            await session.close()  # a read-only transaction: its connection goes back at once
            if await self.results.write(outbound, uow.handled):
                raise message_log.AlreadyHandled(uow.update_id)
            return
        await self._flush_queued(uow, mark=True)
        await session.commit()

    @staticmethod
    async def _flush_queued(uow: UnitOfWork, *, mark: bool) -> None:
        async with uow.lock:
            while uow.before_commit:
                work = uow.before_commit.pop(0)
                result = work(uow.session)
                if asyncio.iscoroutine(result):
                    await result
            marks = [uow.handled] if mark and uow.handled is not None else []
            if await message_log.record_results(uow.session, uow.outbound, marks):
                raise message_log.AlreadyHandled(uow.update_id)
            uow.outbound = []
            uow.sealed = True

    def log_outbound(self, row: dict[str, Any]) -> Awaitable[None] | None:
        """Store one outbound log row (`message_log.outbound_row`) with the current update's
        transaction; outside any update, in a group commit of its own (returned, to await)."""
        uow = current_uow()
        if uow is not None and not uow.sealed:
            uow.outbound.append(row)
            return None
        return self.results.write([row], None)

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


def _note_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


def _note_flush(session: Session, _context: Any) -> None:
    session.info[WROTE] = True


def _forget_writes(session: Session) -> None:
    session.info.pop(WROTE, None)


def wrote(session: AsyncSession) -> bool:
    """True if the session has written since its last commit or rollback, or holds changes a
    commit would write."""
    return bool(session.info.get(WROTE) or session.new or session.deleted
                or any(session.is_modified(obj) for obj in session.dirty))


async def committed(session: AsyncSession, work: Callable[[], Awaitable[T]], what: str) -> T:
    """Run `work()` and commit, waiting as long as it takes for SQLite's write lock.

    Another update's transaction may hold the lock while its handler waits on Telegram (a 429's
    retry_after, a retried 5xx) for longer than the busy timeout. Giving up would lose what
    Telegram counts as delivered, so this waits (up to COMMIT_WAIT) instead.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COMMIT_WAIT.total_seconds()
    delay = 0.05
    while True:
        try:
            result = await work()
            await session.commit()
            return result
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or loop.time() > deadline:
                raise
            await session.rollback()
            _LOG.warning("%s waits for the database write lock", what)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


class GroupCommit:
    """Writes the outbound logs and "handled" marks of the updates finishing together.

    `write` is awaited by each update whose handlers wrote nothing else; every call made while
    no transaction is being written, or while one is, joins the next transaction: one INSERT
    of all their outbound rows, one UPDATE of all their marks, one commit. A burst of
    read-only updates (a restart's backlog of /bantuan) costs a few commits instead of one
    each, and each update's mark is still durable before its `write` returns.
    """

    MAX_BATCH = 500
    # While the bot is busy (a transaction ended less than BUSY ago), a batch smaller than
    # GATHER waits LINGER for company: twice the updates per commit in a burst (docs/
    # PERFORMANCE.md), a few milliseconds more for each; a quiet bot commits at once.
    GATHER, LINGER, BUSY = 16, 0.003, 0.05

    def __init__(self, db: Database) -> None:
        self._db = db
        self._pending: list[tuple[list[dict[str, Any]], tuple[int, str] | None, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None
        self._last_commit = -math.inf  # loop time at which the last transaction ended
        self.commits = 0  # transactions written (for tests and figures)

    async def write(self, outbound: list[dict[str, Any]], handled: tuple[int, str] | None) -> bool:
        """Store `outbound` and the mark; True if the mark had been set by someone else."""
        if not outbound and handled is None:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending.append((outbound, handled, future))
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let the other updates finishing in this turn join
            loop = asyncio.get_running_loop()
            while self._pending:
                if len(self._pending) < self.GATHER and loop.time() - self._last_commit < self.BUSY:
                    await asyncio.sleep(self.LINGER)
                batch = self._pending[: self.MAX_BATCH]
                del self._pending[: self.MAX_BATCH]
                rows = [row for outbound, _, _ in batch for row in outbound]
                marks = [mark for _, mark, _ in batch if mark is not None]
                self.commits += 1
                try:
                    async with self._db.sessionmaker() as session:
                        fenced = await committed(
                            session, lambda s=session, r=rows, m=marks: message_log.record_results(s, r, m),
                            f"the log of {len(batch)} update(s)")
                except Exception as exc:  # each waiter's update fails with it
                    self._last_commit = loop.time()
                    for _, _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                self._last_commit = loop.time()
                for _, mark, future in batch:
                    if not future.done():
                        future.set_result(mark in fenced)
        finally:
            self._task = None
