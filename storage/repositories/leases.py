"""Leases: one process of a deployment at a time does a named piece of work (SPEC 13)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_delivery import SchedulerLease
from storage.repositories.common import insert_for


async def hold(session: AsyncSession, name: str, holder: str, *, now: datetime, ttl: timedelta) -> bool:
    """Take or renew the lease `name` for `holder` until now + ttl; False if another holds it.

    One statement, so two processes asking at once cannot both win: the row is inserted, or
    updated only if `holder` already has it or it has expired.
    """
    lease = SchedulerLease.__table__
    stmt = (
        insert_for(session, SchedulerLease)
        .values(name=name, holder=holder, expires_at=now + ttl)
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_={"holder": holder, "expires_at": now + ttl},
        where=or_(lease.c.holder == holder, lease.c.expires_at < now),
    ).returning(lease.c.holder)
    return (await session.execute(stmt)).first() is not None


async def release(session: AsyncSession, name: str, holder: str) -> None:
    """Give the lease up (a clean stop): another process may take it at once."""
    await session.execute(
        delete(SchedulerLease).where(SchedulerLease.name == name, SchedulerLease.holder == holder))


async def holder_of(session: AsyncSession, name: str) -> str | None:
    """Who holds the lease `name` (expired or not); None if nobody took it yet."""
    return await session.scalar(select(SchedulerLease.holder).where(SchedulerLease.name == name))
