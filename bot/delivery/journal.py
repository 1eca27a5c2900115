"""The engine's journal: send results and their outbound-log rows, written together.

Each result is written in a short transaction as soon as it is known. Results that arrive
while a write is in progress are written together by the next one (group commit): at 25
messages a second every result gets its own transaction, at 1000 a second they share a few,
and the database keeps up. The outbound log rows of the engine's calls go in the same
transaction, so the log and the outbox never disagree.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.delivery.ledger import SendLedger
from bot.message_log import OutboundLog
from storage.db import Database
from storage.repositories import message_log as log_repo
from storage.repositories import outbox as repo
from storage.repositories.outbox import Outcome
from storage.types import utcnow

_LOG = logging.getLogger(__name__)
RETRY_DELAY = 1.0  # when the database itself fails, try the same write again after this


class Journal:
    """Buffers outcomes and log rows; `run` writes them, `flush` waits until all are written."""

    def __init__(self, db: Database, worker_id: str) -> None:
        self._db = db
        self._worker_id = worker_id
        self._outcomes: list[Outcome] = []
        self._unreachable: list[tuple[int | None, int]] = []
        self._log_rows: list[dict[str, Any]] = []
        self._pending = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.ledger: SendLedger | None = None  # told which rows are written, to drop their records

    def add(self, outcome: Outcome, *, unreachable: tuple[int | None, int] | None = None) -> None:
        """Queue one outcome; `unreachable` = (person_id, chat_id) of a recipient who got 403."""
        self._outcomes.append(outcome)
        if unreachable is not None:
            self._unreachable.append(unreachable)
        self._wake()

    def log_outbound(self, row: dict[str, Any]) -> None:
        """`Database.log_outbound`'s signature, for `OutboundLog`: queue a log row for the
        next write."""
        self._log_rows.append(row)
        self._wake()

    def _wake(self) -> None:
        self._idle.clear()
        self._pending.set()

    @property
    def backlog(self) -> int:
        """Outcomes not yet written."""
        return len(self._outcomes)

    async def run(self) -> None:
        """Write whatever is queued, again and again, until cancelled."""
        while True:
            await self._pending.wait()
            await self._write_once()

    async def _write_once(self) -> None:
        self._pending.clear()
        outcomes, self._outcomes = self._outcomes, []
        unreachable, self._unreachable = self._unreachable, []
        log_rows, self._log_rows = self._log_rows, []
        if not (outcomes or log_rows or unreachable):
            self._idle.set()
            return
        try:
            async with self._db.session() as session:
                await repo.record(session, self._worker_id, outcomes)
                if unreachable:
                    await repo.mark_unreachable(
                        session,
                        person_ids=[p for p, _ in unreachable if p is not None],
                        chat_ids=[c for _, c in unreachable],
                        now=utcnow(),
                    )
                await log_repo.record_results(session, log_rows, [])
        except Exception:
            # The rows stay `sending` (their leases are renewed), so nothing is lost: put the
            # work back in front and try again.
            _LOG.exception("could not write %d delivery result(s); retrying", len(outcomes))
            self._outcomes[:0] = outcomes
            self._unreachable[:0] = unreachable
            self._log_rows[:0] = log_rows
            self._pending.set()
            await asyncio.sleep(RETRY_DELAY)
            return
        if self.ledger is not None and outcomes:
            self.ledger.committed(o.row_id for o in outcomes)
        if not (self._outcomes or self._log_rows or self._unreachable):
            self._idle.set()

    async def drain(self, attempts: int = 5) -> None:
        """Write everything queued now, without the `run` loop (at shutdown)."""
        for _ in range(attempts):
            if not (self._outcomes or self._log_rows or self._unreachable):
                return
            await self._write_once()

    async def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything queued so far is written; False if it took too long."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True


class JournalLog(OutboundLog):
    """The outbound log of the engine's bot: rows go through the journal, not one by one."""

    def __init__(self, journal: Journal) -> None:
        # OutboundLog only calls `log_outbound` on what it is given; the journal provides it.
        super().__init__(journal)  # type: ignore[arg-type]
