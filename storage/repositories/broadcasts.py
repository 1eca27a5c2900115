"""Broadcasts: officers' drafts and the history of what was sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_delivery import Broadcast, BroadcastStatus


async def add(session: AsyncSession, **fields: object) -> Broadcast:
    """Store a new broadcast (a draft)."""
    broadcast = Broadcast(**fields)
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    """The broadcast with this id."""
    return await session.get(Broadcast, broadcast_id)


async def open_draft(session: AsyncSession, officer_id: int) -> Broadcast | None:
    """The officer's draft being composed, if any (the newest)."""
    stmt = (
        select(Broadcast)
        .where(Broadcast.created_by == officer_id, Broadcast.status == BroadcastStatus.DRAFT)
        .order_by(Broadcast.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_sent(session: AsyncSession, officer_id: int | None, limit: int) -> list[Broadcast]:
    """The newest broadcasts sent (by this officer, or by anyone for None)."""
    stmt = (
        select(Broadcast)
        .where(Broadcast.status.in_([BroadcastStatus.QUEUED, BroadcastStatus.DONE]))
        .order_by(Broadcast.sent_at.desc(), Broadcast.id.desc())
        .limit(limit)
    )
    if officer_id is not None:
        stmt = stmt.where(Broadcast.created_by == officer_id)
    return list((await session.execute(stmt)).scalars())


async def mark_done(session: AsyncSession, broadcast_id: int, at: datetime) -> None:
    """Every recipient has a final result and the officer was told."""
    await session.execute(
        update(Broadcast)
        .where(Broadcast.id == broadcast_id, Broadcast.status == BroadcastStatus.QUEUED)
        .values(status=BroadcastStatus.DONE, finished_at=at)
    )
