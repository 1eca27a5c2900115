"""Aggregates for /statistik: counted by the database, never by loading rows.

Each query returns a few rows per kecamatan (GROUP BY), however large the registry is; the
kecamatan names are joined after grouping, so the join touches one row per group. A scope of
kecamatan ids (an officer's) filters every query; None means the whole region.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AnnualReportRecord, Cooperative, CoopStatus, Kecamatan


def _in_scope(kecamatan_ids: Collection[int] | None) -> list[object]:
    return [] if kecamatan_ids is None else [Cooperative.kecamatan_id.in_(list(kecamatan_ids))]


async def status_by_kecamatan(
    session: AsyncSession, kecamatan_ids: Collection[int] | None
) -> list[tuple[int, str, CoopStatus, int]]:
    """(kecamatan id, name, status, cooperatives) for every kecamatan and status that occur."""
    grouped = (
        select(Cooperative.kecamatan_id, Cooperative.status, func.count().label("n"))
        .where(*_in_scope(kecamatan_ids))
        .group_by(Cooperative.kecamatan_id, Cooperative.status)
        .subquery()
    )
    stmt = (
        select(grouped.c.kecamatan_id, Kecamatan.name, grouped.c.status, grouped.c.n)
        .join(Kecamatan, Kecamatan.id == grouped.c.kecamatan_id)
        .order_by(Kecamatan.name)
    )
    return [(k, name, CoopStatus(s), int(n)) for k, name, s, n in (await session.execute(stmt)).all()]


def expected_to_report(fiscal_year: int) -> object:
    """Who owes a report for a fiscal year: not dissolved, and incorporated by its end."""
    return and_(
        Cooperative.status != CoopStatus.DIBUBARKAN,
        or_(Cooperative.incorporated_on.is_(None), Cooperative.incorporated_on <= date(fiscal_year, 12, 31)),
    )


async def reports_by_kecamatan(
    session: AsyncSession, fiscal_year: int, kecamatan_ids: Collection[int] | None
) -> list[tuple[int, str, int, int]]:
    """(kecamatan id, name, expected, received) for a fiscal year, per kecamatan.

    Received counts the expected cooperatives with a report for the year, so it never exceeds
    expected (a dissolved cooperative's late report is not counted). Two plain aggregates, each
    easy for both planners: expected from the covering index ix_cooperatives_kecamatan_status,
    received driven by the year's reports.
    """
    owes = expected_to_report(fiscal_year)
    expected = (
        select(Cooperative.kecamatan_id, func.count().label("n"))
        .where(owes, *_in_scope(kecamatan_ids))
        .group_by(Cooperative.kecamatan_id)
        .subquery()
    )
    received = (
        select(Cooperative.kecamatan_id, func.count(func.distinct(AnnualReportRecord.cooperative_id)))
        .join(Cooperative, Cooperative.id == AnnualReportRecord.cooperative_id)
        .where(AnnualReportRecord.fiscal_year == fiscal_year, owes, *_in_scope(kecamatan_ids))
        .group_by(Cooperative.kecamatan_id)
    )
    got = {k: int(n) for k, n in (await session.execute(received)).all()}
    stmt = (
        select(expected.c.kecamatan_id, Kecamatan.name, expected.c.n)
        .join(Kecamatan, Kecamatan.id == expected.c.kecamatan_id)
        .order_by(Kecamatan.name)
    )
    return [(k, name, int(n), got.get(k, 0)) for k, name, n in (await session.execute(stmt)).all()]


async def reports_per_year(
    session: AsyncSession, years: Collection[int], kecamatan_ids: Collection[int] | None
) -> dict[int, int]:
    """How many cooperatives (in scope) reported for each of the given fiscal years."""
    stmt = (
        select(AnnualReportRecord.fiscal_year, func.count(func.distinct(AnnualReportRecord.cooperative_id)))
        .where(AnnualReportRecord.fiscal_year.in_(list(years)))
        .group_by(AnnualReportRecord.fiscal_year)
    )
    if kecamatan_ids is not None:
        stmt = stmt.join(Cooperative, Cooperative.id == AnnualReportRecord.cooperative_id).where(
            Cooperative.kecamatan_id.in_(list(kecamatan_ids))
        )
    found = {year: int(n) for year, n in (await session.execute(stmt)).all()}
    return {year: found.get(year, 0) for year in years}
