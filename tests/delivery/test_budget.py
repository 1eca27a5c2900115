"""One send budget per process: replies and bulk share the rate, a 429 stops both, replies first."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from telegram.error import RetryAfter

from bot.delivery.limits import Lane, SendBudget
from bot.delivery.runner import create_engine
from bot.runtime import Runtime
from bot.tg.build import build_application
from bot.tg.ratelimit import BudgetRateLimiter, takes_a_turn
from tests.delivery.conftest import max_in_window
from tests.support.offline import OfflineRequest

PAUSE = timedelta(seconds=1)


async def _reply(limiter: BudgetRateLimiter, chat_id: int, times: list[float],
                 fail_first: list[int] | None = None) -> None:
    loop = asyncio.get_running_loop()

    async def call() -> bool:
        if fail_first:
            fail_first.pop()
            raise RetryAfter(PAUSE)
        times.append(loop.time())
        return True

    await limiter.process_request(call, (), {}, "sendMessage", {"chat_id": chat_id}, None)


async def _bulk(budget: SendBudget, chat_id: int, times: list[float]) -> None:
    await budget.wait(chat_id, Lane.BULK)
    times.append(asyncio.get_running_loop().time())


def test_the_application_and_the_engine_wait_in_the_same_budget(runtime: Runtime) -> None:
    """The handlers' rate limiter and the delivery engine of one process hold one budget."""
    app = build_application(runtime, request=OfflineRequest(), get_updates_request=OfflineRequest())
    engine = create_engine(runtime, worker_id="budget-test")
    assert isinstance(app.bot.rate_limiter, BudgetRateLimiter)
    assert app.bot.rate_limiter.budget is runtime.budget
    assert engine.gate is runtime.budget


async def test_replies_and_bulk_together_never_exceed_the_rate() -> None:
    """40 bulk sends and 20 replies at once, budget 20/s: no second holds more than 20 sends."""
    budget = SendBudget(20)
    limiter = BudgetRateLimiter(budget)
    times: list[float] = []
    await asyncio.gather(
        *(_bulk(budget, 1000 + i, times) for i in range(40)),
        *(_reply(limiter, 2000 + i, times) for i in range(20)),
    )
    assert len(times) == 60
    assert max_in_window(times, 1.0) <= 20
    assert budget.sends == 60


async def test_a_429_on_a_reply_pauses_the_bulk_lane_too() -> None:
    """A reply answered 429 (retry_after 1 s): no bulk send leaves during that second."""
    budget = SendBudget(50)
    limiter = BudgetRateLimiter(budget)
    loop = asyncio.get_running_loop()
    reply_times: list[float] = []
    await _reply(limiter, 7, reply_times, fail_first=[1])  # paused, then retried
    assert budget.paused_for == 0
    # The retried reply went out after the pause; now a 429 while bulk waits.
    bulk_times: list[float] = []
    paused_at = loop.time()

    first_call = [True]

    async def call_429_once() -> bool:
        if first_call.pop() if first_call else False:
            raise RetryAfter(PAUSE)
        reply_times.append(loop.time())
        return True

    await asyncio.gather(
        limiter.process_request(call_429_once, (), {}, "sendMessage", {"chat_id": 8}, None),
        *(_bulk(budget, 3000 + i, bulk_times) for i in range(10)),
    )
    # Some bulk may have gone before the 429 arrived; none in the paused second after it.
    late = [t for t in bulk_times if t - paused_at > 0.05]
    assert late, "bulk sends should have been held by the pause"
    assert all(t - paused_at >= 1.0 for t in late)
    assert reply_times[-1] - paused_at >= 1.0


async def test_a_reply_overtakes_queued_bulk() -> None:
    """30 bulk sends queue at 10/s (3 s of work); a reply asked for afterwards goes at once."""
    budget = SendBudget(10)
    limiter = BudgetRateLimiter(budget)
    loop = asyncio.get_running_loop()
    bulk_times: list[float] = []
    reply_times: list[float] = []
    bulk = [asyncio.create_task(_bulk(budget, 4000 + i, bulk_times)) for i in range(30)]
    while len(bulk_times) < 3:  # bulk is flowing and the rest is queued
        await asyncio.sleep(0.01)
    asked = loop.time()
    await _reply(limiter, 9, reply_times)
    assert reply_times[0] - asked < 0.25  # one slot at 10/s is 0.1 s, plus slack
    assert len(bulk_times) < 10  # the reply did not wait for the queued bulk
    await asyncio.gather(*bulk)
    assert max_in_window([*bulk_times, *reply_times], 1.0) <= 10


