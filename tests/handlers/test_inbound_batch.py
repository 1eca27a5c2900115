"""Updates that arrive together are logged in one transaction, each before it is handled."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from telegram import Update

from bot.runtime import Runtime
from storage.models import InboundUpdate
from storage.repositories import message_log
from storage.repositories.message_log import InboundRow, InboundStatus
from tests.support.harness import fetch, running_bot
from tests.support.requests import FlakyRequest, RecordingRequest
from tests.support.updates import message_update


async def test_a_burst_is_logged_in_one_batch_and_every_update_answered(runtime: Runtime) -> None:
    """60 updates handed to the processor at once (as PTB does with a getUpdates batch)."""
    async with running_bot(runtime) as bot:
        app = bot.app
        updates = [message_update(app.bot, 5000 + i % 20, "/bantuan") for i in range(60)]
        before = app.inbound.batches
        await asyncio.gather(*(app.update_processor.process_update(u, app.process_update(u))
                               for u in updates))
        assert app.inbound.batches - before <= 2  # not one transaction per update
        rows = await fetch(runtime.db, InboundUpdate)
        assert sorted(r.update_id for r in rows) == sorted(u.update_id for u in updates)
        assert all(r.handled_at is not None for r in rows)
        assert len(bot.calls("sendMessage")) == 60


async def test_flood_counts_only_what_came_before(runtime: Runtime) -> None:
    """25 messages of one user logged in one batch: 20 answered, one warning, 5 throttled."""
    async with running_bot(runtime) as bot:
        app = bot.app
        updates = [message_update(app.bot, 6001, f"pesan {i}") for i in range(25)]
        await asyncio.gather(*(app.update_processor.process_update(u, app.process_update(u))
                               for u in updates))
        async with runtime.db.session() as session:
            throttled = await session.scalar(
                select(func.count()).where(InboundUpdate.throttled.is_(True)))
        assert throttled == 5
        assert len(bot.calls("sendMessage")) == 21  # 20 answers and the warning


async def test_record_inbound_many_statuses(runtime: Runtime) -> None:
    """New rows, a redelivery of a handled one, an unfinished one and a duplicate in one batch."""

    def row(update_id: int, digest: str) -> InboundRow:
        return InboundRow(update_id=update_id, digest=digest, user_id=1, chat_id=1, kind="message",
                          text="x", raw={"update_id": update_id})

    async with runtime.db.session() as session:
        first = await message_log.record_inbound_many(session, [row(1, "a"), row(2, "b")])
        await message_log.mark_handled(session, 1, "a")
    assert [s for s, _ in first] == [InboundStatus.NEW, InboundStatus.NEW]
    async with runtime.db.session() as session:
        again = await message_log.record_inbound_many(
            session, [row(1, "a"), row(2, "b"), row(3, "c"), row(3, "c"), row(1, "z")])
    assert [s for s, _ in again] == [InboundStatus.DONE, InboundStatus.UNFINISHED, InboundStatus.NEW,
                                     InboundStatus.DONE, InboundStatus.NEW]
    assert again[0][1] == first[0][1] and again[1][1] == first[1][1]
    assert again[2][1] == again[3][1]


class _GatedRequest(FlakyRequest):
    """Holds every sendMessage until `gate` is set (never fails)."""

    def __init__(self, inner: RecordingRequest) -> None:
        super().__init__(inner, method="sendMessage", failures=0)
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def do_request(self, url: str, method: str, request_data=None, **kwargs):  # type: ignore[no-untyped-def]
        if url.endswith("/sendMessage"):
            self.waiting.set()
            await self.gate.wait()
        return await super().do_request(url, method, request_data, **kwargs)


async def test_a_redelivery_while_the_first_is_still_running_is_skipped(runtime: Runtime) -> None:
    """Telegram delivers an update again before the first delivery's handling has committed
    (a getUpdates retried after a timeout): the copy is logged but not handled a second time."""
    recording = RecordingRequest()
    gated = _GatedRequest(recording)
    async with running_bot(runtime, request=recording, inner=gated) as bot:
        app = bot.app
        first = message_update(app.bot, 7001, "/bantuan")
        again = Update.de_json(first.to_dict(), app.bot)
        running = asyncio.ensure_future(
            app.update_processor.process_update(first, app.process_update(first)))
        await gated.waiting.wait()  # the first delivery is answering, not yet committed
        second = asyncio.ensure_future(
            app.update_processor.process_update(again, app.process_update(again)))
        # The copy is logged and waits its turn. (Without the in-process check, SQLite's log of
        # the copy would wait for the first one's write lock, so on SQLite the race cannot
        # happen; give up waiting then, and let the first one finish.)
        async def copy_waits() -> None:
            while app.update_processor.queued(again) < 2:
                await asyncio.sleep(0.01)

        try:
            await asyncio.wait_for(copy_waits(), 5)
        except TimeoutError:
            assert runtime.db.is_sqlite, "the copy was never logged"
        gated.gate.set()
        await asyncio.gather(running, second)
        assert len(bot.calls("sendMessage")) == 1
        rows = await fetch(runtime.db, InboundUpdate)
        assert [r.update_id for r in rows] == [first.update_id]
        assert rows[0].handled_at is not None
