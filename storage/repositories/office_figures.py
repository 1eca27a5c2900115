"""Aggregates of tickets, meetings and the report campaign for /statistik and the digest.

Like storage/repositories/statistics.py: every figure is counted by the database (COUNT, MIN,
COUNT … FILTER), never by loading rows; the meetings listed are the few soonest ones only. A scope
of kecamatan ids filters each query; None means the whole region.

Scope rules:
- Tickets carry their cooperative's kecamatan (`tickets.kecamatan_id`); a ticket with no
  cooperative is counted only for an unscoped officer (as `bot.services.tickets.may_act`).
- A meeting concerns a scoped officer if he created it or it invited a manager of a
  cooperative in his kecamatan (an EXISTS over the invitations, which record the cooperative).
  Its answer counts are the whole meeting's: they describe the meeting, not the kecamatan.
- The campaign counts the reminded cooperatives of the scope.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AnnualReportRecord, Cooperative
from storage.models_meetings import CampaignReminder, Meeting, MeetingInvitation, MeetingState
from storage.models_support import Ticket, TicketState


async def ticket_ages(
    session: AsyncSession, kecamatan_ids: Collection[int] | None, day_ago: datetime, three_days_ago: datetime
) -> tuple[int, int, int, datetime | None, int]:
    """(waiting < 24 h, 1–3 days, > 3 days, oldest waiting_since) of the tickets waiting for an
    officer, and the answered tickets waiting for their manager — one query."""
    is_open = Ticket.state == TicketState.OPEN
    stmt = select(
        func.count().filter(is_open, Ticket.waiting_since > day_ago),
        func.count().filter(is_open, Ticket.waiting_since <= day_ago, Ticket.waiting_since > three_days_ago),
        func.count().filter(is_open, Ticket.waiting_since <= three_days_ago),
        func.min(Ticket.waiting_since).filter(is_open),
        func.count().filter(Ticket.state == TicketState.ANSWERED),
    ).where(Ticket.state.in_([TicketState.OPEN, TicketState.ANSWERED]))
    if kecamatan_ids is not None:
        stmt = stmt.where(Ticket.kecamatan_id.in_(list(kecamatan_ids)))
    fresh, days, old, oldest, answered = (await session.execute(stmt)).one()
    return int(fresh or 0), int(days or 0), int(old or 0), oldest, int(answered or 0)


async def waiting_since_before(session: AsyncSession, before: datetime, limit: int) -> tuple[int, list[Ticket]]:
    """How many tickets wait for an officer since before `before`, and the `limit` oldest."""
    where = (Ticket.state == TicketState.OPEN, Ticket.waiting_since <= before)
    count = (await session.execute(select(func.count()).select_from(Ticket).where(*where))).scalar_one()
    rows = await session.execute(select(Ticket).where(*where).order_by(Ticket.waiting_since, Ticket.id).limit(limit))
    return int(count), list(rows.scalars())


def _meetings_in_scope(officer_id: int, kecamatan_ids: Collection[int] | None) -> list[object]:
    if kecamatan_ids is None:
        return []
    invited_here = exists().where(
        MeetingInvitation.meeting_id == Meeting.id,
        MeetingInvitation.cooperative_id == Cooperative.id,
        Cooperative.kecamatan_id.in_(list(kecamatan_ids)),
    )
    return [or_(Meeting.created_by == officer_id, invited_here)]


async def upcoming_meetings(
    session: AsyncSession, now: datetime, officer_id: int, kecamatan_ids: Collection[int] | None, limit: int
) -> tuple[int, list[Meeting]]:
    """How many scheduled meetings lie ahead (in scope), and the `limit` soonest."""
    where = (Meeting.state == MeetingState.SCHEDULED, Meeting.starts_at > now,
             *_meetings_in_scope(officer_id, kecamatan_ids))
    count = (await session.execute(select(func.count()).select_from(Meeting).where(*where))).scalar_one()
    rows = await session.execute(select(Meeting).where(*where).order_by(Meeting.starts_at, Meeting.id).limit(limit))
    return int(count), list(rows.scalars())


async def campaign_progress(
    session: AsyncSession, fiscal_year: int, kecamatan_ids: Collection[int] | None
) -> tuple[int, int, int, datetime | None]:
    """(cooperatives reminded, of them reported for the year, rounds sent, last reminder)."""
    reported = exists().where(AnnualReportRecord.cooperative_id == CampaignReminder.cooperative_id,
                              AnnualReportRecord.fiscal_year == fiscal_year)
    stmt = select(
        func.count(func.distinct(CampaignReminder.cooperative_id)),
        func.count(func.distinct(case((reported, CampaignReminder.cooperative_id)))),
        func.count(func.distinct(CampaignReminder.round)),
        func.max(CampaignReminder.queued_at),
    ).where(CampaignReminder.fiscal_year == fiscal_year)
    if kecamatan_ids is not None:
        stmt = stmt.join(Cooperative, Cooperative.id == CampaignReminder.cooperative_id).where(
            Cooperative.kecamatan_id.in_(list(kecamatan_ids)))
    reminded, done, rounds, last = (await session.execute(stmt)).one()
    return int(reminded), int(done), int(rounds), last
