"""Paged lists of the registry for the bot's pickers (kecamatan → cooperative)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Cooperative, Kecamatan


async def kecamatan_page(session: AsyncSession, page: int, size: int) -> tuple[list[Kecamatan], int]:
    """One page of kecamatan by name, and how many there are."""
    total = (await session.execute(select(func.count()).select_from(Kecamatan))).scalar_one()
    rows = await session.execute(select(Kecamatan).order_by(Kecamatan.name).offset(page * size).limit(size))
    return list(rows.scalars()), int(total)


async def cooperatives_page(
    session: AsyncSession, kecamatan_id: int, page: int, size: int
) -> tuple[list[Cooperative], int]:
    """One page of a kecamatan's cooperatives by name, and how many there are."""
    where = Cooperative.kecamatan_id == kecamatan_id
    total = (await session.execute(select(func.count()).where(where))).scalar_one()
    rows = await session.execute(
        select(Cooperative).where(where).order_by(Cooperative.name, Cooperative.id)
        .offset(page * size).limit(size)
    )
    return list(rows.scalars()), int(total)


async def kecamatan_name(session: AsyncSession, kecamatan_id: int) -> str:
    """The name of a kecamatan ('' if unknown)."""
    return (await session.execute(select(Kecamatan.name).where(Kecamatan.id == kecamatan_id))).scalar() or ""
