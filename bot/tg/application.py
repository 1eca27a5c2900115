"""KopDesk's `Application`: log every update first, then handle it in one transaction.

The path of one update (see docs/ARCHITECTURE.md):
1. A unit of work (one session) is opened. The raw update is stored in `inbound_updates` and
   committed before any handler runs. An update already handled — same `update_id` *and* same
   payload fingerprint — is a redelivery and is skipped; a reused `update_id` with another
   payload is a new update (Telegram may restart its numbering).
2. PTB runs the handlers in the session's next transaction.
3. If a handler raises, `process_error` rolls the unit of work back *before* the error handlers
   run, so no partial write survives; the error handlers then see the exception.
4. Conversation states, the outbound log of the update's sends and the "handled" mark are
   written in the same transaction, which commits last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import OperationalError
from telegram import Update
from telegram.ext import Application, BaseUpdateProcessor

from bot.message_log import summarize_update
from bot.runtime import Runtime
from storage.db import current_uow
from storage.repositories import message_log as log_repo
from storage.repositories.message_log import InboundStatus
from storage.types import utcnow

_LOG = logging.getLogger(__name__)

# Updates whose handling never committed are replayed at start-up if they are this recent.
REPLAY_WINDOW = timedelta(hours=1)
# How long an update may wait to be logged while another holds SQLite's write lock.
LOG_WAIT = timedelta(minutes=10)


class KopDeskApplication(Application):  # type: ignore[type-arg]
    """PTB's Application with the message log and one transaction per update."""

    def __init__(self, *, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.runtime = runtime

    async def process_update(self, update: object) -> None:
        """Log the update, then run the handlers in one transaction (see module docstring)."""
        if not isinstance(update, Update):
            await super().process_update(update)
            return
        db = self.runtime.db
        try:
            raw = update.to_dict()
            summary = summarize_update(raw)
            key = (
                (update.effective_chat.id, update.effective_user.id)
                if update.effective_chat and update.effective_user
                else None
            )
            async with db.unit_of_work(update.update_id, key) as uow:
                # Durable before any handler runs; the handlers' transaction starts after this.
                digest = log_repo.fingerprint(raw)
                status = await _log_inbound(uow, update.update_id, summary, raw, digest)
                if status is InboundStatus.DONE:
                    _LOG.info("update %s was handled before; redelivery skipped", update.update_id)
                    return
                await super().process_update(update)
                await self.update_persistence()  # queues the states into this transaction
                uow.before_commit.append(
                    lambda session: log_repo.mark_handled(session, update.update_id, digest)
                )
        except Exception as exc:  # the database itself failed (log, begin or commit)
            await self.process_error(update=update, error=exc)

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
            update = Update.de_json(raw, self.bot)
            _LOG.warning("replaying update %s left unfinished by a crash", update.update_id)
            await self.process_update(update)
        return len(pending)


async def _log_inbound(
    uow: Any, update_id: int, summary: Any, raw: dict[str, Any], digest: str
) -> InboundStatus:
    """Store the update and commit, waiting as long as it takes for SQLite's write lock.

    Another update's transaction may hold the lock while its handler waits on Telegram (a 429's
    retry_after, a retried 5xx) for longer than the busy timeout. Giving up would lose this
    update — Telegram counts it as delivered — so the log waits (up to LOG_WAIT) instead.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOG_WAIT.total_seconds()
    delay = 0.05
    while True:
        try:
            status = await log_repo.record_inbound(
                uow.session, update_id=update_id, user_id=summary.user_id, chat_id=summary.chat_id,
                kind=summary.kind, text=summary.text, raw=raw, digest=digest,
            )
            await uow.session.commit()
            return status
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or loop.time() > deadline:
                raise
            await uow.session.rollback()
            _LOG.warning("update %s waits for the database write lock", update_id)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


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
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the update once no earlier update of the same chat is running."""
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
