"""`kopdesk worker`: handle the updates the receivers queued, a chat at a time (PostgreSQL).

The worker is a whole KopDesk application without an updater: the same handlers, unit of work,
scheduled jobs (run by the lease holder only) and delivery engine as `kopdesk run`. Its updates
come from the queue (`storage.repositories.inbound_queue`) instead of Telegram:

- one connection of its own, in autocommit, holds the advisory locks of the chats it handles
  and listens for the receivers' notices;
- a loop looks for chats with waiting updates (the longest waiting first, skipping the chats it
  holds), takes a chat's lock if no other worker has it, takes the chat's oldest update, and
  handles it in a task of its own — up to `concurrency` chats at once;
- when the update's transaction has committed, the lock goes and the loop looks again at once
  (the chat may have more waiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from telegram import Update

from bot.pipeline.ingress import CHANNEL
from bot.pipeline.application import KopDeskApplication
from storage.repositories import inbound_queue as queue
from storage.repositories.message_log import InboundRow
from storage.types import utcnow

_LOG = logging.getLogger(__name__)
MAX_ATTEMPTS = 5  # takes of one update (each a worker that died or lost its database)
POLL = 1.0  # seconds between looks at the queue when no notice comes
RETRY_BACKOFF = 0.5  # before the second take of an update; doubled for each further one


class QueueWorker:
    """Drains the queue into `app` until `stop()`."""

    def __init__(self, app: KopDeskApplication, *, concurrency: int = 32, poll: float = POLL) -> None:
        self.app = app
        self.concurrency = concurrency
        self.poll = poll
        self.handled = 0
        self._held: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._conn: AsyncConnection | None = None
        self._conn_lock = asyncio.Lock()  # one statement at a time on the lock connection
        self.ready = asyncio.Event()

    def stop(self) -> None:
        """Take no more updates; `run` returns once the running ones are done."""
        self._stopping.set()
        self._wake.set()

    async def _q(self, work: Any, *args: Any, **kwargs: Any) -> Any:
        async with self._conn_lock:
            assert self._conn is not None
            return await work(self._conn, *args, **kwargs)

    async def run(self) -> None:
        """Take and handle updates until stopped; then wait for those in hand."""
        db = self.app.runtime.db
        if db.is_sqlite:
            raise RuntimeError("the update queue needs PostgreSQL; on SQLite use `kopdesk run`")
        while not self._stopping.is_set():
            try:
                await self._serve()
            except Exception:
                # The lock connection broke (the database restarted, the network dropped). The
                # updates in hand were finished in `_serve`; connect again after a pause.
                _LOG.exception("the update queue connection failed; reconnecting")
                self._held.clear()
                try:
                    await asyncio.wait_for(self._stopping.wait(), self.poll)
                except TimeoutError:
                    pass

    async def _serve(self) -> None:
        """One connection's life: listen, then take updates until stopped or it fails."""
        async with self.app.runtime.db.engine.connect() as base:
            self._conn = await base.execution_options(isolation_level="AUTOCOMMIT")
            driver = (await self._conn.get_raw_connection()).driver_connection
            await driver.add_listener(CHANNEL, self._notified)
            self.ready.set()
            try:
                while not self._stopping.is_set():
                    started = await self._take_some()
                    if started == 0 or len(self._held) >= self.concurrency:
                        self._wake.clear()
                        try:
                            await asyncio.wait_for(self._wake.wait(), self.poll)
                        except TimeoutError:
                            pass
            finally:
                # The locks must outlive the updates in hand; then the connection is closed,
                # never returned to the pool with session locks or a LISTEN on it.
                if self._tasks:
                    await asyncio.gather(*self._tasks, return_exceptions=True)
                with contextlib.suppress(Exception):
                    await driver.remove_listener(CHANNEL, self._notified)
                with contextlib.suppress(Exception):
                    await base.invalidate()

    def _notified(self, *_: Any) -> None:
        self._wake.set()

    async def _take_some(self) -> int:
        free = self.concurrency - len(self._held)
        if free <= 0:
            return 0
        keys = await self._q(queue.heads, limit=free * 2, skip=self._held)
        started = 0
        for key in keys:
            if len(self._held) >= self.concurrency or self._stopping.is_set():
                break
            if not await self._q(queue.try_lock, key):
                continue  # another worker has this chat
            try:
                item = await self._q(queue.take, key)
            except Exception:
                await self._q(queue.unlock, key)
                raise
            if item is None:  # handled meanwhile by whoever held it before
                await self._q(queue.unlock, key)
                continue
            self._held.add(key)
            task = asyncio.create_task(self._handle(key, item), name=f"update-{item.update_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started += 1
        return started

    async def _handle(self, key: int, item: queue.Waiting) -> None:
        try:
            if item.attempts > MAX_ATTEMPTS:
                _LOG.error("update %s (log row %s) was taken %d times without finishing; given up",
                           item.update_id, item.id, item.attempts - 1)
                await self._q(queue.settle, item.id, utcnow())
                return
            if item.attempts > 1:
                _LOG.warning("update %s taken again (attempt %d): a worker stopped mid-way",
                             item.update_id, item.attempts)
                # A database that just failed is given a moment (0.5, 1, 2, 4 s); the chat
                # stays held meanwhile, so its order is kept.
                await asyncio.sleep(RETRY_BACKOFF * 2 ** (item.attempts - 2))
            update = Update.de_json(item.raw, self.app.bot)
            row = InboundRow(update_id=item.update_id, digest=item.fingerprint, user_id=None,
                             chat_id=None, kind="", text=None, raw=item.raw)
            self.app.inbound.adopt(update, row, item.id)
            await self.app.process_update(update)
            self.handled += 1
        except Exception:
            _LOG.exception("update %s failed outside its handlers", item.update_id)
        finally:
            try:
                await self._q(queue.unlock, key)
            except Exception:
                # The lock connection is broken: its locks went with it.
                _LOG.exception("could not release chat %s", key)
            self._held.discard(key)
            self._wake.set()
