"""Annual reports: drafts being filled in and submitted revisions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AnnualReportRecord, Cooperative, ReportDraft


async def get_draft(session: AsyncSession, draft_id: int) -> ReportDraft | None:
    """The draft with this id."""
    return await session.get(ReportDraft, draft_id)


async def find_draft(session: AsyncSession, person_id: int, cooperative_id: int, fiscal_year: int) -> ReportDraft | None:
    """This person's draft for this cooperative and year."""
    stmt = select(ReportDraft).where(
        ReportDraft.person_id == person_id,
        ReportDraft.cooperative_id == cooperative_id,
        ReportDraft.fiscal_year == fiscal_year,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_draft(session: AsyncSession, person_id: int) -> ReportDraft | None:
    """The draft this person touched last, if any."""
    stmt = (
        select(ReportDraft)
        .where(ReportDraft.person_id == person_id)
        .order_by(ReportDraft.updated_at.desc(), ReportDraft.id.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def new_draft(
    session: AsyncSession, *, person_id: int, cooperative_id: int, fiscal_year: int, first_field: str
) -> ReportDraft:
    """Start a draft at its first question."""
    draft = ReportDraft(person_id=person_id, cooperative_id=cooperative_id, fiscal_year=fiscal_year,
                        answers={}, current_field=first_field)
    session.add(draft)
    await session.flush()
    return draft


async def delete_draft(session: AsyncSession, draft_id: int) -> None:
    """Forget a draft (after submission, or to start again)."""
    await session.execute(delete(ReportDraft).where(ReportDraft.id == draft_id))


async def latest_report(session: AsyncSession, cooperative_id: int, fiscal_year: int) -> AnnualReportRecord | None:
    """The newest revision of a cooperative's report for one year."""
    stmt = (
        select(AnnualReportRecord)
        .where(AnnualReportRecord.cooperative_id == cooperative_id, AnnualReportRecord.fiscal_year == fiscal_year)
        .order_by(AnnualReportRecord.revision.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_cooperative(session: AsyncSession, cooperative_id: int) -> None:
    """Take the cooperative's row lock (PostgreSQL) / the write lock (SQLite) before numbering.

    Two managers of one cooperative may submit the same year at the same moment from different
    chats; whoever locks second reads the first one's revision instead of the same number.
    """
    await session.execute(
        update(Cooperative).where(Cooperative.id == cooperative_id).values(id=Cooperative.id)
    )


async def next_revision(session: AsyncSession, cooperative_id: int, fiscal_year: int) -> int:
    """1 for a first report of the year, else one more than the last revision."""
    stmt = select(func.max(AnnualReportRecord.revision)).where(
        AnnualReportRecord.cooperative_id == cooperative_id, AnnualReportRecord.fiscal_year == fiscal_year
    )
    return int((await session.execute(stmt)).scalar() or 0) + 1


async def add_report(session: AsyncSession, **fields: Any) -> AnnualReportRecord:
    """Store a submitted report revision."""
    record = AnnualReportRecord(**fields)
    session.add(record)
    await session.flush()
    return record


async def reports_of(session: AsyncSession, cooperative_id: int) -> list[AnnualReportRecord]:
    """Every revision of a cooperative's reports, newest year and revision first."""
    stmt = (
        select(AnnualReportRecord)
        .where(AnnualReportRecord.cooperative_id == cooperative_id)
        .order_by(AnnualReportRecord.fiscal_year.desc(), AnnualReportRecord.revision.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def latest_per_year(session: AsyncSession, cooperative_ids: list[int] | None = None) -> list[AnnualReportRecord]:
    """The newest revision of each cooperative's report for each year (all, or some)."""
    newest = (
        select(AnnualReportRecord.cooperative_id, AnnualReportRecord.fiscal_year,
               func.max(AnnualReportRecord.revision).label("revision"))
        .group_by(AnnualReportRecord.cooperative_id, AnnualReportRecord.fiscal_year)
    )
    if cooperative_ids is not None:
        newest = newest.where(AnnualReportRecord.cooperative_id.in_(cooperative_ids))
    sub = newest.subquery()
    stmt = select(AnnualReportRecord).join(
        sub,
        (AnnualReportRecord.cooperative_id == sub.c.cooperative_id)
        & (AnnualReportRecord.fiscal_year == sub.c.fiscal_year)
        & (AnnualReportRecord.revision == sub.c.revision),
    )
    return list((await session.execute(stmt)).scalars())


async def derived_cooperative_ids(session: AsyncSession) -> list[int]:
    """Cooperatives whose status follows the report rule: not hand-set, and with a report.

    One that never reported through KopDesk keeps the status the registry import gave it.
    """
    reported = select(AnnualReportRecord.cooperative_id).distinct()
    stmt = select(Cooperative.id).where(
        Cooperative.status_source == "derived", Cooperative.id.in_(reported)
    )
    return list((await session.execute(stmt)).scalars())
