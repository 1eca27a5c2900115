"""The officers' daily digest (SPEC 6), at DIGEST_TIME (08:00) local time, once a day.

The local day is the primary key of `digest_runs`: the process whose INSERT … ON CONFLICT DO
NOTHING succeeds sends that day's digest, in the same transaction; restarts and other processes
insert nothing. A tick after DIGEST_TIME with no row for today sends it, so a digest missed while
the bot was down goes out at start-up.

Contents: reports submitted since the previous digest (they are no longer announced one by
one, so a busy morning does not flood the officers' chat), registration requests waiting,
meetings in the next 7 days with their answer counts, the report campaign's progress, and
tickets waiting more than 24 hours (`TICKETS_SECTION`, bot/services/tickets_digest.py).
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.limits import Lane
from bot.delivery.outbox import Content, enqueue
from bot.formatting import local_datetime, long_date
from bot.i18n import t
from bot.services import campaign, tickets_digest
from bot.textsplit import split_text
from storage.models import AnnualReportRecord, Cooperative, RegistrationRequest, RequestStatus
from storage.models_meetings import DigestRun
from storage.repositories import meetings as meetings_repo
from storage.repositories.common import insert_for

SOURCE = "officer_digest"
MAX_LISTED = 15

# Tickets waiting more than 24 hours (SPEC 5): a function returning the digest's lines for them
# (an empty list when none wait); bot/services/tickets_digest.py. None leaves the section out.
TICKETS_SECTION: Callable[[AsyncSession, datetime, str], Awaitable[list[str]]] | None = tickets_digest.digest_lines


@dataclass(frozen=True)
class TickResult:
    """What one tick did."""

    queued: int


def due(now: datetime, settings: Any) -> bool:
    """True once today's DIGEST_TIME has passed (local time); never when it is "off"."""
    if settings.digest_time == "off":
        return False
    hour, minute = (int(p) for p in settings.digest_time.split(":"))
    return now.astimezone(settings.tz).time() >= time(hour, minute)


async def build(session: AsyncSession, *, now: datetime, since: datetime, settings: Any) -> str:
    """The digest's text (HTML) in the office's language."""
    lang, tz = settings.default_language, settings.tz
    lines = [t(lang, "digest.header", day=long_date(now.astimezone(tz).date(), lang))]
    reports = (await session.execute(
        select(Cooperative.name, AnnualReportRecord.fiscal_year, AnnualReportRecord.revision)
        .join(Cooperative, Cooperative.id == AnnualReportRecord.cooperative_id)
        .where(AnnualReportRecord.submitted_at > since, AnnualReportRecord.submitted_at <= now)
        .order_by(AnnualReportRecord.submitted_at)
    )).all()
    lines.append(t(lang, "digest.reports", count=len(reports)))
    lines += [t(lang, "digest.report_line", coop=html.escape(name), year=year, revision=revision)
              for name, year, revision in reports[:MAX_LISTED]]
    if len(reports) > MAX_LISTED:
        lines.append(t(lang, "digest.more", count=len(reports) - MAX_LISTED))
    waiting = (await session.execute(
        select(func.count()).select_from(RegistrationRequest).where(RegistrationRequest.status == RequestStatus.PENDING)
    )).scalar_one()
    lines.append(t(lang, "digest.requests", count=int(waiting)))
    if TICKETS_SECTION is not None:
        lines += await TICKETS_SECTION(session, now, lang)
    upcoming = await meetings_repo.upcoming(session, now, until=now + timedelta(days=7))
    counts = await meetings_repo.answer_counts(session, [m.id for m in upcoming])
    lines.append(t(lang, "digest.meetings", count=len(upcoming)))
    for m in upcoming:
        c = counts[m.id]
        lines.append(t(lang, "digest.meeting_line", title=html.escape(m.title or ""),
                       when=local_datetime(m.starts_at, lang, tz), hadir=c.get("hadir", 0),
                       tidak=c.get("tidak", 0), mungkin=c.get("mungkin", 0), none=c.get(None, 0)))
    fiscal_year = now.astimezone(tz).year - 1
    state = await campaign.state(session, fiscal_year)
    if state.reminded:
        lines.append(t(lang, "digest.campaign", year=fiscal_year, reminded=state.reminded,
                       reported=state.reported_since, rounds=state.rounds))
    return "\n".join(lines)


async def tick(session: AsyncSession, *, now: datetime, settings: Any) -> TickResult:
    """Claim today's digest and queue it for the officers' chat, once per local day."""
    chat_id = settings.officers_chat_id or (settings.admin_ids[0] if settings.admin_ids else None)
    if chat_id is None or not due(now, settings):
        return TickResult(0)
    today = now.astimezone(settings.tz).date()
    claimed = (await session.execute(
        insert_for(session, DigestRun).values(day=today, sent_at=now).on_conflict_do_nothing()
        .returning(DigestRun.day)
    )).first()
    if claimed is None:
        return TickResult(0)
    previous = (await session.execute(
        select(func.max(DigestRun.sent_at)).where(DigestRun.day < today)
    )).scalar_one()
    since = previous or now - timedelta(days=1)
    text = await build(session, now=now, since=since, settings=settings)
    batch = None
    for part in split_text(text):
        batch = await enqueue(session, Content(text=part, parse_mode="HTML"), [chat_id],
                              source=(SOURCE, today.isoformat()), now=now, lane=Lane.NOTICE)
    run = await session.get(DigestRun, today)
    if run is not None:
        run.outbox_batch_id = batch
    return TickResult(1)
