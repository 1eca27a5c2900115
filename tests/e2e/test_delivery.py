"""The delivery engine in real processes: kill -9 mid-broadcast, and two workers on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.delivery.outbox import Content, Recipient, enqueue
from bot.sandbox import Sandbox, SandboxClient
from storage.db import Database
from storage.models import Person
from storage.models_delivery import OutboxMessage, OutboxState
from tests.delivery.conftest import batch_done, max_in_window
from tests.e2e.conftest import BotProcess, wait_until

pytestmark = pytest.mark.e2e
TEXT = "Pengumuman: pelatihan RAT hari Kamis"


async def _recipients(db: Database, client: SandboxClient, ids: range) -> list[Recipient]:
    async with db.session() as session:
        people = [Person(telegram_id=i, first_name="P") for i in ids]
        session.add_all(people)
        await session.flush()
        recipients = [Recipient(p.telegram_id, p.id) for p in people]
    for i in ids:
        await client.register_chat(i, type="private")
    return recipients


async def _enqueue(db: Database, recipients: list[Recipient]) -> int:
    async with db.session() as session:
        return await enqueue(session, Content(TEXT), recipients, source=("test", 1))


def _delivered(sandbox: Sandbox, ids: range) -> Counter[int]:
    return Counter(c["chat_id"] for c in sandbox.calls
                   if c["method"] == "sendMessage" and c["status"] == 200 and c["chat_id"] in ids)


async def _sending(db: Database) -> int:
    async with db.session() as session:
        rows = await session.execute(select(OutboxMessage.id).where(OutboxMessage.state == OutboxState.SENDING))
        return len(rows.all())


async def test_kill_9_mid_broadcast_loses_nothing(
    bot_env: dict[str, str], sandbox: Sandbox, client: SandboxClient, db: Database, tmp_path: Path
) -> None:
    """kill -9 while a broadcast goes out, start again: every recipient gets it; a duplicate
    is possible only for rows that were in `sending` at the kill."""
    ids = range(20_001, 20_061)
    recipients = await _recipients(db, client, ids)
    env = {**bot_env, "SEND_RATE": "10", "DELIVERY_LEASE_SECONDS": "3"}
    process = BotProcess(env, tmp_path / "bot.log", client)
    await process.start()
    try:
        batch = await _enqueue(db, recipients)
        async def some_out() -> bool:
            return sum(_delivered(sandbox, ids).values()) >= 15

        await wait_until(some_out, timeout=30, what="15 messages out")
        await process.kill9()
        in_sending = await _sending(db)
        before = sum(_delivered(sandbox, ids).values())
        assert before < len(ids), "the kill came after the broadcast"
        await process.start()
        await wait_until(lambda: batch_done(db, batch), timeout=60, what="the broadcast to finish")
    finally:
        await process.stop()
    got = _delivered(sandbox, ids)
    assert set(got) == set(ids), f"lost: {sorted(set(ids) - set(got))}"
    duplicates = sum(n - 1 for n in got.values())
    assert duplicates <= in_sending
    async with db.session() as session:
        states = (await session.execute(
            select(OutboxMessage.state).where(OutboxMessage.batch_id == batch)
        )).scalars().all()
    assert set(states) == {OutboxState.SENT}


async def test_two_workers_share_the_outbox_without_sending_twice(
    bot_env: dict[str, str], sandbox: Sandbox, client: SandboxClient, db: Database, tmp_path: Path
) -> None:
    """Two `kopdesk worker` processes on PostgreSQL: both send, nobody gets the message twice,
    and together they keep to SEND_RATE."""
    if db.is_sqlite:
        pytest.skip("several workers need PostgreSQL (FOR UPDATE SKIP LOCKED); SQLite runs one engine")
    ids = range(30_001, 30_121)
    recipients = await _recipients(db, client, ids)
    env = {**bot_env, "SEND_RATE": "20"}
    workers = [
        BotProcess(env, tmp_path / f"w{n}.log", client, args=("worker", "--worker-id", f"w{n}"),
                   ready_method="getMe")
        for n in (1, 2)
    ]
    try:
        for worker in workers:
            await worker.start()
        batch = await _enqueue(db, recipients)
        await wait_until(lambda: batch_done(db, batch), timeout=60, what="the broadcast to finish")
    finally:
        for worker in workers:
            await worker.stop()
    got = _delivered(sandbox, ids)
    assert set(got) == set(ids) and max(got.values()) == 1
    async with db.session() as session:
        senders = Counter((await session.execute(
            select(OutboxMessage.claimed_by).where(OutboxMessage.batch_id == batch)
        )).scalars().all())
    assert set(senders) == {"w1", "w2"}
    times = [c["t"] for c in sandbox.calls if c["method"] == "sendMessage" and c["chat_id"] in ids]
    assert max_in_window(times, 1.0) <= 20
