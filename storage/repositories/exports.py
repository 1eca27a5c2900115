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
from storage.models_support import Ticket, TicketMessage, TicketState

PAGE = 1000


async def report_rows(
    session: AsyncSession, fiscal_year: int, kecamatan_ids: Collection[int] | None, page: int = PAGE
) -> AsyncIterator[tuple[dict[str, Any], RowMapping | None]]:
    """Every cooperative in scope, by kecamatan name then cooperative name, with its newest
    report revision for the year (None: not reported).

    A country has thousands of kecamatan, most with a handful of cooperatives: neighbouring
    (by name) small kecamatan are read together, up to `page` rows a query; a large one is paged
    on (name, id). Both walk the index ix_cooperatives_kecamatan_name instead of sorting.
    """
    sizes = (
        select(Kecamatan.id, func.count(Cooperative.id))
        .join(Cooperative, Cooperative.kecamatan_id == Kecamatan.id)
        .group_by(Kecamatan.id, Kecamatan.name)
        .order_by(Kecamatan.name)
    )
    if kecamatan_ids is not None:
        sizes = sizes.where(Kecamatan.id.in_(list(kecamatan_ids)))
    names = dict((await session.execute(select(Kecamatan.id, Kecamatan.name))).all())
    group: list[int] = []
    group_rows = 0
    for kecamatan_id, count in [*(await session.execute(sizes)).all(), (None, 0)]:
        if group and (kecamatan_id is None or group_rows + count > page):
            async for item in _coops_with_reports(session, fiscal_year, group, names, page):
                yield item
            group, group_rows = [], 0
        if kecamatan_id is not None:
            group.append(kecamatan_id)
            group_rows += count


async def _coops_with_reports(
    session: AsyncSession, fiscal_year: int, group: list[int], names: dict[int, str], page: int
) -> AsyncIterator[tuple[dict[str, Any], RowMapping | None]]:
    """The cooperatives of a run of kecamatan (in the given order), page by page, with reports."""
    coop = Cooperative.__table__
    rank = {k: i for i, k in enumerate(group)}
    last: tuple[int, str, int] | None = None
    while True:
        stmt = (select(coop).where(coop.c.kecamatan_id.in_(group))
                .order_by(coop.c.kecamatan_id, coop.c.name, coop.c.id).limit(page))
        if last is not None:
            stmt = stmt.where(tuple_(coop.c.kecamatan_id, coop.c.name, coop.c.id) > tuple_(*last))
        coops = (await session.execute(stmt)).mappings().all()
        if not coops:
            return
        reports = await _newest_reports(session, fiscal_year, [c["id"] for c in coops])
        # The database's order within a kecamatan is kept (a stable sort by kecamatan only).
        for c in sorted(coops, key=lambda c: rank[c["kecamatan_id"]]):
            yield {**c, "kecamatan_name": names[c["kecamatan_id"]]}, reports.get(c["id"])
        if len(coops) < page:
            return
        last = (coops[-1]["kecamatan_id"], coops[-1]["name"], coops[-1]["id"])


async def _newest_reports(session: AsyncSession, fiscal_year: int, ids: list[int]) -> dict[int, RowMapping]:
    """The newest revision of the year's report of each of these cooperatives."""
    report = AnnualReportRecord.__table__
    newest = (
        select(report.c.cooperative_id, func.max(report.c.revision).label("revision"))
        .where(report.c.fiscal_year == fiscal_year, report.c.cooperative_id.in_(ids))
        .group_by(report.c.cooperative_id)
        .subquery()
    )
    rows = (await session.execute(
        select(report).join(newest, and_(report.c.cooperative_id == newest.c.cooperative_id,
                                         report.c.revision == newest.c.revision))
        .where(report.c.fiscal_year == fiscal_year)
    )).mappings().all()
    return {r["cooperative_id"]: r for r in rows}


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


async def ticket_rows(
    session: AsyncSession, start: datetime, end: datetime, kecamatan_ids: Collection[int] | None,
    page: int = PAGE,
) -> AsyncIterator[RowMapping]:
    """Tickets opened in [start, end) (drafts left out), by id, with their cooperative, kecamatan,
    manager and number of messages (a scoped officer: tickets of his kecamatan only)."""
    messages = (select(func.count()).where(TicketMessage.ticket_id == Ticket.id)
                .correlate(Ticket).scalar_subquery())
    last = 0
    while True:
        stmt = (
            select(Ticket.id, Ticket.opened_at, Ticket.state, Ticket.topic, Ticket.question, Ticket.waiting_since,
                   Ticket.answered_at, Ticket.closed_at, Ticket.escalations, Ticket.manager_telegram_id,
                   Kecamatan.name.label("kecamatan"), Cooperative.name.label("cooperative"),
                   Cooperative.registration_number, Person.first_name, Person.last_name, Person.username,
                   messages.label("messages"))
            .outerjoin(Cooperative, Cooperative.id == Ticket.cooperative_id)
            .outerjoin(Kecamatan, Kecamatan.id == Ticket.kecamatan_id)
            .outerjoin(Person, Person.id == Ticket.person_id)
            .where(Ticket.opened_at >= start, Ticket.opened_at < end, Ticket.state != TicketState.DRAFT,
                   Ticket.id > last)
            .order_by(Ticket.id).limit(page)
        )
        if kecamatan_ids is not None:
            stmt = stmt.where(Ticket.kecamatan_id.in_(list(kecamatan_ids)))
        rows = (await session.execute(stmt)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield row
        last = rows[-1]["id"]
