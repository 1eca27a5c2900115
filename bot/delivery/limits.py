"""`SendBudget`: Telegram's limits for the whole bot, one per process (DOMAIN.md, SPEC 7).

Telegram's limits belong to the bot, not to a code path. Every outgoing call of a process —
handlers' replies (through `bot.tg.ratelimit.BudgetRateLimiter`, PTB's rate-limiter hook), the
delivery engine's sends (officers' notices, broadcasts, invitations, reminders, digests) and its
progress reports — waits here for its turn:

- Overall: at most `rate` sends in any one-second window. The processes of a deployment share
  SEND_RATE in fixed shares: each live process registers in `delivery_workers` and takes
  SEND_RATE / (live processes) (see `bot.delivery.engine` and `bot.delivery.membership`).
- Lanes: a free slot goes to the waiting call of the most urgent lane — the reply to the person
  who just wrote, then officers' notices, then bulk — except that a lane kept waiting gets a
  small guaranteed share (`LANE_SHARE`: notices 1 slot in 5, bulk 1 in 20) so that a sustained
  stream of replies can slow the officers' notices and the broadcasts but never stop them.
- Groups (negative chat ids): at most 20 in any minute, whatever the lane.
- Any chat: about one per second for notices and bulk (a reply may follow its user's message at
  once: a user who wrote is waiting for it).
- A 429 stops every lane of the process until its retry_after has passed.

The overall pace is a token bucket with priority waiters, not `AsyncLimiter(rate, 1)`:
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
import enum
import math
from collections import deque
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


class Lane(enum.IntEnum):
    """Who waits for a send, most urgent first."""

    REPLY = 0  # the answer to the person who just wrote
    NOTICE = 1  # officers' notices, approvals, progress reports
    BULK = 2  # broadcasts, invitations, reminders, digests


# The least share of the slots a waiting lane gets, however busy the more urgent lanes are.
LANE_SHARE = {Lane.NOTICE: 0.2, Lane.BULK: 0.05}


def bucket_shape(rate: float) -> tuple[float, float]:
    """(capacity, drain per second) that never let more than `rate` sends into one second."""
    margin, jitter = (MARGIN, JITTER) if rate <= FAST_RATE else (FAST_MARGIN, FAST_JITTER)
    drain = rate / (1 + margin)
    capacity = 1 + 0.5 * max(0.0, rate - drain * (1 + jitter))
    return capacity, drain


class _PriorityBucket:
    """A token bucket whose free tokens go to the waiters of the most urgent lane first.

    Waiters queue per lane (FIFO within a lane). One timer at a time hands out tokens as they
    refill; while a 429 pause is in force it hands out none, so nothing queued sneaks past it.
    """

    def __init__(self, rate: float, paused_until: Callable[[], float]) -> None:
        self._paused_until = paused_until
        self._queues: list[deque[asyncio.Future[None]]] = [deque() for _ in Lane]
        # Slots a waiting lane is owed (LANE_SHARE per slot handed out while it waited).
        self._credit: list[float] = [0.0 for _ in Lane]
        self._timer: asyncio.TimerHandle | None = None
        self._stamp: float | None = None
        self.set_rate(rate)
        self._tokens = self._capacity

    def set_rate(self, rate: float) -> None:
        self._capacity, self._drain = bucket_shape(rate)
        if hasattr(self, "_tokens"):
            self._tokens = min(self._tokens, self._capacity)
            self._rearm()

    def _refill(self, now: float) -> None:
        if self._stamp is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._drain)
        self._stamp = now

    async def take(self, lane: Lane) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._refill(now)
        # Straight through only if nobody waits: a waiting lane may be owed this slot.
        if self._tokens >= 1 and now >= self._paused_until() and not any(self._queues):
            self._tokens -= 1
            return
        future: asyncio.Future[None] = loop.create_future()
        self._queues[lane].append(future)
        self._arm(loop)
        await future

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None:
            return
        now = loop.time()
        when = max(now + max(0.0, 1 - self._tokens) / self._drain, self._paused_until())
        self._timer = loop.call_at(when, self._release)

    def _rearm(self) -> None:
        """Recompute the timer (a pause began, the rate changed)."""
        if self._timer is None:
            return
        self._timer.cancel()
        self._timer = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._arm(loop)

    def _release(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._refill(now)
        if now >= self._paused_until():
            while self._tokens >= 1 and (lane := self._next_lane()) is not None:
                self._queues[lane].popleft().set_result(None)
                self._tokens -= 1
        self._drop_given_up()
        if any(self._queues):
            self._arm(loop)

    def _drop_given_up(self) -> None:
        """Forget waiters that gave up (cancelled): they take nothing."""
        for queue in self._queues:
            while queue and queue[0].done():
                queue.popleft()

    def _next_lane(self) -> Lane | None:
        """The lane the next free slot goes to: the most urgent waiting one, unless a less
        urgent lane has waited long enough to be owed a slot (see LANE_SHARE)."""
        self._drop_given_up()
        waiting = [lane for lane in Lane if self._queues[lane]]
        if not waiting:
            return None
        for lane, share in LANE_SHARE.items():
            if not self._queues[lane]:
                self._credit[lane] = 0.0  # a share is not saved up while nothing waits
            else:
                self._credit[lane] += share
        owed = [lane for lane in reversed(waiting) if self._credit[lane] >= 1.0]
        chosen = owed[0] if owed else waiting[0]
        self._credit[chosen] = max(0.0, self._credit[chosen] - 1.0)
        return chosen

    def fail_all(self, exc: BaseException) -> None:
        for queue in self._queues:
            while queue:
                future = queue.popleft()
                if not future.done():
                    future.set_exception(exc)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


class SendBudget:
    """Waits until a send to a chat is allowed; one per process, shared by everything that sends."""

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
        self._paused_until = 0.0
        self._overall = _PriorityBucket(rate, lambda: self._paused_until)
        self._groups: dict[int, AsyncLimiter] = {}
        # Per-chat spacing is our own: an AsyncLimiter per recipient would be one object per
        # chat of a 600,000-manager broadcast, kept forever. A next-allowed time per recently
        # used chat, and a lock per chat with a waiter, are pruned as they go.
        self._chat_ready: dict[int, float] = {}
        self._chat_locks: dict[int, asyncio.Lock] = {}
        self._chat_waiters: dict[int, int] = {}
        self.sends = 0  # turns handed out (for tests and figures)

    # --- configuration -----------------------------------------------------------------------

    def set_rate(self, rate: float) -> None:
        """Change the overall rate (when processes of the deployment join or leave)."""
        if not math.isclose(rate, self.rate):
            self.rate = rate
            self._overall.set_rate(rate)

    def pause(self, seconds: float) -> None:
        """A 429: nothing goes out, in any lane, for `seconds` from now."""
        until = self._clock() + seconds + PAUSE_SLACK
        if until > self._paused_until:
            self._paused_until = until
            self._overall._rearm()

    @property
    def paused_for(self) -> float:
        """Seconds left of the current 429 pause (0 if none)."""
        return max(0.0, self._paused_until - self._clock())

    def close(self) -> None:
        """Wake every waiter with `GateClosed` (the process is stopping)."""
        self._closed.set()
        self._overall.fail_all(GateClosed())

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

    async def _overall_turn(self, lane: Lane) -> None:
        if self._closed.is_set():
            raise GateClosed
        await self._overall.take(lane)
        self.sends += 1

    async def wait(self, chat_id: int | None, lane: Lane = Lane.BULK) -> None:
        """Return when a send to `chat_id` may go now (None: a call tied to no chat)."""
        if chat_id is None or (lane is Lane.REPLY and chat_id > 0):
            await self._overall_turn(lane)
            return
        lock = self._chat_locks.setdefault(chat_id, asyncio.Lock())
        self._chat_waiters[chat_id] = self._chat_waiters.get(chat_id, 0) + 1
        try:
            async with lock:
                if lane is not Lane.REPLY:
                    await self._sleep(self._chat_ready.get(chat_id, 0.0) - self._clock())
                if chat_id < 0:
                    await self._group(chat_id).acquire()
                await self._overall_turn(lane)
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
