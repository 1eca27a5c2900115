"""The annual-report campaign (SPEC 6): reminders to managers of cooperatives with no report.

From CAMPAIGN_START (15 January) until REPORT_DEADLINE (31 March) of each year, the managers of
every cooperative with no report for the last fiscal year are reminded in rounds: every 14 days
from the start, weekly in the last month before the deadline. A cooperative that submitted drops
out at once (the next round's query no longer finds it); dissolved cooperatives are never
reminded, and with CAMPAIGN_SKIP_INACTIVE those an officer marked tidak aktif by hand neither.

A round is a row (cooperative, fiscal year, round) with a unique key, inserted by one
INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING on the scheduler's tick. The insert is the
claim: whichever process inserts a row queues that cooperative's reminder in the same
transaction, the others insert nothing. A round missed while the bot was down is sent at the
next tick, as long as the season lasts (only the latest round is ever due, never a backlog).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, literal, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import Content, Recipient, enqueue
from bot.formatting import long_date
from bot.i18n import t
from storage.models import (
    AnnualReportRecord,
    Cooperative,
    CoopStatus,
    ManagerLink,
    Person,
    StatusSource,
)
from storage.models_meetings import CampaignReminder
from storage.repositories.common import insert_for

SOURCE = "report_campaign"
EVERY = timedelta(days=14)
LAST_MONTH = timedelta(days=30)
WEEKLY = timedelta(days=7)


@dataclass(frozen=True)
class Season:
    """One year's campaign: the fiscal year it asks about and its round dates."""

    fiscal_year: int
    start: date
    deadline: date
    rounds: tuple[date, ...]

    def round_on(self, today: date) -> int | None:
        """The number (0, 1, …) of the latest round due by `today`; None outside the season."""
        if not self.start <= today <= self.deadline:
            return None
        due = [i for i, d in enumerate(self.rounds) if d <= today]
        return due[-1] if due else None


def _month_day(text: str, year: int) -> date:
    month, day = (int(p) for p in text.split("-"))
    try:
        return date(year, month, day)
    except ValueError:  # 29 February in a common year
        return date(year, month, 28)


def season(year: int, *, start: str, deadline: str) -> Season:
    """The campaign of calendar year `year` (about fiscal year `year - 1`)."""
    first, last = _month_day(start, year), _month_day(deadline, year)
    rounds: list[date] = []
    day = first
    while day <= last:
        rounds.append(day)
        day += WEEKLY if day + EVERY > last - LAST_MONTH else EVERY
    return Season(year - 1, first, last, tuple(rounds))


@dataclass(frozen=True)
class TickResult:
    """What one tick did."""

    queued: int


def _missing_report(fiscal_year: int, skip_inactive: bool) -> Any:
    """SELECT of the cooperatives still owing the report, with a reachable manager."""
    reported = exists().where(AnnualReportRecord.cooperative_id == Cooperative.id,
                              AnnualReportRecord.fiscal_year == fiscal_year)
    managed = exists().where(ManagerLink.cooperative_id == Cooperative.id, ManagerLink.person_id == Person.id,
                             Person.unreachable.is_(False))
    stmt = select(Cooperative.id).where(~reported, managed, Cooperative.status != CoopStatus.DIBUBARKAN)
    if skip_inactive:
        stmt = stmt.where(~and_(Cooperative.status == CoopStatus.TIDAK_AKTIF,
                                Cooperative.status_source == StatusSource.OFFICER))
    return stmt


async def tick(session: AsyncSession, *, now: datetime, settings: Any) -> TickResult:
    """Insert this round's rows for cooperatives still owing the report; queue their reminders."""
    if not settings.campaign_enabled:
        return TickResult(0)
    today = now.astimezone(settings.tz).date()
    current = season(today.year, start=settings.campaign_start, deadline=settings.report_deadline)
    number = current.round_on(today)
    if number is None:
        return TickResult(0)
    owing = _missing_report(current.fiscal_year, settings.campaign_skip_inactive).subquery()
    stmt = (
        insert_for(session, CampaignReminder)
        .from_select(["cooperative_id", "fiscal_year", "round", "due_on", "queued_at", "recipients"],
                     select(owing.c.id, literal(current.fiscal_year), literal(number),
                            literal(current.rounds[number]), literal(now, CampaignReminder.queued_at.type),
                            literal(0)).where(true()))  # SQLite needs a WHERE before ON CONFLICT
        .on_conflict_do_nothing()
        .returning(CampaignReminder.cooperative_id)
    )
    coops = list((await session.execute(stmt)).scalars())
    if not coops:
        return TickResult(0)
    rows = await session.execute(
        select(Person.id, Person.telegram_id, Person.language)
        .join(ManagerLink, ManagerLink.person_id == Person.id)
        .where(ManagerLink.cooperative_id.in_(coops), Person.unreachable.is_(False))
        .group_by(Person.id, Person.telegram_id, Person.language)
    )
    by_lang: dict[str, list[Recipient]] = defaultdict(list)
    for person_id, telegram_id, language in rows.all():
        by_lang[language or settings.default_language].append(Recipient(telegram_id, person_id))
    for lang, recipients in sorted(by_lang.items()):
        text = t(lang, "campaign.reminder", year=current.fiscal_year,
                 deadline=long_date(current.deadline, lang))
        await enqueue(session, Content(text=text, parse_mode="HTML"), recipients,
                      source=(SOURCE, f"{current.fiscal_year}:{number}"), now=now)
    return TickResult(sum(len(r) for r in by_lang.values()))


@dataclass(frozen=True)
class CampaignState:
    """Where the campaign of one fiscal year stands (the digest and /statistik use it)."""

    fiscal_year: int
    reminded: int  # cooperatives reminded at least once
    reported_since: int  # of those, how many have reported since
    rounds: int  # rounds that went out
    last_reminded: dict[int, datetime]  # cooperative id → last reminder


async def state(session: AsyncSession, fiscal_year: int) -> CampaignState:
    """Who was reminded when, and who has reported since."""
    rows = await session.execute(
        select(CampaignReminder.cooperative_id, func.max(CampaignReminder.queued_at),
               func.count(CampaignReminder.id))
        .where(CampaignReminder.fiscal_year == fiscal_year).group_by(CampaignReminder.cooperative_id)
    )
    last = {c: at for c, at, _ in rows.all()}
    reported = 0
    if last:
        reported = (await session.execute(
            select(func.count(func.distinct(AnnualReportRecord.cooperative_id)))
            .where(AnnualReportRecord.fiscal_year == fiscal_year,
                   AnnualReportRecord.cooperative_id.in_(list(last)))
        )).scalar_one()
    rounds = (await session.execute(
        select(func.count(func.distinct(CampaignReminder.round))).where(CampaignReminder.fiscal_year == fiscal_year)
    )).scalar_one()
    return CampaignState(fiscal_year, len(last), int(reported), int(rounds), last)
