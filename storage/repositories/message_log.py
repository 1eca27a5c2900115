"""The message log: inbound updates and outbound Bot API calls (SPEC 9)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundUpdate, OutboundCall
from storage.repositories.common import insert_for
from storage.types import utcnow


class InboundStatus(enum.Enum):
    """What the log already knew of an update when it arrived."""

    NEW = "new"  # first time seen: handle it
    UNFINISHED = "unfinished"  # seen before, but its handling never committed: handle it
    DONE = "done"  # handled (or throttled) already: a redelivery, skip it


async def record_inbound(
    session: AsyncSession,
    *,
    update_id: int,
    user_id: int | None,
    chat_id: int | None,
    kind: str,
    text: str | None,
    raw: dict[str, Any],
) -> InboundStatus:
    """Store an inbound update unless its update_id is known; say what to do with it."""
    stmt = (
        insert_for(session, InboundUpdate)
        .values(
            update_id=update_id,
            user_id=user_id,
            chat_id=chat_id,
            kind=kind,
            text=text,
            raw=raw,
            received_at=utcnow(),
            throttled=False,
        )
        .on_conflict_do_nothing(index_elements=["update_id"])
    )
    result = await session.execute(stmt)
    if result.rowcount == 1:
        return InboundStatus.NEW
    row = (
        await session.execute(
            select(InboundUpdate.handled_at, InboundUpdate.throttled).where(
                InboundUpdate.update_id == update_id
            )
        )
    ).one()
    return InboundStatus.DONE if row.handled_at or row.throttled else InboundStatus.UNFINISHED


async def mark_handled(session: AsyncSession, update_id: int) -> None:
    """Record that the update's handling committed."""
    await session.execute(
        update(InboundUpdate).where(InboundUpdate.update_id == update_id).values(handled_at=utcnow())
    )


async def mark_throttled(session: AsyncSession, update_id: int) -> None:
    """Record that the update was over the sender's flood limit and not handled."""
    await session.execute(
        update(InboundUpdate).where(InboundUpdate.update_id == update_id).values(throttled=True)
    )


async def unfinished_since(session: AsyncSession, since: datetime) -> list[dict[str, Any]]:
    """Raw updates received since `since` whose handling never committed, oldest first."""
    stmt = (
        select(InboundUpdate.raw)
        .where(
            InboundUpdate.received_at >= since,
            InboundUpdate.handled_at.is_(None),
            InboundUpdate.throttled.is_(False),
        )
        .order_by(InboundUpdate.update_id)
    )
    return list((await session.execute(stmt)).scalars())


async def add_outbound(session: AsyncSession, **fields: Any) -> None:
    """Store one outbound Bot API call."""
    await session.execute(insert_for(session, OutboundCall).values(created_at=utcnow(), **fields))


async def prune(session: AsyncSession, older_than: datetime) -> tuple[int, int]:
    """Delete raw logs older than the cut-off; returns (inbound, outbound) rows removed."""
    inbound = await session.execute(
        delete(InboundUpdate).where(InboundUpdate.received_at < older_than)
    )
    outbound = await session.execute(
        delete(OutboundCall).where(OutboundCall.created_at < older_than)
    )
    return inbound.rowcount or 0, outbound.rowcount or 0
