"""Scheduled work runs in one process of a deployment at a time (the scheduler lease)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from bot import clock
from bot.runtime import Runtime
from bot.tg import jobs, ticks
from storage.repositories import leases

TTL = timedelta(seconds=90)
T0 = datetime(2027, 3, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def clock_start() -> datetime:
    return T0


async def _hold(runtime: Runtime, holder: str, now: datetime) -> bool:
    async with runtime.db.session() as session:
        return await leases.hold(session, "x", holder, now=now, ttl=TTL)


async def test_one_holder_until_it_expires_or_gives_up(runtime: Runtime) -> None:
    assert await _hold(runtime, "a", T0)
    assert not await _hold(runtime, "b", T0 + timedelta(seconds=1))
    assert await _hold(runtime, "a", T0 + timedelta(seconds=60))  # renewed: now until +150 s
    assert not await _hold(runtime, "b", T0 + timedelta(seconds=149))
    assert await _hold(runtime, "b", T0 + timedelta(seconds=151))  # a went quiet: b takes over
    assert not await _hold(runtime, "a", T0 + timedelta(seconds=152))
    async with runtime.db.session() as session:
        await leases.release(session, "x", "a")  # not a's to give: nothing happens
    assert not await _hold(runtime, "a", T0 + timedelta(seconds=153))
    async with runtime.db.session() as session:
        await leases.release(session, "x", "b")
    assert await _hold(runtime, "a", T0 + timedelta(seconds=154))


def _process(runtime: Runtime, instance_id: str) -> Any:
    """An application as the jobs see it: its runtime (another process's id) and bot_data."""
    other = Runtime(settings=runtime.settings, db=runtime.db, outbound=runtime.outbound,
                    instance_id=instance_id)
    return SimpleNamespace(application=SimpleNamespace(runtime=other, bot_data={}))


async def test_two_processes_tick_but_only_the_holder_does_the_work(
    runtime: Runtime, manual_clock: clock.ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reminders, campaign, digest, escalations and the status refresh run in the lease holder
    only; when it stops ticking (killed), another process takes over after the lease."""
    done: list[str] = []

    async def spy(session: Any, *, now: datetime, settings: Any) -> None:
        done.append(who)

    async def escalate(session: Any, officers: Any, now: datetime, after: timedelta) -> int:
        done.append(f"{who}:escalate")
        return 0

    monkeypatch.setattr(ticks.campaign, "tick", spy)
    monkeypatch.setattr("bot.services.tickets.escalate_due", escalate)
    first, second = _process(runtime, "host:1"), _process(runtime, "host:2")
    interval = timedelta(seconds=runtime.settings.reminder_tick_seconds)

    # `who` is read by the spies above (a closure), which ruff's B007 cannot see.
    for who, process in (("first", first), ("second", second), ("first", first)):  # noqa: B007
        await ticks.tick(process)
        await jobs.escalate_tickets(process)
        manual_clock.advance(interval)
    assert done == ["first", "first:escalate", "first", "first:escalate"]

    # The first process is killed: it ticks no more. The second takes over once the lease ends.
    done.clear()
    who = "second"
    for _ in range(ticks.LEASE_TICKS + 1):
        await ticks.tick(second)
        manual_clock.advance(interval)
    assert done == ["second"]
    who = "first"  # back after a restart under the same id: the second holds it now
    await ticks.tick(first)
    assert done == ["second"]

    # A clean stop gives the lease up: the other process runs the next tick at once.
    await ticks.give_up_lease(second.application)
    await ticks.tick(first)
    assert done == ["second", "first"]


async def test_a_restart_after_a_crash_takes_the_lease_of_its_dead_predecessor(
    runtime: Runtime, manual_clock: clock.ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process of this host that no longer runs (killed) holds the lease: the restarted
    process takes it at once instead of after the lease; a live one keeps it."""
    runs: list[int] = []

    async def count(session: Any, *, now: datetime, settings: Any) -> None:
        runs.append(1)

    monkeypatch.setattr(ticks.campaign, "tick", count)
    host = socket.gethostname()
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    dead = _process(runtime, f"{host}:{finished.stdout.strip()}")
    restarted = _process(runtime, f"{host}:{os.getpid()}")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        living = _process(runtime, f"{host}:{alive.pid}")
        await ticks.tick(dead)  # the crashed process held the lease
        await ticks.tick(restarted)  # taken over at once, no lease interval waited
        assert len(runs) == 2
        async with runtime.db.session() as session:
            await leases.release(session, ticks.LEASE, f"{host}:{os.getpid()}")
        await ticks.tick(living)
        await ticks.tick(restarted)  # a live holder keeps it
        assert len(runs) == 3
    finally:
        alive.kill()
        alive.wait()
