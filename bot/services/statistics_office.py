"""The /statistik sections of the office's work: tickets, meetings, the report campaign.

Registered like the built-ins (bot/services/statistics_sections.py), after the registry and
the reports and before the broadcasts: tickets (30), upcoming meetings (40), the campaign (50).
Figures come from storage/repositories/office_figures.py (aggregates; see its scope rules).

- Tickets: those waiting for an officer, by how long they wait (`waiting_since`: opened, or the
  manager wrote again) in three buckets — under 24 hours, 1–3 days, over 3 days — the oldest
  one's age, and the answered ones waiting for their manager.
- Meetings: how many scheduled ones lie ahead, the UPCOMING_LISTED soonest with their answers
  (Hadir / Tidak / Mungkin / not yet).
- Campaign: of the query's fiscal year (the same year as the reports section), cooperatives
  reminded, how many have reported since, rounds sent, the last reminder's date.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.formatting import local_datetime, long_date, number
from bot.i18n import t
from bot.services.statistics import Section, StatsQuery, register_section
from bot.services.statistics_sections import percent
from storage.repositories import meetings as meetings_repo
from storage.repositories import office_figures as repo

UPCOMING_LISTED = 5
DAY = timedelta(hours=24)
THREE_DAYS = timedelta(days=3)


def age_text(since: datetime, now: datetime, lang: str) -> str:
    """'5 jam' under two days, '3 hari' from then on."""
    hours = max(0, int((now - since).total_seconds() // 3600))
    return t(lang, "ticket.age_days", n=hours // 24) if hours >= 48 else t(lang, "ticket.age_hours", n=hours)


# --- tickets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketFigures:
    """Tickets waiting for an officer by age, and answered ones waiting for the manager."""

    under_day: int
    one_to_three_days: int
    over_three_days: int
    oldest_since: datetime | None
    answered: int

    @property
    def waiting(self) -> int:
        """All tickets waiting for an officer."""
        return self.under_day + self.one_to_three_days + self.over_three_days


async def provide_tickets(session: AsyncSession, query: StatsQuery) -> TicketFigures:
    """Count the open tickets of the scope by age."""
    return TicketFigures(*await repo.ticket_ages(
        session, query.scope.kecamatan_ids, query.now - DAY, query.now - THREE_DAYS))


def render_tickets(data: TicketFigures, query: StatsQuery, lang: str) -> list[str]:
    """The count, the buckets and the oldest."""
    lines = [t(lang, "stats_office.tickets", waiting=number(data.waiting, lang),
               answered=number(data.answered, lang))]
    if data.waiting and data.oldest_since is not None:
        lines.append(t(lang, "stats_office.tickets_ages", fresh=number(data.under_day, lang),
                       days=number(data.one_to_three_days, lang), old=number(data.over_three_days, lang)))
        lines.append(t(lang, "stats_office.tickets_oldest", age=age_text(data.oldest_since, query.now, lang)))
    return lines


# --- upcoming meetings -----------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingAnswers:
    """One upcoming meeting and its invitees' answers so far."""

    meeting_id: int
    title: str
    starts_at: datetime
    hadir: int
    tidak: int
    mungkin: int
    unanswered: int

    @property
    def invited(self) -> int:
        """Everyone invited."""
        return self.hadir + self.tidak + self.mungkin + self.unanswered


@dataclass(frozen=True)
class MeetingFigures:
    """How many meetings lie ahead, and the soonest with answers."""

    upcoming: int
    soonest: list[MeetingAnswers]


async def provide_meetings(session: AsyncSession, query: StatsQuery) -> MeetingFigures:
    """The scope's upcoming meetings and the answer counts of the soonest."""
    count, meetings = await repo.upcoming_meetings(
        session, query.now, query.officer_id, query.scope.kecamatan_ids, UPCOMING_LISTED)
    counts = await meetings_repo.answer_counts(session, [m.id for m in meetings])
    return MeetingFigures(count, [
        MeetingAnswers(m.id, m.title or "", m.starts_at, counts[m.id].get("hadir", 0), counts[m.id].get("tidak", 0),
                       counts[m.id].get("mungkin", 0), counts[m.id].get(None, 0))
        for m in meetings if m.starts_at is not None
    ])


def render_meetings(data: MeetingFigures, query: StatsQuery, lang: str) -> list[str]:
    """The count and one line per soonest meeting."""
    lines = [t(lang, "stats_office.meetings", count=number(data.upcoming, lang))]
    for m in data.soonest:
        lines.append(t(lang, "stats_office.meeting_line", title=html.escape(m.title),
                       when=local_datetime(m.starts_at, lang, query.tz), hadir=number(m.hadir, lang),
                       tidak=number(m.tidak, lang), mungkin=number(m.mungkin, lang),
                       none=number(m.unanswered, lang)))
    if data.upcoming > len(data.soonest):
        lines.append(t(lang, "stats_office.meetings_more", count=number(data.upcoming - len(data.soonest), lang)))
    return lines


# --- the report campaign ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignFigures:
    """The report campaign of one fiscal year within the scope."""

    fiscal_year: int
    reminded: int
    reported_since: int
    rounds: int
    last_reminder: datetime | None


async def provide_campaign(session: AsyncSession, query: StatsQuery) -> CampaignFigures:
    """Count the reminded cooperatives of the scope and those that reported since."""
    return CampaignFigures(query.fiscal_year,
                           *await repo.campaign_progress(session, query.fiscal_year, query.scope.kecamatan_ids))


def render_campaign(data: CampaignFigures, query: StatsQuery, lang: str) -> list[str]:
    """Reminded, reported since, rounds; or that none went out."""
    if not data.reminded:
        return [t(lang, "stats_office.campaign_none", year=data.fiscal_year)]
    last = long_date(data.last_reminder.astimezone(query.tz).date(), lang) if data.last_reminder else "–"
    return [t(lang, "stats_office.campaign", year=data.fiscal_year, reminded=number(data.reminded, lang),
              reported=number(data.reported_since, lang),
              percent=percent(data.reported_since, data.reminded, lang),
              rounds=number(data.rounds, lang), last=last)]


register_section(Section("tickets", 30, provide_tickets, render_tickets))
register_section(Section("meetings", 40, provide_meetings, render_meetings))
register_section(Section("campaign", 50, provide_campaign, render_campaign))
