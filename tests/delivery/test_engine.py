"""The delivery engine in-process against the sandbox over real HTTP: limits, 429, 403, retries."""

from __future__ import annotations

from sqlalchemy import select

from bot.delivery.outbox import Content, enqueue, progress
from bot.runtime import Runtime
from bot.sandbox import Sandbox, SandboxClient
from bot.services import audience
from bot.services.audience import Audience
from storage.models import OutboundCall, Person
from storage.models_delivery import OutboxState
from tests.delivery.conftest import (
    add_cooperative,
    add_people,
    batch_done,
    max_in_window,
    rows_of,
    running_engine,
)
from tests.e2e.conftest import wait_until
from tests.support.harness import running_bot
from tests.support.updates import message_update


def sends(sandbox: Sandbox) -> list[dict]:
    """Every sendMessage the sandbox received, in order."""
    return [c for c in sandbox.calls if c["method"] == "sendMessage"]


async def test_rate_limit_and_429_pause(delivery_runtime: Runtime, sandbox: Sandbox, client: SandboxClient) -> None:
    """At SEND_RATE=10 no one-second window holds more than 10 sends, and after a 429 nothing
    is sent until its retry_after has passed; everyone gets the message exactly once."""
    delivery_runtime.settings.send_rate = 10
    db = delivery_runtime.db
    people = await add_people(db, sandbox, range(5001, 5036))
    await client.set_faults(script=["ok"] * 7 + ["429:1"] + ["ok"] * 12 + ["429:2"], methods=["sendMessage"])
    async with db.session() as session:
        batch = await enqueue(session, Content("Rapat koordinasi hari Senin"), people, source=("test", 1))
    async with running_engine(delivery_runtime):
        await wait_until(lambda: batch_done(db, batch), timeout=40, what="the batch to be sent")

    calls = sends(sandbox)
    assert max_in_window([c["t"] for c in calls], 1.0) <= 10
    refused = [c for c in calls if c["status"] == 429]
    assert len(refused) == 2
    for c429, pause in zip(refused, (1.0, 2.0), strict=True):
        during = [c for c in calls if c429["t"] < c["t"] < c429["t"] + pause]
        assert during == [], f"sent during the retry_after of the 429 at seq {c429['seq']}"
    delivered = sorted(c["chat_id"] for c in calls if c["status"] == 200)
    assert delivered == [p.chat_id for p in people]
    async with db.session() as session:
        assert (await progress(session, batch)).sent == len(people)


async def test_blocked_recipient_is_skipped_until_he_writes(
    delivery_runtime: Runtime, sandbox: Sandbox, client: SandboxClient
) -> None:
    """A 403 blocks the row and marks the person unreachable; the next audience leaves him out
    (and a row queued for him anyway is never sent); writing to the bot brings him back."""
    db = delivery_runtime.db
    people = await add_people(db, sandbox, [6001, 6002, 6003])
    await add_cooperative(db, "Amarasi", "BH-1", managers=[p.person_id for p in people])
    await client.block(6002)
    async with db.session() as session:
        first = await audience.recipients(session, Audience.everyone(), scope=None)
        batch = await enqueue(session, Content("Pengumuman pertama"), first, source=("test", 1))
    async with running_engine(delivery_runtime):
        await wait_until(lambda: batch_done(db, batch), what="the first batch")
        states = {r.chat_id: (r.state, r.last_error) for r in await rows_of(db, batch)}
        assert states[6002][0] == OutboxState.BLOCKED and "blocked by the user" in states[6002][1]
        assert states[6001][0] == states[6003][0] == OutboxState.SENT
        async with db.session() as session:
            him = (await session.execute(select(Person).where(Person.telegram_id == 6002))).scalar_one()
            assert him.unreachable and him.unreachable_since is not None
            second = await audience.recipients(session, Audience.everyone(), scope=None)
            assert [r.chat_id for r in second] == [6001, 6003]
            assert (await audience.size(session, Audience.everyone(), scope=None)).recipients == 2
            # A caller that names him anyway gets a blocked row, and no call is made.
            again = await enqueue(session, Content("Kedua"), people, source=("test", 2))
        await wait_until(lambda: batch_done(db, again), what="the second batch")
    assert len([c for c in sends(sandbox) if c["chat_id"] == 6002]) == 1  # the first 403 only
    assert {r.chat_id: r.state for r in await rows_of(db, again)}[6002] == OutboxState.BLOCKED

    async with running_bot(delivery_runtime) as bot:
        await bot.feed(message_update(bot.app.bot, 6002, "/start"))
    async with db.session() as session:
        assert (await audience.size(session, Audience.everyone(), scope=None)).recipients == 3


async def test_transient_errors_are_retried_then_fail_with_the_reason(
    delivery_runtime: Runtime, sandbox: Sandbox, client: SandboxClient
) -> None:
    """500, a dropped connection and 502 are retried (each attempt in the outbound log); a
    recipient whose sends keep failing is failed after the attempt limit, with the reason."""
    db = delivery_runtime.db
    [lucky] = await add_people(db, sandbox, [7001])
    await client.set_faults(script=["500", "drop", "502"], methods=["sendMessage"])
    async with db.session() as session:
        batch = await enqueue(session, Content("Coba lagi"), [lucky], source=("test", 1))
    async with running_engine(delivery_runtime, backoff=0.05, max_attempts=5):
        await wait_until(lambda: batch_done(db, batch), what="the retried row")
    [row] = await rows_of(db, batch)
    assert (row.state, row.attempts) == (OutboxState.SENT, 4)
    async with db.session() as session:
        logged = (await session.execute(
            select(OutboundCall.ok).where(OutboundCall.chat_id == 7001).order_by(OutboundCall.id)
        )).scalars().all()
    assert logged == [False, False, False, True]

    [unlucky] = await add_people(db, sandbox, [7002])
    await client.set_faults(rate_5xx=1.0, methods=["sendMessage"])
    async with db.session() as session:
        doomed = await enqueue(session, Content("Tidak akan sampai"), [unlucky], source=("test", 2))
    async with running_engine(delivery_runtime, backoff=0.05, max_attempts=3):
        await wait_until(lambda: batch_done(db, doomed), what="the failing row to give up")
    [row] = await rows_of(db, doomed)
    assert (row.state, row.attempts) == (OutboxState.FAILED, 3)
    assert "gave up after 3 attempts" in row.last_error and ("500" in row.last_error or "Bad Gateway" in row.last_error)
    assert len([c for c in sends(sandbox) if c["chat_id"] == 7002]) == 3
