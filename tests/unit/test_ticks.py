"""The scheduler's tick runs at start-up, even when starting the application takes a while
(reminders that fell due while the bot was down must not wait a whole tick interval)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

from telegram.ext import ApplicationBuilder

from bot.tg import ticks


async def test_start_up_tick_runs_although_the_job_queue_starts_late(monkeypatch: Any) -> None:
    ran: list[float] = []

    async def recorder(context: Any) -> None:
        ran.append(time.monotonic())

    monkeypatch.setattr(ticks, "tick", recorder)
    app = ApplicationBuilder().token("123:TEST").build()
    job_queue = app.job_queue
    holder = SimpleNamespace(job_queue=job_queue, runtime=SimpleNamespace(settings=SimpleNamespace(
        reminder_tick_seconds=600)))
    ticks.schedule(holder)
    await asyncio.sleep(1.5)  # the rest of the start-up (commands, replay, delivery) before the JobQueue starts
    started = time.monotonic()
    await job_queue.start()
    try:
        deadline = started + 5
        while not ran and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert ran and ran[0] - started < 5  # not 600 s later
        assert len(job_queue.get_jobs_by_name(ticks.TICK_JOB)) == 1  # the periodic one remains
    finally:
        await job_queue.stop(wait=False)
