"""Who a message to "these cooperatives" reaches: the reachable linked managers (SPEC 6, 7)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Cooperative, CoopStatus, CoopType, Kecamatan, ManagerLink, Person


def cooperative_ids(
    *,
    scope: Collection[int] | None,
    kecamatan_ids: Collection[int] | None = None,
    status: CoopStatus | None = None,
    type_: CoopType | None = None,
    ids: Collection[int] | None = None,
) -> Select[Any]:
    """A SELECT of the ids of the cooperatives matching every given filter, within `scope`."""
    stmt = select(Cooperative.id)
    if scope is not None:
        stmt = stmt.where(Cooperative.kecamatan_id.in_(list(scope)))
    if kecamatan_ids is not None:
        stmt = stmt.where(Cooperative.kecamatan_id.in_(list(kecamatan_ids)))
    if status is not None:
        stmt = stmt.where(Cooperative.status == status)
    if type_ is not None:
        stmt = stmt.where(Cooperative.type == type_)
    if ids is not None:
        stmt = stmt.where(Cooperative.id.in_(list(ids)))
    return stmt


def _reachable(coops: Select[Any]) -> Any:
    return (ManagerLink.cooperative_id.in_(coops)) & Person.unreachable.is_(False)


async def managers(session: AsyncSession, coops: Select[Any]) -> list[tuple[int, int]]:
    """(person id, telegram id) of every reachable manager of those cooperatives, once each."""
    stmt = (
        select(Person.id, Person.telegram_id)
        .join(ManagerLink, ManagerLink.person_id == Person.id)
        .where(_reachable(coops))
        .group_by(Person.id, Person.telegram_id)
        .order_by(Person.id)
    )
    return [(p, t) for p, t in (await session.execute(stmt)).all()]


async def counts(session: AsyncSession, coops: Select[Any]) -> tuple[int, int, int]:
    """(cooperatives, cooperatives with a reachable manager, distinct reachable managers)."""
    matched = (await session.execute(select(func.count()).select_from(coops.subquery()))).scalar_one()
    reached, people = (
        await session.execute(
            select(func.count(distinct(ManagerLink.cooperative_id)), func.count(distinct(Person.id)))
            .select_from(ManagerLink)
            .join(Person, Person.id == ManagerLink.person_id)
            .where(_reachable(coops))
        )
    ).one()
    return int(matched), int(reached), int(people)


async def kecamatan_page(
    session: AsyncSession, scope: Collection[int] | None, page: int, size: int
) -> tuple[list[Kecamatan], int]:
    """One page of the kecamatan an officer may address, by name, and how many there are."""
    where = [] if scope is None else [Kecamatan.id.in_(list(scope))]
    total = (await session.execute(select(func.count()).select_from(Kecamatan).where(*where))).scalar_one()
    rows = await session.execute(
        select(Kecamatan).where(*where).order_by(Kecamatan.name).offset(page * size).limit(size)
    )
    return list(rows.scalars()), int(total)


async def kecamatan_names(session: AsyncSession, ids: Collection[int]) -> list[str]:
    """Names of these kecamatan, by name."""
    rows = await session.execute(
        select(Kecamatan.name).where(Kecamatan.id.in_(list(ids))).order_by(Kecamatan.name)
    )
    return list(rows.scalars())


async def cooperative_names(session: AsyncSession, ids: Collection[int]) -> dict[int, str]:
    """Names of these cooperatives by id."""
    rows = await session.execute(select(Cooperative.id, Cooperative.name).where(Cooperative.id.in_(list(ids))))
    return {i: n for i, n in rows.all()}
