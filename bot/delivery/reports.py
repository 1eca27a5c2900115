"""Reporting on batches: the engine calls the reporter a feature registers for its source kind.

Every open batch is looked at about twice a second. When its progress changed, one worker (the
one that takes the batch's report slot in the database, at most once per interval) calls the
reporter; once every row is final it calls it a last time with `final=True` and marks the batch
completed. The engine stays free of what a broadcast or an invitation is.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from telegram import Bot
from telegram.error import RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.limits import GateClosed, Lane, SendBudget
from bot.delivery.outbox import Progress
from storage.db import Database
from storage.models_delivery import OutboxState
from storage.repositories import outbox as repo
from storage.types import utcnow

_LOG = logging.getLogger(__name__)
MAX_FINAL_FAILURES = 3  # a final report that keeps failing is given up (the results stay)


@dataclass(frozen=True)
class BatchReport:
    """What a reporter is told: the batch, its source, its progress, and whether it is final."""

    batch_id: int
    source_kind: str
    source_id: str | None
    created_by: int | None
    progress: Progress
    final: bool
    # Await `pace(chat_id)` before each Bot API call: the reporter's calls count too.
    pace: Callable[[int | None], Awaitable[None]]


Reporter = Callable[[Bot, Database, BatchReport], Awaitable[None]]


def retry_seconds(exc: RetryAfter) -> float:
    """A 429's retry_after in seconds."""
    # PTB 22 warns that retry_after becomes a timedelta; accept both, without the warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class ReportLoop:
    """The reporting part of one worker."""

    def __init__(self, db: Database, bot: Bot, gate: SendBudget, reporters: Mapping[str, Reporter],
                 interval: float) -> None:
        self._db = db
        self._bot = bot
        self._gate = gate
        self._reporters = dict(reporters)
        self._interval = timedelta(seconds=interval)
        self._reported: dict[int, Progress] = {}
        self._failures: dict[int, int] = {}

    async def tick(self) -> None:
        """Report on every open batch whose progress changed (or that just finished)."""
        async with self._db.session() as session:
            batches = await repo.open_batches(session)
            states = [(b, await repo.state_counts(session, b.id)) for b in batches]
        for batch, counts in states:
            progress = Progress(total=batch.total, **{s.value: counts.get(s.value, 0) for s in OutboxState})
            if not progress.done and self._reported.get(batch.id) == progress:
                continue
            reporter = self._reporters.get(batch.source_kind)
            if reporter is None:
                if progress.done:
                    await self._complete(batch.id)
                continue
            async with self._db.session() as session:
                if not await repo.take_report_slot(session, batch.id, utcnow(), self._interval):
                    continue  # reported less than an interval ago, here or by another worker
            report = BatchReport(batch.id, batch.source_kind, batch.source_id, batch.created_by,
                                 progress, progress.done, self._pace)
            try:
                await reporter(self._bot, self._db, report)
            except RetryAfter as exc:
                self._gate.pause(retry_seconds(exc))
                continue
            except GateClosed:
                raise
            except Exception:
                _LOG.exception("reporter for %s batch %s failed", batch.source_kind, batch.id)
                failures = self._failures[batch.id] = self._failures.get(batch.id, 0) + 1
                if progress.done and failures >= MAX_FINAL_FAILURES:
                    await self._complete(batch.id)
                continue
            self._reported[batch.id] = progress
            if progress.done:
                await self._complete(batch.id)

    async def _pace(self, chat_id: int | None) -> None:
        """A progress report is an officers' notice: it goes before bulk rows."""
        await self._gate.wait(chat_id, Lane.NOTICE)

    async def _complete(self, batch_id: int) -> None:
        async with self._db.session() as session:
            await repo.complete_batch(session, batch_id, utcnow())
        self._reported.pop(batch_id, None)
        self._failures.pop(batch_id, None)
