"""Programmes and FAQ entries: upsert by key, retire, browse, and the catalogue's version."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_support import FaqEntry, Programme

Model = type[Programme] | type[FaqEntry]


async def all_entries(session: AsyncSession, model: Model) -> list[Any]:
    """Every entry of one kind, active or not, by key."""
    rows = await session.execute(select(model).order_by(model.key))
    return list(rows.scalars())


async def upsert(
    session: AsyncSession, model: Model, entries: Sequence[dict[str, Any]]
) -> tuple[int, int, int]:
    """Insert or update entries by key; returns (inserted, updated, unchanged)."""
    existing = {e.key: e for e in await all_entries(session, model)}
    inserted = updated = unchanged = 0
    for values in entries:
        row = existing.get(values["key"])
        if row is None:
            session.add(model(**values))
            inserted += 1
            continue
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed:
            for name, value in changed.items():
                setattr(row, name, value)
            updated += 1
        else:
            unchanged += 1
    await session.flush()
    return inserted, updated, unchanged


async def retire_missing(session: AsyncSession, model: Model, keep: set[str]) -> int:
    """Set active = false on every active entry whose key is not in `keep`; returns how many."""
    result = await session.execute(
        update(model).where(model.active.is_(True), model.key.not_in(sorted(keep)))
        .values(active=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def version(session: AsyncSession) -> tuple[Any, ...]:
    """Changes whenever an entry is added or changed (the matching index compares it)."""
    parts: list[Any] = []
    for model in (Programme, FaqEntry):
        row = (await session.execute(select(func.count(model.id), func.max(model.updated_at)))).one()
        parts += [int(row[0]), row[1]]
    return tuple(parts)


async def active_programmes(session: AsyncSession, now: datetime) -> list[Programme]:
    """Active programmes whose deadline, if any, is not past."""
    rows = await session.execute(
        select(Programme)
        .where(Programme.active.is_(True), (Programme.deadline.is_(None)) | (Programme.deadline >= now))
        .order_by(Programme.category, Programme.title)
    )
    return list(rows.scalars())


async def active_faq(session: AsyncSession) -> list[FaqEntry]:
    """Active FAQ entries."""
    rows = await session.execute(select(FaqEntry).where(FaqEntry.active.is_(True)).order_by(FaqEntry.key))
    return list(rows.scalars())


async def programme(session: AsyncSession, programme_id: int) -> Programme | None:
    """One programme by id."""
    return await session.get(Programme, programme_id)


async def faq(session: AsyncSession, faq_id: int) -> FaqEntry | None:
    """One FAQ entry by id."""
    return await session.get(FaqEntry, faq_id)


async def add_faq(session: AsyncSession, **values: Any) -> FaqEntry:
    """Store one FAQ entry (a draft from a ticket)."""
    entry = FaqEntry(**values)
    session.add(entry)
    await session.flush()
    return entry


async def faq_by_source_ticket(session: AsyncSession, ticket_id: int) -> FaqEntry | None:
    """The draft FAQ entry already made from this ticket, if any."""
    rows = await session.execute(select(FaqEntry).where(FaqEntry.source_ticket_id == ticket_id))
    return rows.scalars().first()
