"""Fixtures for the delivery engine run in-process against an in-process sandbox, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.delivery.engine import DeliveryEngine
from bot.delivery.outbox import Recipient
from bot.delivery.runner import create_engine
from bot.runtime import Runtime
from bot.sandbox import Sandbox
from storage.db import Database
from storage.models import Cooperative, CoopForm, CoopStatus, CoopType, Person
from storage.models_delivery import OutboxMessage, OutboxState
from storage.repositories import registry


@pytest.fixture
def delivery_runtime(runtime: Runtime, sandbox: Sandbox) -> Runtime:
    """The test runtime, talking to the sandbox."""
    runtime.settings.telegram_api_url = sandbox.base_url
    return runtime


@asynccontextmanager
async def running_engine(runtime: Runtime, **overrides: Any) -> AsyncIterator[DeliveryEngine]:
    """A started delivery engine (stopped, and its rows given back, on exit)."""
    import asyncio

    engine = create_engine(runtime, worker_id=overrides.pop("worker_id", "test-worker"), **overrides)
    task = asyncio.create_task(engine.run())
    ready = asyncio.create_task(engine.ready.wait())
    await asyncio.wait([task, ready], return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # startup failed: show why
    try:
        yield engine
    finally:
        engine.stop()
        await asyncio.wait_for(task, 30)


async def add_people(db: Database, sandbox: Sandbox, telegram_ids: Iterable[int]) -> list[Recipient]:
    """People the bot knows, with private chats the sandbox knows."""
    recipients = []
    async with db.session() as session:
        for telegram_id in telegram_ids:
            person = Person(telegram_id=telegram_id, first_name=f"P{telegram_id}")
            session.add(person)
            await session.flush()
            recipients.append(Recipient(telegram_id, person.id))
            sandbox.state.register_chat(telegram_id, "private", None, None)
    return recipients


async def add_cooperative(db: Database, kecamatan: str, number: str, managers: Iterable[int] = (),
                          status: CoopStatus = CoopStatus.AKTIF,
                          type_: CoopType = CoopType.SIMPAN_PINJAM) -> tuple[int, int]:
    """A cooperative in `kecamatan` (created if new) managed by these people; (kecamatan, coop) ids."""
    async with db.session() as session:
        ids = await registry.ensure_kecamatan(session, [kecamatan])
        coop = Cooperative(registration_number=number, name=f"Koperasi {number}", form=CoopForm.PRIMER,
                           type=type_, status=status, kecamatan_id=ids[kecamatan],
                           incorporated_on=date(2010, 1, 1))
        session.add(coop)
        await session.flush()
        for person_id in managers:
            await registry.link_manager(session, person_id=person_id, cooperative_id=coop.id,
                                        position=registry.ManagerPosition.KETUA)
        return ids[kecamatan], coop.id


async def batch_done(db: Database, batch_id: int) -> bool:
    """True once no row of the batch is pending or sending."""
    async with db.session() as session:
        open_rows = (await session.execute(
            select(func.count()).where(
                OutboxMessage.batch_id == batch_id,
                OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
            )
        )).scalar_one()
    return open_rows == 0


async def rows_of(db: Database, batch_id: int) -> list[OutboxMessage]:
    """Every outbox row of a batch, by chat."""
    async with db.session() as session:
        rows = await session.execute(
            select(OutboxMessage).where(OutboxMessage.batch_id == batch_id).order_by(OutboxMessage.chat_id)
        )
        return list(rows.scalars())


def max_in_window(times: list[float], window: float) -> int:
    """The most events in any closed time window of this length."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best
