"""`SendBudget` on its own: overall windows, per-chat spacing, groups, 429 pauses, closing."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from bot.delivery.limits import GateClosed, SendBudget
from tests.delivery.conftest import max_in_window


async def _times(gate: SendBudget, chats: list[int | None]) -> list[float]:
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one(chat: int | None) -> None:
        await gate.wait(chat)
        times.append(loop.time())

    await asyncio.gather(*(one(c) for c in chats))
    return sorted(times)


async def test_no_window_holds_more_than_the_rate() -> None:
    """150 sends at 100/s: at most 100 in any one-second window, and not much slower than 100/s."""
    gate = SendBudget(100)
    times = await _times(gate, list(range(1, 151)))
    assert max_in_window(times, 1.0) <= 100
    assert times[-1] - times[0] < 1.5 * 1.1


async def test_one_message_per_second_per_chat() -> None:
    """Three sends to one chat are spaced by the chat interval; another chat is not held up."""
    gate = SendBudget(100, chat_interval=0.2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    times = await _times(gate, [42, 42, 42])
    assert all(b - a >= 0.2 for a, b in itertools.pairwise(times))
    other = await _times(gate, [43])
    assert other[0] - started < 0.45


async def test_groups_get_their_own_slower_rate() -> None:
    """A group (negative id) gets at most `count` messages in any `period`."""
    gate = SendBudget(100, chat_interval=0.0, group_rate=(3, 0.6))
    times = await _times(gate, [-100] * 7)
    assert max_in_window(times, 0.6) <= 3
    assert times[-1] - times[0] >= 6 * 0.2


async def test_a_pause_holds_everyone_and_they_resume_paced() -> None:
    """After pause(0.3) nothing passes for 0.3 s; then the waiters go paced, not all at once."""
    gate = SendBudget(20)
    loop = asyncio.get_running_loop()
    gate.pause(0.3)
    paused_at = loop.time()
    times = await _times(gate, list(range(1, 6)))
    assert times[0] - paused_at >= 0.3
    assert all(b - a >= 0.8 / 20 for a, b in itertools.pairwise(times))
    assert times[-1] - times[0] >= 4 * 0.8 / 20


async def test_closing_wakes_the_waiters() -> None:
    """close() ends every wait with GateClosed (the engine gives those rows back)."""
    gate = SendBudget(10)
    gate.pause(30)
    waiter = asyncio.create_task(gate.wait(1))
    await asyncio.sleep(0)
    gate.close()
    with pytest.raises(GateClosed):
        await asyncio.wait_for(waiter, 2)
