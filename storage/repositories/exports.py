"""Streams of rows for the exports (SPEC 8), page by page in key order.

Keyset pagination (WHERE key > last ORDER BY key LIMIT n) keeps every page as cheap as the
first and memory flat; rows are plain mappings, never ORM objects, so no identity map grows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, and_, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AnnualReportRecord,
    Cooperative,
    InboundUpdate,
    Kecamatan,
    ManagerLink,
    OutboundCall,
    Person,
)

PAGE = 1000


async def report_rows(
    session: AsyncSession, fiscal_year: int, kecamatan_ids: Collection[int] | None, page: int = PAGE
) -> AsyncIterator[tuple[RowMapping, RowMapping | None]]:
    """Every cooperative in scope, by kecamatan name then cooperative name, with its newest
    report revision for the year (None: not reported).

    Kecamatan are few; within each, cooperatives are paged on (name, id), which the index
    ix_cooperatives_kecamatan_name (kecamatan_id, name, id) serves without sorting.
    """
    coop = Cooperative.__table__
    report = AnnualReportRecord.__table__
    kecamatan = select(Kecamatan.id, Kecamatan.name).order_by(Kecamatan.name)
    if kecamatan_ids is not None:
        kecamatan = kecamatan.where(Kecamatan.id.in_(list(kecamatan_ids)))
    for kecamatan_id, kecamatan_name in (await session.execute(kecamatan)).all():
        last: tuple[str, int] | None = None
        while True:
            stmt = (select(coop).where(coop.c.kecamatan_id == kecamatan_id)
                    .order_by(coop.c.name, coop.c.id).limit(page))
            if last is not None:
                stmt = stmt.where(tuple_(coop.c.name, coop.c.id) > tuple_(*last))
            coops = (await session.execute(stmt)).mappings().all()
            if not coops:
                break
            ids = [c["id"] for c in coops]
            newest = (
                select(report.c.cooperative_id, func.max(report.c.revision).label("revision"))
                .where(report.c.fiscal_year == fiscal_year, report.c.cooperative_id.in_(ids))
                .group_by(report.c.cooperative_id)
                .subquery()
            )
            reports = (await session.execute(
                select(report).join(newest, and_(report.c.cooperative_id == newest.c.cooperative_id,
                                                 report.c.revision == newest.c.revision))
                .where(report.c.fiscal_year == fiscal_year)
            )).mappings().all()
            by_coop = {r["cooperative_id"]: r for r in reports}
            for c in coops:
                yield {**c, "kecamatan_name": kecamatan_name}, by_coop.get(c["id"])
            last = (coops[-1]["name"], coops[-1]["id"])


def managers_in_scope(kecamatan_ids: Collection[int]) -> Any:
    """The Telegram ids of people managing a cooperative in these kecamatan (a subquery)."""
    return (
        select(Person.telegram_id)
        .join(ManagerLink, ManagerLink.person_id == Person.id)
        .join(Cooperative, Cooperative.id == ManagerLink.cooperative_id)
        .where(Cooperative.kecamatan_id.in_(list(kecamatan_ids)))
    )


async def inbound_rows(
    session: AsyncSession, start: datetime, end: datetime, kecamatan_ids: Collection[int] | None,
    page: int = PAGE,
) -> AsyncIterator[RowMapping]:
    """Inbound updates received in [start, end), oldest first (people in scope only, if given)."""
    table = InboundUpdate.__table__
    columns = [c for c in table.c if c.name != "raw"]  # the raw JSON stays in the database
    last: tuple[datetime, int] | None = None
    while True:
        stmt = (select(*columns).where(table.c.received_at >= start, table.c.received_at < end)
                .order_by(table.c.received_at, table.c.id).limit(page))
        if kecamatan_ids is not None:
            stmt = stmt.where(table.c.user_id.in_(managers_in_scope(kecamatan_ids)))
        if last is not None:
            stmt = stmt.where(tuple_(table.c.received_at, table.c.id) > tuple_(*last))
        rows = (await session.execute(stmt)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield row
        last = (rows[-1]["received_at"], rows[-1]["id"])


async def outbound_rows(
    session: AsyncSession, start: datetime, end: datetime, kecamatan_ids: Collection[int] | None,
    page: int = PAGE,
) -> AsyncIterator[RowMapping]:
    """Outbound Bot API calls made in [start, end), oldest first (to people in scope, if given)."""
    table = OutboundCall.__table__
    last: tuple[datetime, int] | None = None
    while True:
        stmt = (select(table).where(table.c.created_at >= start, table.c.created_at < end)
                .order_by(table.c.created_at, table.c.id).limit(page))
        if kecamatan_ids is not None:
            stmt = stmt.where(table.c.chat_id.in_(managers_in_scope(kecamatan_ids)))
        if last is not None:
            stmt = stmt.where(tuple_(table.c.created_at, table.c.id) > tuple_(*last))
        rows = (await session.execute(stmt)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield row
        last = (rows[-1]["created_at"], rows[-1]["id"])
