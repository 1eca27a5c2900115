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

from storage import sqlite_driver
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
        # A connection for each update handled at once (bot/tg/build.py) plus the process's own,
        # all kept once opened: an SQLite connection is cheap to keep (an idle thread) and dear to
        # open (a thread, four PRAGMAs, two functions), and a burst that opened them reuses them
        # instead of closing what exceeded a smaller pool and opening it again (in-process, a
        # new user's first message cost 13 % less CPU: docs/PERFORMANCE.md).
        engine = create_async_engine(url, echo=echo, pool_size=40, max_overflow=0, module=sqlite_driver.dbapi())
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
    """The session of one update plus what must be written with it before commit.

    The session is opened when first asked for: an update whose handlers touch no table (a
    remembered sender asking for /bantuan) has none, only its log for the group commit.
    """

    open_session: Callable[[], AsyncSession]
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
    # Run on the session as soon as it is opened, before anything else uses it (the sender's
    # remembered row is attached this way: handlers/pre.py).
    on_open: list[Callable[[AsyncSession], Any]] = field(default_factory=list)
    _session: AsyncSession | None = None

    @property
    def session(self) -> AsyncSession:
        """The update's session, opened now if it was not yet."""
        if self._session is None:
            self._session = self.open_session()
            for hook in self.on_open:
                hook(self._session)
            self.on_open.clear()
        return self._session

    def when_open(self, hook: Callable[[AsyncSession], Any]) -> None:
        """Run `hook` on the session as soon as it is opened (now, if it is)."""
        if self._session is not None:
            hook(self._session)
        else:
            self.on_open.append(hook)

    @property
    def opened(self) -> bool:
        """True once the session has been asked for."""
        return self._session is not None

    async def rollback(self) -> None:
        """Undo everything the update's handlers wrote so far; the session stays usable."""
        self.failed = True
        if self._session is not None:
            await self._session.rollback()


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
        uow = UnitOfWork(open_session=self.sessionmaker, update_id=update_id)
        token = _current_uow.set(uow)
        if key is not None:
            self._by_key[key] = uow
        try:
            yield uow
            await self._finish(uow)
        except BaseException:
            await uow.rollback()
            # What was sent to Telegram happened even if the update failed: keep its log.
            if uow.before_commit or uow.outbound:
                try:
                    await self._flush_queued(uow, mark=False)
                    await uow.session.commit()
                except Exception:
                    await uow.session.rollback()
            raise
        finally:
            uow.closed = True
            _current_uow.reset(token)
            if key is not None and self._by_key.get(key) is uow:
                del self._by_key[key]
            if uow.opened:
                await uow.session.close()

    async def _finish(self, uow: UnitOfWork) -> None:
        """Commit the update: its writes, then its outbound log and "handled" mark.

        An update whose handlers only read (most commands, and every answer from a catalogue)
        has nothing to commit but its log: that goes to `GroupCommit`, which writes the logs of
        the updates finishing together in one transaction. Either way the mark is durable, with
        the update's effects, before this returns.
        """
        if not uow.failed and not uow.before_commit and not (uow.opened and wrote(uow.session)):
            uow.sealed = True  # no await since the check: later writes go elsewhere
            outbound, uow.outbound = uow.outbound, []
            if uow.opened:
                await uow.session.close()  # a read-only transaction: its connection goes back at once
            if await self.results.write(outbound, uow.handled):
                raise message_log.AlreadyHandled(uow.update_id)
            return
        await self._flush_queued(uow, mark=True)
        await uow.session.commit()

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
    """Writes the message log of the updates of a moment, in one transaction for all of them.

    Two kinds of writes join it: the inbound row of an update about to run (`log_inbound`,
    awaited before its handlers may start), and the outbound rows and "handled" mark of an
    update whose handlers wrote nothing else (`write`, awaited before the update is done).
    Every call made while no transaction is being written, or while one is, joins the next:
    one INSERT of the inbound rows, one INSERT of the outbound rows, one UPDATE of the marks,
    one commit. A burst (a restart's backlog of /bantuan) costs a few commits instead of two for
    each update, and each row and mark is durable before its waiter goes on.

    While the bot is busy (a transaction ended less than BUSY ago) and no inbound row waits,
    a batch of fewer than GATHER waits LINGER for company: about twice the updates per commit in
    a burst (docs/PERFORMANCE.md), a few milliseconds more for each; a quiet bot commits at once.
    If the transaction fails, inbound waiters get None (each update is then logged alone, where
    a failure reaches its error handler) and the others are written once more without them.
    """

    MAX_INBOUND, MAX_RESULTS = 200, 500
    GATHER, LINGER, BUSY = 16, 0.003, 0.05

    def __init__(self, db: Database) -> None:
        self._db = db
        self._inbound: list[tuple[message_log.InboundRow,
                                  asyncio.Future[tuple[message_log.InboundStatus, int] | None]]] = []
        self._results: list[tuple[list[dict[str, Any]], tuple[int, str] | None, asyncio.Future[bool]]] = []
        self._task: asyncio.Task[None] | None = None
        self._last_commit = -math.inf  # loop time at which the last transaction ended
        self.commits = 0  # transactions written (for tests and figures)
        self.inbound_batches = 0  # of which carried inbound rows

    async def log_inbound(self, row: message_log.InboundRow) -> tuple[message_log.InboundStatus, int] | None:
        """Store one update in the inbound log: what to do with it and its row id (see
        `message_log.record_inbound_many`), or None if its transaction failed."""
        future: asyncio.Future[tuple[message_log.InboundStatus, int] | None] = (
            asyncio.get_running_loop().create_future())
        self._inbound.append((row, future))
        self._start()
        return await future

    async def write(self, outbound: list[dict[str, Any]], handled: tuple[int, str] | None) -> bool:
        """Store `outbound` and the mark; True if the mark had been set by someone else."""
        if not outbound and handled is None:
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._results.append((outbound, handled, future))
        self._start()
        return await future

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # let the other updates of this turn join
            loop = asyncio.get_running_loop()
            while self._inbound or self._results:
                if (not self._inbound and len(self._results) < self.GATHER
                        and loop.time() - self._last_commit < self.BUSY):
                    await asyncio.sleep(self.LINGER)
                inbound = self._inbound[: self.MAX_INBOUND]
                del self._inbound[: self.MAX_INBOUND]
                results = self._results[: self.MAX_RESULTS]
                del self._results[: self.MAX_RESULTS]
                await self._write(inbound, results)
                self._last_commit = loop.time()
        finally:
            self._task = None

    async def _write(self, inbound: list[Any], results: list[Any]) -> None:
        rows = [row for row, _ in inbound]
        outbound = [row for out, _, _ in results for row in out]
        marks = [mark for _, mark, _ in results if mark is not None]
        self.commits += 1
        self.inbound_batches += bool(inbound)

        async def work(session: AsyncSession) -> tuple[list[Any], set[tuple[int, str]]]:
            statuses = await message_log.record_inbound_many(session, rows) if rows else []
            return statuses, await message_log.record_results(session, outbound, marks)

        try:
            async with self._db.sessionmaker() as session:
                statuses, fenced = await committed(
                    session, lambda: work(session), f"the log of {len(inbound) + len(results)} update(s)")
        except Exception as exc:
            if inbound:
                _LOG.exception("logging a batch of %d update(s) failed; each is logged alone", len(rows))
                for _, future in inbound:
                    if not future.done():
                        future.set_result(None)
                if results:  # not theirs to fail for: once more, on their own
                    await self._write([], results)
                return
            for _, _, future in results:  # each waiter's update fails with it
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), stored in zip(inbound, statuses, strict=True):
            if not future.done():
                future.set_result(stored)
        for _, mark, future in results:
            if not future.done():
                future.set_result(mark in fenced)
