"""The outbox: payloads, batches, one row per recipient, claims, results, worker heartbeats.

Everything here runs on the caller's session (never commits). Bulk statements are Core, not
ORM: the engine writes thousands of rows a second and the ORM's unit of work would cost more
than the statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person
from storage.models_delivery import (
    DeliveryWorker,
    OutboxBatch,
    OutboxMessage,
    OutboxPayload,
    OutboxState,
)
from storage.repositories.common import insert_for
from storage.types import UTCDateTime

_ROWS = OutboxMessage.__table__
_INSERT_CHUNK = 2000
UNREACHABLE = "unreachable: the recipient blocked the bot"


@dataclass(frozen=True)
class ClaimedRow:
    """A row a worker holds in state `sending`."""

    id: int
    batch_id: int
    payload_id: int
    chat_id: int
    person_id: int | None
    attempts: int
    lane: int = 2


@dataclass(frozen=True)
class Outcome:
    """The result of one send attempt, as the journal writes it."""

    row_id: int
    state: OutboxState  # SENT, FAILED, BLOCKED, or PENDING for a retry later
    attempts: int
    at: datetime  # when the answer came
    error: str | None = None
    message_id: int | None = None
    next_attempt_at: datetime | None = None  # for PENDING


# --- enqueue ----------------------------------------------------------------------------------


async def add_payload(session: AsyncSession, **fields: Any) -> int:
    """Store one payload; returns its id."""
    payload = OutboxPayload(**fields)
    session.add(payload)
    await session.flush()
    return payload.id


async def add_batch(
    session: AsyncSession, *, source_kind: str, source_id: str | None, created_by: int | None,
    total: int, now: datetime,
) -> int:
    """Store one batch; returns its id."""
    batch = OutboxBatch(source_kind=source_kind, source_id=source_id, created_by=created_by,
                        total=total, created_at=now)
    session.add(batch)
    await session.flush()
    return batch.id


async def add_rows(
    session: AsyncSession, *, batch_id: int, payload_id: int,
    recipients: Sequence[tuple[int, int | None]], now: datetime, lane: int = 2,
) -> None:
    """One pending row per (chat_id, person_id), due now, served in `lane`."""
    for start in range(0, len(recipients), _INSERT_CHUNK):
        chunk = recipients[start:start + _INSERT_CHUNK]
        await session.execute(
            insert_for(session, OutboxMessage),
            [
                {"batch_id": batch_id, "payload_id": payload_id, "chat_id": chat_id,
                 "person_id": person_id, "state": OutboxState.PENDING.value, "attempts": 0, "lane": lane,
                 "next_attempt_at": now, "created_at": now}
                for chat_id, person_id in chunk
            ],
        )


async def block_known_unreachable(session: AsyncSession, batch_id: int) -> None:
    """Rows of the batch for people already marked unreachable: blocked at once, never sent."""
    unreachable = select(Person.id).where(Person.unreachable.is_(True))
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.batch_id == batch_id, OutboxMessage.state == OutboxState.PENDING,
               OutboxMessage.person_id.in_(unreachable))
        .values(state=OutboxState.BLOCKED.value, last_error=UNREACHABLE)
    )


# --- claims and leases --------------------------------------------------------------------------


async def has_due(session: AsyncSession, now: datetime) -> bool:
    """True if some pending row is due (a read: no write lock for an idle poll)."""
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now
    ).limit(1)
    return (await session.execute(stmt)).first() is not None


async def claim(
    session: AsyncSession, *, worker_id: str, limit: int, now: datetime, skip_locked: bool
) -> list[ClaimedRow]:
    """Move up to `limit` due pending rows to `sending` for this worker, oldest first.

    On PostgreSQL (`skip_locked`) the candidates are locked with FOR UPDATE SKIP LOCKED in a
    materialized CTE, so two workers claiming at once take disjoint rows. (Not `id IN
    (subquery)`: PostgreSQL may run that subquery again for each row it updates, and every run
    skips the rows the previous one locked — a claim of 10 then takes the whole table.) SQLite
    has one writer at a time: the UPDATE with its subquery runs whole inside the write lock.
    """
    candidates = (
        select(_ROWS.c.id)
        .where(_ROWS.c.state == OutboxState.PENDING.value, _ROWS.c.next_attempt_at <= now)
        .order_by(_ROWS.c.lane, _ROWS.c.next_attempt_at, _ROWS.c.id)
        .limit(limit)
    )
    if skip_locked:
        due = candidates.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        chosen = _ROWS.c.id == due.c.id
    else:
        chosen = _ROWS.c.id.in_(candidates)
    stmt = (
        update(_ROWS)
        .where(chosen, _ROWS.c.state == OutboxState.PENDING.value)
        .values(state=OutboxState.SENDING.value, claimed_by=worker_id, claimed_at=now)
        .returning(_ROWS.c.id, _ROWS.c.batch_id, _ROWS.c.payload_id, _ROWS.c.chat_id,
                   _ROWS.c.person_id, _ROWS.c.attempts, _ROWS.c.lane)
    )
    rows = (await session.execute(stmt)).all()
    return sorted((ClaimedRow(*row) for row in rows), key=lambda r: (r.lane, r.id))


async def renew_leases(session: AsyncSession, worker_id: str, now: datetime) -> None:
    """Keep this worker's claims alive (it is still working on them)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.claimed_by == worker_id)
        .values(claimed_at=now)
    )


