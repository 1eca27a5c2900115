"""The outbox interface and its repository: enqueue, progress, claims, leases, results."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.delivery.outbox import Content, Recipient, enqueue, progress
from bot.runtime import Runtime
from storage.db import Database
from storage.models import Person
from storage.models_delivery import OutboxState
from storage.repositories import outbox as repo
from storage.repositories.outbox import Outcome
from storage.types import utcnow


async def _people(db: Database, ids: list[int], unreachable: set[int] = frozenset()) -> list[Recipient]:
    async with db.session() as session:
        people = [Person(telegram_id=i, first_name="P", unreachable=i in unreachable) for i in ids]
        session.add_all(people)
        await session.flush()
        return [Recipient(p.telegram_id, p.id) for p in people]


async def test_enqueue_once_per_chat_and_progress(runtime: Runtime) -> None:
    """One row per chat (duplicates dropped); people known unreachable are blocked at once."""
    db = runtime.db
    people = await _people(db, [1, 2, 3], unreachable={3})
    async with db.session() as session:
        batch = await enqueue(session, Content("Halo"), [*people, people[0], 4], source=("test", 9),
                              created_by=900)
    async with db.session() as session:
        p = await progress(session, batch)
        b = await repo.get_batch(session, batch)
    assert (p.total, p.pending, p.blocked, p.done) == (4, 3, 1, False)
    assert (b.source_kind, b.source_id, b.created_by) == ("test", "9", 900)


async def test_concurrent_claimers_never_share_a_row(runtime: Runtime) -> None:
    """Four workers claiming at once (FOR UPDATE SKIP LOCKED on PostgreSQL) split the rows."""
    db = runtime.db
    async with db.session() as session:
        batch = await enqueue(session, Content("Halo"), range(10_000, 10_300), source=("test", 1))
    claimed: dict[str, list[int]] = {f"w{i}": [] for i in range(4)}

    async def worker(name: str) -> None:
        while True:
            async with db.session() as session:
                rows = await repo.claim(session, worker_id=name, limit=7, now=utcnow(),
                                        skip_locked=not db.is_sqlite)
            if not rows:
                return
            assert len(rows) <= 7
            claimed[name] += [r.id for r in rows]
            await asyncio.sleep(0)

    await asyncio.gather(*(worker(n) for n in claimed))
    every = [i for ids in claimed.values() for i in ids]
    assert len(every) == len(set(every)) == 300
    assert sum(1 for ids in claimed.values() if ids) >= 2
    async with db.session() as session:
        assert (await progress(session, batch)).sending == 300


async def test_leases_results_and_release(runtime: Runtime) -> None:
    """Results change only rows the worker holds; expired or own claims return to pending."""
    db = runtime.db
    people = await _people(db, [21, 22, 23, 24])
    async with db.session() as session:
        batch = await enqueue(session, Content("Halo"), people, source=("test", 1))
    now = utcnow()
    async with db.session() as session:
        rows = await repo.claim(session, worker_id="a", limit=4, now=now, skip_locked=not db.is_sqlite)
    r1, r2, r3, r4 = rows
    async with db.session() as session:
        await repo.record(session, "a", [
            Outcome(r1.id, OutboxState.SENT, 1, now, message_id=77),
            Outcome(r2.id, OutboxState.PENDING, 1, now, "HTTP 502", next_attempt_at=now + timedelta(seconds=30)),
        ])
        await repo.record(session, "b", [Outcome(r3.id, OutboxState.SENT, 1, now, message_id=78)])  # not b's
        await repo.mark_unreachable(session, person_ids=[r4.person_id], chat_ids=[r4.chat_id], now=now)
    async with db.session() as session:
        p = await progress(session, batch)
        assert (p.sent, p.pending, p.sending) == (1, 1, 2)
        assert not await repo.has_due(session, now + timedelta(seconds=1))  # the retry is not due yet
        assert await repo.release_claims(session, claimed_before=now - timedelta(seconds=1)) == 0
        assert await repo.release_claims(session, claimed_before=now + timedelta(seconds=1)) == 2
    async with db.session() as session:
        assert (await progress(session, batch)).pending == 3
        again = await repo.claim(session, worker_id="c", limit=10, now=now + timedelta(seconds=31),
                                 skip_locked=not db.is_sqlite)
        assert sorted(r.id for r in again) == sorted([r2.id, r3.id, r4.id])
        assert await repo.release_claims(session, worker_id="c") == 3
        unreachable = await session.get(Person, r4.person_id)
        assert unreachable.unreachable
