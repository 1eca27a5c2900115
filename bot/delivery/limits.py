"""`RateGate`: Telegram's limits for one delivery worker (DOMAIN.md, SPEC 7).

- Overall: at most `rate` sends in any one-second window (the live workers share SEND_RATE).
- Groups (negative chat ids): at most 20 in any minute.
- Any chat: about one per second.
- A 429 stops every send of the worker until its retry_after has passed.

Overall and group pacing use `aiolimiter.AsyncLimiter`, but not as `AsyncLimiter(rate, 1)`:
that leaky bucket lets a full bucket go at once and then drains `rate` more within the same
second, so a one-second window can see twice the rate. A bucket of capacity `c` draining
`r = rate / (1 + MARGIN)` per second lets at most `c + r * t` sends into any window of `t`
seconds. With `t = 1 + JITTER` that must stay below `rate + 1`: then no one-second window holds
more than `rate` sends even when the moments Telegram receives them are up to JITTER seconds
closer together than the moments we sent them. `c` is 1 plus half of what that allows, rather
than exactly 1, so a timer that wakes a millisecond late (the event loop rounds its waits up to
whole milliseconds) is caught up instead of lost.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from aiolimiter import AsyncLimiter

MARGIN = 0.03  # send at rate / (1 + MARGIN) on average
JITTER = 0.02  # seconds by which two sends may look closer at Telegram than when they left
# At paid-broadcast rates dozens of requests are in flight at once and their latencies vary
# more: at 1000/s the sandbox saw calls up to ~70 ms closer together than they left.
FAST_RATE, FAST_MARGIN, FAST_JITTER = 100, 0.11, 0.10
CHAT_INTERVAL = 1.0
GROUP_RATE = (20, 60.0)  # at most 20 messages per 60 seconds in one group
PAUSE_SLACK = 0.05  # resume a little after retry_after, never a little before


class GateClosed(Exception):
    """The worker is stopping: whoever waits at the gate gives its row back."""


def overall_limiter(rate: float) -> AsyncLimiter:
    """A limiter that never lets more than `rate` acquisitions into any one-second window."""
    margin, jitter = (MARGIN, JITTER) if rate <= FAST_RATE else (FAST_MARGIN, FAST_JITTER)
    drain = rate / (1 + margin)
    capacity = 1 + 0.5 * max(0.0, rate - drain * (1 + jitter))
    return AsyncLimiter(capacity, capacity / drain)


class RateGate:
    """Waits until a send to a chat is allowed; one per worker, shared by its senders."""

    def __init__(
        self,
        rate: float,
        *,
        margin: float = MARGIN,
        chat_interval: float = CHAT_INTERVAL,
        group_rate: tuple[int, float] = GROUP_RATE,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._margin = margin
        self._chat_interval = chat_interval * (1 + margin)
        self._group_rate = group_rate
        self._clock = clock or (lambda: asyncio.get_running_loop().time())
        self._closed = asyncio.Event()
        self.rate = rate
        self._overall = overall_limiter(rate)
        self._groups: dict[int, AsyncLimiter] = {}
        # Per-chat spacing is our own: an AsyncLimiter per recipient would be one object per
        # chat of a 600,000-manager broadcast, kept forever. A next-allowed time per recently
        # used chat, and a lock per chat with a waiter, are pruned as they go.
        self._chat_ready: dict[int, float] = {}
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_waiters: dict[int, int] = {}
        self._paused_until = 0.0

    # --- configuration -----------------------------------------------------------------------

    def set_rate(self, rate: float) -> None:
        """Change the overall rate (when workers join or leave)."""
        if not math.isclose(rate, self.rate):
            self.rate = rate
            self._overall = overall_limiter(rate)

    def pause(self, seconds: float) -> None:
        """A 429: nothing goes out for `seconds` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds + PAUSE_SLACK)

    @property
    def paused_for(self) -> float:
        """Seconds left of the current 429 pause (0 if none)."""
        return max(0.0, self._paused_until - self._clock())

    def close(self) -> None:
        """Wake every waiter with `GateClosed`."""
        self._closed.set()

    # --- waiting -------------------------------------------------------------------------------

    async def _sleep(self, seconds: float) -> None:
        if self._closed.is_set():
            raise GateClosed
        if seconds <= 0:
            return
        try:
            await asyncio.wait_for(self._closed.wait(), seconds)
        except TimeoutError:
            return
        raise GateClosed

    async def wait_pause(self) -> None:
        """Return once no 429 pause is in force."""
        while (left := self.paused_for) > 0:
            await self._sleep(left)

    async def _overall_turn(self) -> None:
        while True:
            await self.wait_pause()
            limiter = self._overall
            await limiter.acquire()
            if self._closed.is_set():
                raise GateClosed
            # A 429 may have arrived, or the rate changed, while we queued: queue again, so
            # the senders that waited do not all leave at once when the pause ends.
            if self.paused_for == 0 and limiter is self._overall:
                return

    async def wait(self, chat_id: int | None) -> None:
        """Return when a send to `chat_id` may go now (None: a call tied to no chat)."""
        if chat_id is None:
            await self._overall_turn()
            return
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        self._chat_waiters[chat_id] = self._chat_waiters.get(chat_id, 0) + 1
        try:
            async with lock:
                await self._sleep(self._chat_ready.get(chat_id, 0.0) - self._clock())
                if chat_id < 0:
                    await self._group(chat_id).acquire()
                await self._overall_turn()
                self._chat_ready[chat_id] = self._clock() + self._chat_interval
        finally:
            self._chat_waiters[chat_id] -= 1
            if not self._chat_waiters[chat_id]:
                del self._chat_waiters[chat_id]
                del self._chat_locks[chat_id]
        self._prune()

    def _group(self, chat_id: int) -> AsyncLimiter:
        limiter = self._groups.get(chat_id)
        if limiter is None:
            count, period = self._group_rate
            # One every period/count seconds (capacity 1): at most `count` in any `period`.
            limiter = self._groups[chat_id] = AsyncLimiter(1, period / count * (1 + self._margin))
        return limiter

    def _prune(self) -> None:
        if len(self._chat_ready) < 4096:
            return
        now = self._clock()
        for chat_id in [c for c, ready in self._chat_ready.items() if ready < now]:
            del self._chat_ready[chat_id]
