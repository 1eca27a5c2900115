"""Log and handle: KopDesk's `Application` logs every update first, then handles it in one transaction.

The path of one update (see docs/ARCHITECTURE.md):
1. The raw update is stored in `inbound_updates` and committed before any handler runs: as
   soon as PTB hands it to the update processor, together with the other updates fetched at
   the same moment (`InboundBatcher`: one transaction for a batch instead of one per update;
   a restart's backlog or a burst of answers is logged in a few commits). An update that
   reaches `process_update` unlogged (a replay, a test) is logged on its own. An update already handled — same `update_id` *and* same
   payload fingerprint — is a redelivery and is skipped; a reused `update_id` with another
   payload is a new update (Telegram may restart its numbering).
2. PTB runs the handlers in the session's next transaction.
3. If a handler raises, `process_error` rolls the unit of work back *before* the error handlers
   run, so no partial write survives; the error handlers then see the exception.
   In a queue worker the update's conversation states are read from the database first
   (`conversation_loader`): another worker of the deployment may have moved them.
4. Conversation states, the outbound log of the update's sends and the "handled" mark are
   written in the same transaction, which commits last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.message_log import RAW_KEY, carrying_raw, json_safe, summarize_update
from bot.runtime import Runtime
from storage.db import Database, committed, current_uow
from storage.repositories import message_log as log_repo
from storage.repositories.message_log import InboundRow, InboundStatus
from storage.types import utcnow

_LOG = logging.getLogger(__name__)

# Updates whose handling never committed are replayed at start-up if they are this recent.
REPLAY_WINDOW = timedelta(hours=1)


class KopDeskApplication(Application):  # type: ignore[type-arg]
    """PTB's Application with the message log and one transaction per update."""

    def __init__(self, *, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime
        self.inbound = InboundBatcher(runtime.db)
        # Reads the update's conversation states from the database before its handlers run
        # (set by `bot.tg.build`) in a queue worker, where several processes share the updates
        # of one deployment and another may have moved the conversation. A `kopdesk run`
        # process sees every update of its bot: its states in memory are the database's.
        self.conversation_loader: Callable[[Application, AsyncSession, Update], Awaitable[None]] | None = None
        if isinstance(self.update_processor, PerChatUpdateProcessor):
            self.update_processor.prelog = self.inbound.log

    async def process_update(self, update: object) -> None:
        """Log the update, then run the handlers in one transaction (see module docstring)."""
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        try:
            key = (
                (update.effective_chat.id, update.effective_user.id)
                if update.effective_chat and update.effective_user
                else None
            )
            logged = self.inbound.take(update)
            await self._handle_logged(update, key, logged)
        except log_repo.AlreadyHandled:
            # Its work is rolled back; the copy that committed first answered the user.
            _LOG.warning("update %s was handled elsewhere meanwhile; this handling rolled back",
                         update.update_id)
        except Exception as exc:  # the database itself failed (log, begin or commit)
            await self.process_error(update=update, error=exc)
        finally:
            self.inbound.finish(update)

    async def _handle_logged(
        self,
        update: Update,
        key: tuple[int, int] | None,
        logged: tuple[InboundRow, InboundStatus, int] | None,
    ) -> None:
        db = self.runtime.db
        async with db.unit_of_work(update.update_id, key) as uow:
            # Durable before any handler runs; the handlers' transaction starts after this.
            if logged is None:  # not through the update processor (a replay, a test)
                row = inbound_row(update)
                stored = await db.results.log_inbound(row)
                if stored is None:  # that transaction failed: alone, the error reaches the handlers
                    status = await _log_inbound(uow, row)
                else:
                    status, uow.inbound_id = stored
            else:
                row, status, uow.inbound_id = logged
            digest = row.digest
            if status is InboundStatus.DONE:
                _LOG.info("update %s was handled before; redelivery skipped", update.update_id)
                return
            if self.conversation_loader is not None:
                await self.conversation_loader(self, uow.session, update)
            await super().process_update(update)
            await self.update_persistence()  # queues the states into this transaction
            uow.handled = (update.update_id, digest)

    async def process_error(
        self,
        update: object | None,
        error: Exception,
        job: Any = None,
        coroutine: Any = None,
    ) -> bool:
        """Roll back the update's transaction, let the error handlers see the error, and stop.

        Returning True stops the update's remaining handler groups: they would run on a
        transaction that no longer holds the work of the handlers before them.
        """
        uow = current_uow()
        if uow is not None and not uow.failed:
            try:
                await uow.rollback()
            except Exception:  # a broken connection cannot even roll back; carry on
                _LOG.exception("rollback failed for update %s", uow.update_id)
        stop = await super().process_error(update, error, job, coroutine)
        return stop or uow is not None

    async def replay_unfinished(self) -> int:
        """Handle again the recent updates whose handling never committed (a crash mid-way)."""
        async with self.runtime.db.session() as session:
            pending = await log_repo.unfinished_since(session, utcnow() - REPLAY_WINDOW)
        for raw in pending:
            update = Update.de_json(carrying_raw(raw), self.bot)  # same JSON, same fingerprint
            _LOG.warning("replaying update %s left unfinished by a crash", update.update_id)
            await self.process_update(update)
        return len(pending)


def inbound_row(update: Update) -> InboundRow:
    """What the inbound log stores of an update: the JSON Telegram sent where it came along
    (`carrying_raw`: polling, our webhook receiver, a replay), else PTB's `to_dict()`."""
    raw = update.api_kwargs.get(RAW_KEY)
    if not isinstance(raw, dict):
        raw = json_safe(update.to_dict())
    summary = summarize_update(raw)
    return InboundRow(update_id=update.update_id, digest=log_repo.fingerprint(raw),
                      user_id=summary.user_id, chat_id=summary.chat_id, kind=summary.kind,
                      text=summary.text, raw=raw)


async def _log_inbound(uow: Any, row: InboundRow) -> InboundStatus:
    """Store one update in the log and commit (the path of updates the batcher did not see)."""
    return await committed(
        uow.session,
        lambda: log_repo.record_inbound(
            uow.session, update_id=row.update_id, user_id=row.user_id, chat_id=row.chat_id,
            kind=row.kind, text=row.text, raw=row.raw, digest=row.digest,
        ),
        f"update {row.update_id}",
    )


class InboundBatcher:
    """Logs each update, durable before it runs, in the transaction of the moment.

    `log(update)` is awaited by the update processor before the update may start. The row goes
    to the database's group commit (`storage.db.GroupCommit`): the updates PTB hands over
    together (a whole getUpdates batch) join one INSERT … RETURNING and one commit, with the
    outbound logs and "handled" marks of the updates finishing meanwhile. The status of each
    update waits in `take` for its `process_update`. If the batch cannot be written, nothing is
    remembered and each update is logged on its own in `process_update`, where a failure
    reaches the error handler.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._done: dict[int, tuple[InboundRow, InboundStatus, int]] = {}
        # (update_id, fingerprint) of the updates this process is handling now: Telegram may
        # deliver one again before the first delivery's "handled" mark commits.
        self._active: set[tuple[int, str]] = set()
        self._owners: dict[int, tuple[int, str]] = {}  # id(update) -> the key it holds

    @property
    def batches(self) -> int:
        """Transactions that carried inbound rows so far (for tests and figures)."""
        return self._db.results.inbound_batches

    async def log(self, update: object) -> None:
        """Return once `update` is in the inbound log (or could not be written in a batch)."""
        if not isinstance(update, Update):
            return
        row = inbound_row(update)
        key = (row.update_id, row.digest)
        if key in self._active:  # a redelivery of an update still being handled: skip it
            self._done[id(update)] = (row, InboundStatus.DONE, 0)
            return
        self._active.add(key)
        self._owners[id(update)] = key
        stored = await self._db.results.log_inbound(row)
        if stored is not None:
            self._done[id(update)] = (row, *stored)

    def adopt(self, update: Update, row: InboundRow, row_id: int) -> None:
        """`update` is in the log already, unhandled (a worker took it from the queue)."""
        self._done[id(update)] = (row, InboundStatus.UNFINISHED, row_id)

    def finish(self, update: object) -> None:
        """`update` is done (handled, skipped or failed): a later delivery of it may run."""
        key = self._owners.pop(id(update), None)
        if key is not None:
            self._active.discard(key)

    def take(self, update: Update) -> tuple[InboundRow, InboundStatus, int] | None:
        """The row, status and log id of an update this batcher logged (once), else None."""
        return self._done.pop(id(update), None)


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across chats, in order within one chat.

    PTB's SimpleUpdateProcessor would let two messages of the same user race through a
    conversation; here each chat has its own lock. The concurrency limit is taken only once the
    chat's lock is held, so one chat flooding the bot queues behind itself without occupying
    the slots other chats need. (PTB's own semaphore, taken first, only bounds the backlog.)
    """

    BACKLOG_FACTOR = 32

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates * self.BACKLOG_FACTOR)
        self._running = asyncio.Semaphore(max_concurrent_updates)
        # Set by the application: logs the update before it may wait for its chat.
        self.prelog: Callable[[object], Awaitable[None]] | None = None
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update once no earlier update of the same chat is running."""
        if self.prelog is not None:
            await self.prelog(update)
        key = chat_key(update)
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock, self._running:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                del self._locks[key]

    def queued(self, update: object) -> int:
        """How many logged updates of `update`'s chat are running or waiting for their turn."""
        return self._waiting.get(chat_key(update), 0)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


def chat_key(update: object) -> int:
    """The chat an update belongs to (its user for chatless updates; 0 if neither)."""
    if isinstance(update, Update):
        if update.effective_chat:
            return update.effective_chat.id
        if update.effective_user:
            return update.effective_user.id
    return 0
