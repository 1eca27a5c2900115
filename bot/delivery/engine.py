"""`DeliveryEngine`: claims outbox rows, sends them within Telegram's limits, records results.

Crash safety (docs/ARCHITECTURE.md, "Delivery engine"): rows go pending → sending → sent,
failed or blocked. A claim (rows set to `sending` with this worker's id and the time) is one
short transaction; the send happens outside any transaction; each result is written in a short
transaction of the journal. Rows a dead worker left in `sending` return to `pending` when its
lease runs out (a live worker renews its leases), or at once when the same worker id starts
again (SQLite's single process). The send ledger (`bot.delivery.ledger`), a local file written
before and after each request, tells the restarted worker which of those rows Telegram had
already accepted (sent, not again) and which were on the wire at the kill (uncertain: sent
again, or, for at-most-once sources such as reminders, failed with the reason). So nothing is
lost, and a message goes out twice only if its request was on the wire when the process died.

The engine knows nothing of broadcasts: a feature registers a reporter for its source kind,
called (see `bot.delivery.reports`: at most every two seconds, by one worker) with the batch's progress, and once
more when every row is final.
"""

from __future__ import annotations

import asyncio
import logging
import math
from functools import partial
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InlineKeyboardMarkup, InputFile, Message, MessageId, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot.delivery import ledger as ledgers
from bot.delivery.http import ON_WIRE
from bot.delivery.journal import Journal
from bot.delivery.ledger import SendLedger
from bot.delivery.limits import GateClosed, Lane, SendBudget
from bot.delivery.reports import Reporter, ReportLoop, retry_seconds
from bot.runtime import gone_from_this_host
from storage.db import Database
from storage.models_delivery import OutboxState
from storage.repositories import message_log as log_repo
from storage.repositories import outbox as repo
from storage.repositories.outbox import ClaimedRow, Outcome
from storage.types import utcnow

_LOG = logging.getLogger(__name__)
DRAIN_TIMEOUT = 10.0  # at shutdown, how long sends already on the wire may take
# Added to the report interval: the reporter's own pacing may delay one of its calls a little.
REPORT_SLACK = 0.25
UNCERTAIN = ("uncertain: the bot stopped while Telegram was taking it; not sent again, "
             "so that nobody gets it twice")


@dataclass(frozen=True)
class EngineConfig:
    """How one worker runs; `send_rate` is shared by all live workers."""

    worker_id: str
    send_rate: float = 25.0
    lease: float = 60.0
    max_attempts: int = 5
    backoff: float = 2.0
    max_backoff: float = 60.0
    poll_interval: float = 0.5
    report_interval: float = 2.0
    heartbeat_interval: float = 2.0
    release_own_on_start: bool = True
    chat_interval: float = 1.0
    group_rate: tuple[int, float] = (20, 60.0)
    # Source kinds whose rows are never sent twice, even if one may then be missed: a row that
    # was on the wire when the process died is failed as uncertain instead of sent again.
    at_most_once: frozenset[str] = frozenset()

    @property
    def senders(self) -> int:
        """Concurrent sends: enough to keep the rate with slow answers, not more."""
        return max(4, min(64, math.ceil(self.send_rate * 0.25)))

    @property
    def claim_size(self) -> int:
        """Rows claimed at once: about half a second of sending."""
        return max(self.senders, min(500, math.ceil(self.send_rate * 0.5)))


@dataclass(frozen=True)
class _Payload:
    text: str | None
    parse_mode: str | None
    photo: str | None
    document: str | None
    markup: InlineKeyboardMarkup | None
    reply_to: int | None = None
    copy_of: tuple[int, int] | None = None
    upload: tuple[str, bytes] | None = None  # (file name, bytes) sent as a new document