async def release_claims(
    session: AsyncSession, *, worker_id: str | None = None, ids: Iterable[int] = (),
    claimed_before: datetime | None = None, keep: Iterable[int] = (),
) -> int:
    """Return rows in `sending` to `pending`: this worker's, these ids, or expired leases;
    never those in `keep`."""
    stmt = update(OutboxMessage).where(OutboxMessage.state == OutboxState.SENDING)
    ids, keep = list(ids), list(keep)
    if ids:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    if keep:
        stmt = stmt.where(OutboxMessage.id.not_in(keep))
    if worker_id is not None:
        stmt = stmt.where(OutboxMessage.claimed_by == worker_id)
    if claimed_before is not None:
        stmt = stmt.where(OutboxMessage.claimed_at < claimed_before)
    result = await session.execute(
        stmt.values(state=OutboxState.PENDING.value, claimed_by=None, claimed_at=None)
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class HeldRow:
    """A row a worker holds in `sending`, with what a restart needs to settle it."""

    id: int
    chat_id: int
    payload_id: int
    attempts: int
    source_kind: str


async def held_rows(session: AsyncSession, worker_id: str, ids: Iterable[int]) -> list[HeldRow]:
    """Of these rows, those the worker still holds in `sending`."""
    wanted = sorted(set(ids))
    found: list[HeldRow] = []
    for start in range(0, len(wanted), _INSERT_CHUNK):
        rows = await session.execute(
            select(OutboxMessage.id, OutboxMessage.chat_id, OutboxMessage.payload_id,
                   OutboxMessage.attempts, OutboxBatch.source_kind)
            .join(OutboxBatch, OutboxBatch.id == OutboxMessage.batch_id)
            .where(OutboxMessage.id.in_(wanted[start:start + _INSERT_CHUNK]),
                   OutboxMessage.state == OutboxState.SENDING,
                   OutboxMessage.claimed_by == worker_id)
        )
        found.extend(HeldRow(*row) for row in rows.all())
    return found


# --- results ------------------------------------------------------------------------------------


async def record(session: AsyncSession, worker_id: str, outcomes: Sequence[Outcome]) -> None:
    """Write the outcomes of this worker's sends (only rows it still holds are changed)."""
    if not outcomes:
        return
    stmt = (
        update(_ROWS)
        .where(_ROWS.c.id == bindparam("r_id"), _ROWS.c.state == OutboxState.SENDING.value,
               _ROWS.c.claimed_by == worker_id)
        .values(
            state=bindparam("r_state"),
            attempts=bindparam("r_attempts"),
            last_error=bindparam("r_error"),
            telegram_message_id=bindparam("r_message_id"),
            sent_at=bindparam("r_sent_at", type_=UTCDateTime()),
            next_attempt_at=bindparam("r_next", type_=UTCDateTime()),
            # A retried row is free for any worker; a final one keeps who sent it.
            claimed_by=bindparam("r_claimed_by"),
        )
    )
    params = [
        {
            "r_id": o.row_id, "r_state": o.state.value, "r_attempts": o.attempts,
            "r_error": o.error, "r_message_id": o.message_id,
            "r_sent_at": o.at if o.state is OutboxState.SENT else None,
            "r_next": o.next_attempt_at or o.at,
            "r_claimed_by": None if o.state is OutboxState.PENDING else worker_id,
        }
        for o in outcomes
    ]
    await session.execute(stmt, params)


async def mark_unreachable(
    session: AsyncSession, *, person_ids: Iterable[int], chat_ids: Iterable[int], now: datetime
) -> None:
    """People who blocked the bot: flag them, and block their other pending rows."""
    person_ids, chat_ids = list(set(person_ids)), list(set(chat_ids))
    private = [c for c in chat_ids if c > 0]  # a private chat's id is the user's id
    if person_ids or private:
        await session.execute(
            update(Person)
            .where(or_(Person.id.in_(person_ids), Person.telegram_id.in_(private)),
                   Person.unreachable.is_(False))
            .values(unreachable=True, unreachable_since=now)
        )
    if chat_ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_id.in_(chat_ids), OutboxMessage.state == OutboxState.PENDING)
            .values(state=OutboxState.BLOCKED.value, last_error=UNREACHABLE)
        )


