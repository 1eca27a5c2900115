"""Officers of the Dinas and their kecamatan scope (re-exported by `registry`)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Kecamatan, Officer, OfficerRole, OfficerScope
from storage.repositories.common import insert_for
from storage.types import utcnow


@dataclass(frozen=True)
class OfficerView:
    """An officer with the names of the kecamatan he is scoped to (empty: all)."""

    telegram_id: int
    name: str
    role: OfficerRole
    active: bool
    kecamatan: list[str] = field(default_factory=list)


async def add_officer(
    session: AsyncSession,
    *,
    telegram_id: int,
    name: str,
    role: OfficerRole = OfficerRole.OFFICER,
    kecamatan_ids: Collection[int] = (),
) -> Officer:
    """Add an officer, or reactivate and update one; the scope is replaced by `kecamatan_ids`."""
    values = {"name": name, "role": role, "active": True}
    await session.execute(
        insert_for(session, Officer)
        .values(telegram_id=telegram_id, created_at=utcnow(), **values)
        .on_conflict_do_update(index_elements=["telegram_id"], set_=values)
    )
    # populate_existing: an Officer already loaded in this session must show the new values.
    officer = (
        await session.execute(
            select(Officer)
            .where(Officer.telegram_id == telegram_id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    await session.execute(delete(OfficerScope).where(OfficerScope.officer_id == officer.id))
    if kecamatan_ids:
        await session.execute(
            insert_for(session, OfficerScope).values(
                [{"officer_id": officer.id, "kecamatan_id": k} for k in dict.fromkeys(kecamatan_ids)]
            )
        )
    return officer


async def remove_officer(session: AsyncSession, telegram_id: int) -> bool:
    """Deactivate an officer and drop his scope; False if there was no active officer."""
    officer = await get_officer(session, telegram_id)
    if officer is None:
        return False
    await session.execute(update(Officer).where(Officer.id == officer.id).values(active=False))
    await session.execute(delete(OfficerScope).where(OfficerScope.officer_id == officer.id))
    return True


async def get_officer(session: AsyncSession, telegram_id: int) -> Officer | None:
    """The active officer with this Telegram id."""
    stmt = select(Officer).where(Officer.telegram_id == telegram_id, Officer.active.is_(True))
    return (await session.execute(stmt)).scalar_one_or_none()


async def officer_scope(session: AsyncSession, telegram_id: int) -> list[int] | None:
    """The kecamatan ids an officer may see; None means every kecamatan (no scope rows)."""
    stmt = (
        select(OfficerScope.kecamatan_id)
        .join(Officer, Officer.id == OfficerScope.officer_id)
        .where(Officer.telegram_id == telegram_id)
    )
    ids = list((await session.execute(stmt)).scalars())
    return ids or None


async def list_officers(session: AsyncSession, *, include_inactive: bool = False) -> list[OfficerView]:
    """Officers by name, each with his kecamatan scope."""
    stmt = select(Officer).order_by(Officer.name, Officer.telegram_id)
    if not include_inactive:
        stmt = stmt.where(Officer.active.is_(True))
    officers = list((await session.execute(stmt)).scalars())
    scopes: dict[int, list[str]] = {}
    rows = await session.execute(
        select(OfficerScope.officer_id, Kecamatan.name)
        .join(Kecamatan, Kecamatan.id == OfficerScope.kecamatan_id)
        .order_by(Kecamatan.name)
    )
    for officer_id, name in rows.all():
        scopes.setdefault(officer_id, []).append(name)
    return [
        OfficerView(o.telegram_id, o.name, o.role, o.active, scopes.get(o.id, []))
        for o in officers
    ]