async def test_notices_go_before_bulk() -> None:
    """Among waiters, an officers' notice is served before bulk queued earlier."""
    budget = SendBudget(10, chat_interval=0.0)
    order: list[str] = []

    async def one(lane: Lane, chat: int, name: str) -> None:
        await budget.wait(chat, lane)
        order.append(name)

    first = [asyncio.create_task(one(Lane.BULK, 5000 + i, f"bulk{i}")) for i in range(5)]
    await asyncio.sleep(0)  # let them queue
    notice = asyncio.create_task(one(Lane.NOTICE, -100500, "notice"))
    await asyncio.gather(*first, notice)
    assert order.index("notice") <= 2  # at most the bucket's burst went before it


async def test_a_stream_of_replies_slows_notices_and_bulk_but_never_stops_them() -> None:
    """200 replies queued at once with 10 notices and 3 bulk sends: the replies go first, but
    every fifth slot is a notice's and every twentieth a bulk send's while they wait."""
    budget = SendBudget(200, chat_interval=0.0)
    order: list[Lane] = []

    async def one(lane: Lane, chat: int) -> None:
        await budget.wait(chat, lane)
        order.append(lane)

    # Take the burst of the bucket first, so that everything below waits in the queues.
    while budget._overall._tokens >= 1:  # noqa: SLF001 - the bucket's state is the subject here
        await budget.wait(1, Lane.REPLY)
    tasks = [asyncio.create_task(one(Lane.REPLY, 10_000 + i)) for i in range(200)]
    tasks += [asyncio.create_task(one(Lane.NOTICE, -100 - i)) for i in range(10)]
    tasks += [asyncio.create_task(one(Lane.BULK, 20_000 + i)) for i in range(3)]
    await asyncio.gather(*tasks)
    notices = [i for i, lane in enumerate(order) if lane is Lane.NOTICE]
    bulk = [i for i, lane in enumerate(order) if lane is Lane.BULK]
    assert notices[0] <= 5 and notices[-1] <= 55  # one slot in five
    assert bulk[0] <= 21 and bulk[-1] <= 65  # one slot in twenty
    assert order[:3] == [Lane.REPLY] * 3  # yet the replies still lead


def test_what_takes_a_turn() -> None:
    """Sends, copies and edits count against the limit; answers and getters do not."""
    assert takes_a_turn("sendMessage") and takes_a_turn("copyMessage")
    assert takes_a_turn("editMessageText") and takes_a_turn("sendPhoto")
    assert not takes_a_turn("answerCallbackQuery") and not takes_a_turn("getMe")
    assert not takes_a_turn("sendChatAction")


async def test_a_process_without_engine_takes_its_share_of_the_rate(runtime: Runtime) -> None:
    """Two live members of the deployment: a replies-only process sends at SEND_RATE / 2."""
    from datetime import timedelta as td

    from sqlalchemy import func, select

    from bot.delivery.runner import keep_budget_share
    from storage.models_delivery import DeliveryWorker
    from storage.repositories import outbox as repo
    from storage.types import utcnow

    async with runtime.db.session() as session:  # another worker of the deployment is alive
        await repo.heartbeat(session, "other-worker", utcnow(), td(seconds=60))
    share = asyncio.create_task(keep_budget_share(runtime, "replies-1", interval=0.05))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while runtime.budget.rate != runtime.settings.send_rate / 2 and loop.time() < deadline:
        await asyncio.sleep(0.02)
    assert runtime.budget.rate == runtime.settings.send_rate / 2
    share.cancel()
    await asyncio.gather(share, return_exceptions=True)
    async with runtime.db.session() as session:
        left = await session.scalar(select(func.count()).select_from(DeliveryWorker)
                                    .where(DeliveryWorker.worker_id == "replies-1"))
    assert left == 0


def test_the_group_limit_comes_from_the_settings(settings) -> None:
    """GROUP_SEND_RATE sets the per-group limit of the process's one budget."""
    settings.group_send_rate = 7
    runtime = Runtime.create(settings)
    assert runtime.budget._group_rate == (7, 60.0)