async def source_kinds(session: AsyncSession, batch_ids: Iterable[int]) -> dict[int, str]:
    """The source kind of each batch."""
    rows = await session.execute(select(OutboxBatch.id, OutboxBatch.source_kind)
                                 .where(OutboxBatch.id.in_(list(batch_ids))))
    return {batch_id: kind for batch_id, kind in rows.all()}


async def payloads(session: AsyncSession, ids: Iterable[int]) -> dict[int, OutboxPayload]:
    """Payloads by id."""
    rows = await session.execute(select(OutboxPayload).where(OutboxPayload.id.in_(list(ids))))
    return {p.id: p for p in rows.scalars()}


# --- progress and reporting ---------------------------------------------------------------------


async def state_counts(session: AsyncSession, batch_id: int) -> dict[str, int]:
    """How many rows of the batch are in each state."""
    rows = await session.execute(
        select(OutboxMessage.state, func.count()).where(OutboxMessage.batch_id == batch_id)
        .group_by(OutboxMessage.state)
    )
    return {state: int(n) for state, n in rows.all()}


async def top_errors(session: AsyncSession, batch_id: int, limit: int = 3) -> list[tuple[str, int]]:
    """The commonest reasons of failed or blocked rows, with their counts."""
    rows = await session.execute(
        select(OutboxMessage.last_error, func.count().label("n"))
        .where(OutboxMessage.batch_id == batch_id,
               OutboxMessage.state.in_([OutboxState.FAILED, OutboxState.BLOCKED]))
        .group_by(OutboxMessage.last_error)
        .order_by(func.count().desc(), OutboxMessage.last_error)
        .limit(limit)
    )
    return [(error or "?", int(n)) for error, n in rows.all()]


async def get_batch(session: AsyncSession, batch_id: int) -> OutboxBatch | None:
    """The batch with this id."""
    return await session.get(OutboxBatch, batch_id)


async def open_batches(session: AsyncSession) -> list[OutboxBatch]:
    """Batches not yet completed (still sending, or waiting for their final report)."""
    rows = await session.execute(
        select(OutboxBatch).where(OutboxBatch.completed_at.is_(None)).order_by(OutboxBatch.id)
    )
    return list(rows.scalars())


async def take_report_slot(
    session: AsyncSession, batch_id: int, now: datetime, interval: timedelta
) -> bool:
    """Claim the right to report on the batch now; False if someone did within `interval`."""
    result = await session.execute(
        update(OutboxBatch)
        .where(OutboxBatch.id == batch_id, OutboxBatch.completed_at.is_(None),
               OutboxBatch.reported_at.is_(None) | (OutboxBatch.reported_at <= now - interval))
        .values(reported_at=now)
    )
    return result.rowcount == 1


async def complete_batch(session: AsyncSession, batch_id: int, now: datetime) -> None:
    """Every row is final and the final report was made."""
    await session.execute(
        update(OutboxBatch).where(OutboxBatch.id == batch_id).values(completed_at=now)
    )


# --- workers ------------------------------------------------------------------------------------


async def heartbeat(session: AsyncSession, worker_id: str, now: datetime, live: timedelta) -> int:
    """Record that this worker is alive; returns how many workers are (itself included)."""
    await session.execute(
        insert_for(session, DeliveryWorker)
        .values(worker_id=worker_id, started_at=now, heartbeat_at=now)
        .on_conflict_do_update(index_elements=["worker_id"], set_={"heartbeat_at": now})
    )
    # Workers gone for long are forgotten (their rows came back through the lease).
    await session.execute(delete(DeliveryWorker).where(DeliveryWorker.heartbeat_at < now - 100 * live))
    count = await session.execute(
        select(func.count()).where(DeliveryWorker.heartbeat_at >= now - live)
    )
    return max(1, int(count.scalar_one()))


async def remove_worker(session: AsyncSession, worker_id: str) -> None:
    """A worker that stops cleanly leaves the share of the rate to the others."""
    await session.execute(delete(DeliveryWorker).where(DeliveryWorker.worker_id == worker_id))
