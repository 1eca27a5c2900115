"""An update whose handler holds SQLite's write lock across a slow Telegram call must not make
another chat's update fail or vanish: that one waits to be logged, then is handled."""

from __future__ import annotations

import asyncio

import storage.db as dbmod
from bot.runtime import Runtime
from storage.models import InboundUpdate
from tests.support.harness import fetch, running_bot
from tests.support.requests import RecordingRequest
from tests.support.updates import message_update

SLOW, OTHER = 5001, 5002


class SlowForOneChat(RecordingRequest):
    """Answers a send to SLOW only after 3 s (like a 429's retry_after)."""

    def __init__(self) -> None:
        super().__init__()
        self.slow_send_started = asyncio.Event()

    async def do_request(self, url, method, request_data=None, **kw):  # type: ignore[override]
        if url.endswith("sendMessage") and request_data and str(request_data.parameters.get("chat_id")) == str(SLOW):
            self.slow_send_started.set()
            await asyncio.sleep(3)  # the slow answer is what this test is about
        return await super().do_request(url, method, request_data, **kw)


async def test_update_waits_for_the_lock_instead_of_failing(runtime: Runtime, monkeypatch) -> None:
    """With a 1 s busy timeout, the second chat's /start is logged and answered after the first."""
    monkeypatch.setattr(dbmod, "SQLITE_BUSY_TIMEOUT_MS", 1000)
    await runtime.db.dispose()  # reconnect with the short timeout
    async with running_bot(runtime, request=SlowForOneChat()) as bot:
        first = message_update(bot.app.bot, SLOW, "/start")  # a new person: writes, then sends
        second = message_update(bot.app.bot, OTHER, "/start")

        async def shortly_after() -> None:
            await bot.request.slow_send_started.wait()  # the first update holds the lock now
            await bot.feed(second)

        await asyncio.gather(bot.feed(first), shortly_after())
        answers = bot.request.texts(OTHER)
    assert len(answers) == 1 and answers[0].startswith("Selamat datang")
    logged = {row.update_id: row.handled_at for row in await fetch(runtime.db, InboundUpdate)}
    assert set(logged) == {first.update_id, second.update_id} and all(logged.values())