class DeliveryEngine:
    """One delivery worker. `run()` until `stop()`."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        config: EngineConfig,
        *,
        reporters: Mapping[str, Reporter] | None = None,
        journal: Journal | None = None,
        budget: SendBudget | None = None,
        ledger: SendLedger | None = None,
    ) -> None:
        self.db = db
        self.bot = bot
        self.config = config
        self.journal = journal or Journal(db, config.worker_id)
        self.ledger = ledger or SendLedger(None, config.worker_id)
        self.journal.ledger = self.ledger
        # The process's one send budget (shared with the handlers' replies), or its own when
        # the engine runs alone (`kopdesk worker`, tests).
        self._owns_gate = budget is None
        self.gate = budget or SendBudget(config.send_rate, chat_interval=config.chat_interval,
                                         group_rate=config.group_rate)
        self._queue: asyncio.Queue[ClaimedRow] = asyncio.Queue()
        self._backlog = 0  # claimed rows not yet sent
        self._in_flight = 0  # sends on the wire
        self._room = asyncio.Event()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._payloads: dict[int, _Payload] = {}
        self._kinds: dict[int, str] = {}  # batch id → source kind
        self._reports = ReportLoop(db, bot, self.gate, reporters or {},
                                   config.report_interval + REPORT_SLACK)
        self.ready = asyncio.Event()
        self.sent = 0

    # --- lifecycle -----------------------------------------------------------------------------

    def wake(self) -> None:
        """New rows were committed in this process: look now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        """Ask `run()` to finish: no new claims, waiting rows given back."""
        self._stopping.set()
        if self._owns_gate:
            self.gate.close()
        self._wake.set()
        self._room.set()

    async def run(self) -> None:
        """Start, send until `stop()`, then shut down cleanly."""
        if not await self._startup():
            return
        self.ready.set()
        _LOG.info("delivery worker %s running at %.1f msg/s", self.config.worker_id, self.gate.rate)
        senders = [asyncio.create_task(self._sender()) for _ in range(self.config.senders)]
        helpers = [asyncio.create_task(self._claimer()), asyncio.create_task(self._housekeeping())]
        writer = asyncio.create_task(self.journal.run())
        try:
            await self._stopping.wait()
        finally:
            await self._shutdown(senders, helpers, writer)

    async def _pause(self, seconds: float) -> bool:
        """Sleep unless stopping; False if `stop()` came first."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def _startup(self) -> bool:
        delay = 1.0
        while True:
            try:
                await self.bot.initialize()
                await self._recover()
                async with self.db.session() as session:
                    if self.config.release_own_on_start:
                        released = await repo.release_claims(session, worker_id=self.config.worker_id)
                        if released:
                            _LOG.warning("%d row(s) left in sending by a previous run returned "
                                         "to pending", released)
                await self._heartbeat()
                break
            except Exception as exc:  # Telegram or the database unreachable at start: keep trying
                _LOG.warning("delivery worker cannot start (%s); retrying", exc)
                if not await self._pause(delay):
                    return False
                delay = min(delay * 2, 30.0)
        self.ledger.open()
        if not self.db.is_sqlite:
            # Several workers may share the outbox: let the others see us and lower their
            # share of SEND_RATE before we send, then count again (two may start together).
            if not await self._pause(self.config.heartbeat_interval * 1.5):
                self.ledger.close(clean=True)
                return False
            await self._heartbeat()
        return True

    async def _shutdown(self, senders: list[asyncio.Task[None]], helpers: list[asyncio.Task[None]],
                        writer: asyncio.Task[None]) -> None:
        self.stop()
        for task in helpers:
            task.cancel()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_TIMEOUT
        while self._in_flight and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for task in [*senders, writer]:
            task.cancel()
        await asyncio.gather(*senders, *helpers, writer, return_exceptions=True)
        await self.journal.drain()
        self.ledger.close(clean=True)  # keeps the files if some result is still unwritten
        try:
            async with self.db.session() as session:
                # Rows claimed but not sent: free for the next worker. Rows the ledger knows more
                # of than the database (a result not written, a send cut off on the wire) stay
                # `sending` for the next start to settle from the ledger, or for their lease.
                await repo.release_claims(session, worker_id=self.config.worker_id,
                                          keep=self.ledger.unsettled())
                await repo.remove_worker(session, self.config.worker_id)
        except Exception:
            _LOG.exception("could not give back the claimed rows; their lease will")
        try:
            await self.bot.shutdown()
        except Exception:
            _LOG.exception("delivery bot shutdown failed")
        _LOG.info("delivery worker %s stopped (%d sent)", self.config.worker_id, self.sent)

    # --- after a crash: the send ledger -------------------------------------------------------

    async def _recover(self) -> None:
        """Settle the rows a previous run of this worker (or a dead process of this host, on
        PostgreSQL) left in `sending`, from its ledger; then delete that ledger."""
        directory = self.ledger.directory
        if directory is None:
            return
        own = self.config.worker_id
        others = set()
        if not self.db.is_sqlite:
            others = {w for w in ledgers.ledger_workers(directory)
                      if w != own and gone_from_this_host(w)}
        for worker_id in [own, *sorted(others)]:
            if ledgers.in_use(directory, worker_id):
                _LOG.error("the send ledger of %s is held by a running process: is a second "
                           "worker running with the same id? Its rows are left alone", worker_id)
                continue
            state = ledgers.read(directory, worker_id)
            async with self.db.session() as session:
                await self._settle(session, worker_id, state)
                if worker_id != own:  # its other rows were never sent: free them now
                    await repo.release_claims(session, worker_id=worker_id)
            ledgers.remove(directory, worker_id)

    async def _settle(self, session: AsyncSession, worker_id: str, state: ledgers.LedgerState) -> None:
        held = await repo.held_rows(session, worker_id, [*state.sent, *state.uncertain])
        if not held:
            return
        now = utcnow()
        outcomes: list[Outcome] = []
        logged = []
        again = 0
        for row in held:
            if row.id in state.sent:
                outcomes.append(Outcome(row.id, OutboxState.SENT, row.attempts + 1, now,
                                        message_id=state.sent[row.id]))
                logged.append(row)
            elif row.source_kind in self.config.at_most_once:
                outcomes.append(Outcome(row.id, OutboxState.FAILED, row.attempts + 1, now, UNCERTAIN))
            else:
                again += 1
        await repo.record(session, worker_id, outcomes)
        payloads = await repo.payloads(session, {row.payload_id for row in logged})
        for row in logged:
            p = payloads.get(row.payload_id)
            method = ("copyMessage" if p is not None and p.copy_message_id else
                      "sendPhoto" if p is not None and p.photo else
                      "sendDocument" if p is not None and (p.document or p.document_data) else
                      "sendMessage")
            await log_repo.add_outbound(
                session, method=method, chat_id=row.chat_id, text=p.text if p else None,
                buttons={"inline_keyboard": p.buttons} if p and p.buttons else None,
                message_id=state.sent[row.id], ok=True, error=None,
                attempts=row.attempts + 1, duration_ms=0, update_id=None)
        _LOG.warning(
            "send ledger of %s: %d row(s) Telegram had taken recorded as sent, %d on the wire at "
            "the stop failed as uncertain (at most once), %d on the wire sent again",
            worker_id, len(logged), len(outcomes) - len(logged), again)

    # --- claiming ------------------------------------------------------------------------------

    async def _claimer(self) -> None:
        size = self.config.claim_size
        while not self._stopping.is_set():
            if self._backlog > size // 2:
                self._room.clear()
                if self._backlog > size // 2:
                    await self._room.wait()
                continue
            try:
                await self.gate.wait_pause()  # rows claimed during a 429 would only sit there
                rows = await self._claim(size - self._backlog)
            except GateClosed:
                return
            except Exception:
                _LOG.exception("claiming outbox rows failed")
                rows = []
            if not rows:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.config.poll_interval)
                except TimeoutError:
                    pass
                continue
            self._backlog += len(rows)
            for row in rows:
                self._queue.put_nowait(row)

    async def _claim(self, limit: int) -> list[ClaimedRow]:
        now = utcnow()
        async with self.db.session() as session:  # a read first: an idle poll takes no lock
            if not await repo.has_due(session, now):
                return []
        async with self.db.session() as session:
            rows = await repo.claim(session, worker_id=self.config.worker_id, limit=limit,
                                    now=now, skip_locked=not self.db.is_sqlite)
            new_batches = {r.batch_id for r in rows} - set(self._kinds)
            if new_batches:
                self._kinds.update(await repo.source_kinds(session, new_batches))
            missing = {r.payload_id for r in rows} - set(self._payloads)
            if missing:
                for payload_id, p in (await repo.payloads(session, missing)).items():
                    markup = (InlineKeyboardMarkup.de_json({"inline_keyboard": p.buttons}, self.bot)
                              if p.buttons else None)
                    copy_of = ((p.copy_from_chat_id, p.copy_message_id)
                               if p.copy_from_chat_id and p.copy_message_id else None)
                    upload = (p.document_name or "file", p.document_data) if p.document_data else None
                    self._payloads[payload_id] = _Payload(p.text, p.parse_mode, p.photo,
                                                          p.document, markup,
                                                          p.reply_to_message_id, copy_of, upload)
        return rows

    # --- sending -------------------------------------------------------------------------------

    async def _sender(self) -> None:
        while True:
            row = await self._queue.get()
            try:
                await self._deliver(row)
            except GateClosed:
                pass  # stopping: the row is given back at shutdown
            except Exception as exc:  # a bug or a surprise: retry the row later, keep going
                _LOG.exception("delivering outbox row %s failed", row.id)
                self.journal.add(self._retry(row, row.attempts + 1, f"internal error: {exc!r}"))
            finally:
                self._backlog -= 1
                if self._backlog <= self.config.claim_size // 2:
                    self._room.set()

    async def _deliver(self, row: ClaimedRow) -> None:
        payload = self._payloads[row.payload_id]
        attempts = row.attempts + 1
        while True:
            await self.gate.wait(row.chat_id, Lane(row.lane))
            if self._stopping.is_set():  # a shared budget is not closed by our stop
                raise GateClosed
            self._in_flight += 1
            # The ledger's "a" record is written when the request's headers leave (ON_WIRE),
            # not before: a kill while it still waits for a connection has sent nothing.
            events: list[str] = []
            wire = ON_WIRE.set(partial(self._on_wire, row.id, events))
            try:
                message = await self._send(row.chat_id, payload)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                _LOG.warning("429 from Telegram: all sending paused for %.0fs", seconds)
                self.gate.pause(seconds)
                continue  # the same row again after the pause; a 429 is no failed attempt
            except Forbidden as exc:
                self.journal.add(
                    Outcome(row.id, OutboxState.BLOCKED, attempts, utcnow(), f"403: {exc.message}"),
                    unreachable=(row.person_id, row.chat_id),
                )
            except BadRequest as exc:  # Telegram will refuse it every time: fail it now
                self.journal.add(
                    Outcome(row.id, OutboxState.FAILED, attempts, utcnow(), f"400: {exc.message}")
                )
            except ChatMigrated as exc:
                self.journal.add(Outcome(row.id, OutboxState.FAILED, attempts, utcnow(),
                                         f"chat migrated to {exc.new_chat_id}"))
            except TelegramError as exc:  # 5xx, timeouts, dropped connections: transient
                if "left" in events and "answered" not in events and self._at_most_once(row):
                    # It left and no answer came back: Telegram may have it. At most once.
                    events.append("uncertain")
                    self.journal.add(Outcome(row.id, OutboxState.FAILED, attempts, utcnow(),
                                             UNCERTAIN))
                else:
                    self.journal.add(self._retry(row, attempts, exc.message))
            else:
                events.append("sent")
                self.ledger.sent(row.id, message.message_id)
                self.sent += 1
                self.journal.add(Outcome(row.id, OutboxState.SENT, attempts, utcnow(),
                                         message_id=message.message_id))
            finally:
                self._in_flight -= 1
                ON_WIRE.reset(wire)
                if "left" in events and not {"sent", "uncertain"} & set(events):
                    self.ledger.unsent(row.id)  # it left, and Telegram did not take it
            return

    def _on_wire(self, row_id: int, events: list[str], event: str) -> None:
        events.append(event)
        if event == "left":
            self.ledger.attempt(row_id)

    def _at_most_once(self, row: ClaimedRow) -> bool:
        return self._kinds.get(row.batch_id) in self.config.at_most_once

    async def _send(self, chat_id: int, p: _Payload) -> Message | MessageId:
        reply = (ReplyParameters(p.reply_to, allow_sending_without_reply=True)
                 if p.reply_to else None)
        if p.copy_of:
            return await self.bot.copy_message(chat_id, p.copy_of[0], p.copy_of[1],
                                               reply_markup=p.markup, reply_parameters=reply)
        if p.photo:
            return await self.bot.send_photo(chat_id, p.photo, caption=p.text,
                                             parse_mode=p.parse_mode, reply_markup=p.markup,
                                             reply_parameters=reply)
        if p.upload:
            return await self.bot.send_document(chat_id, InputFile(p.upload[1], filename=p.upload[0]),
                                                caption=p.text, parse_mode=p.parse_mode,
                                                reply_markup=p.markup, reply_parameters=reply)
        if p.document:
            return await self.bot.send_document(chat_id, p.document, caption=p.text,
                                                parse_mode=p.parse_mode, reply_markup=p.markup,
                                                reply_parameters=reply)
        return await self.bot.send_message(chat_id, p.text or "", parse_mode=p.parse_mode,
                                           reply_markup=p.markup, reply_parameters=reply)

    def _retry(self, row: ClaimedRow, attempts: int, error: str) -> Outcome:
        now = utcnow()
        if attempts >= self.config.max_attempts:
            return Outcome(row.id, OutboxState.FAILED, attempts, now,
                           f"{error} (gave up after {attempts} attempts)")
        delay = min(self.config.backoff * 2 ** (attempts - 1), self.config.max_backoff)
        return Outcome(row.id, OutboxState.PENDING, attempts, now, error,
                       next_attempt_at=now + timedelta(seconds=delay))

    # --- housekeeping: heartbeat, leases, reports ------------------------------------------------

    async def _heartbeat(self) -> int:
        interval = self.config.heartbeat_interval
        async with self.db.session() as session:
            live = await repo.heartbeat(session, self.config.worker_id, utcnow(),
                                        timedelta(seconds=interval * 3))
            await repo.renew_leases(session, self.config.worker_id, utcnow())
        self.gate.set_rate(self.config.send_rate / live)
        return live

    async def _housekeeping(self) -> None:
        loop = asyncio.get_running_loop()
        next_beat = loop.time() + self.config.heartbeat_interval
        next_expiry = loop.time()
        while not self._stopping.is_set():
            try:
                if loop.time() >= next_beat:
                    next_beat = loop.time() + self.config.heartbeat_interval
                    await self._heartbeat()
                if loop.time() >= next_expiry:
                    next_expiry = loop.time() + max(1.0, self.config.lease / 4)
                    async with self.db.session() as session:
                        expired = await repo.release_claims(
                            session, claimed_before=utcnow() - timedelta(seconds=self.config.lease))
                    if expired:
                        _LOG.warning("%d row(s) of a dead worker returned to pending", expired)
                        self.wake()
                await self._reports.tick()
            except GateClosed:
                return
            except Exception:
                _LOG.exception("delivery housekeeping failed")
            if not await self._pause(min(0.5, self.config.report_interval / 2)):
                return
