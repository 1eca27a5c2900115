"""Meeting reminders: stored rows handed to the outbox when due (SPEC 6).

A periodic tick (`bot.tg.schedule`) calls `tick` in one transaction:

1. Pending reminders that must never go out are dropped and logged: the meeting began (the bot
   was down when they fell due), was cancelled, or the invitee answered Tidak hadir.
2. Due pending reminders are claimed — a conditional UPDATE (`state = pending`), with
   FOR UPDATE SKIP LOCKED on PostgreSQL — and queued in the outbox in the same transaction that
   marks them `queued`. Either both commit or neither: a `kill -9` before the commit leaves them
   pending for the next tick, after it they are in the outbox and never claimed again. The
   UNIQUE (meeting, person, offset) key means there is only ever one row to claim.

Reminders that fell due while the bot was down are therefore sent at the first tick after the
start, if their meeting has not begun.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import Content, Recipient, enqueue
from bot.formatting import local_datetime
from bot.i18n import t
from bot.services.meetings import SOURCE_REMINDER, details, rsvp_buttons
from storage.models_meetings import Meeting
from storage.repositories import meetings as repo

_LOG = logging.getLogger(__name__)
CLAIM = 2000


@dataclass(frozen=True)
class TickResult:
    """What one tick did."""

    queued: int
    dropped: int


def before_text(offset_seconds: int, lang: str) -> str:
    """'7 hari lagi', '2 jam lagi', '30 menit lagi' (or English)."""
    delta = timedelta(seconds=offset_seconds)
    if delta.days and not delta.seconds:
        return t(lang, "meeting.in_days", n=delta.days)
    if offset_seconds % 3600 == 0:
        return t(lang, "meeting.in_hours", n=offset_seconds // 3600)
    return t(lang, "meeting.in_minutes", n=offset_seconds // 60)


async def tick(session: AsyncSession, *, now: datetime, tz: ZoneInfo, default_lang: str,
               skip_locked: bool, limit: int = CLAIM) -> TickResult:
    """Drop what must not go out, then queue every due reminder (in the caller's transaction)."""
    dropped = 0
    for meeting_id, reason, count in await repo.drop_stale(session, now):
        dropped += count
        _LOG.info("meeting %s: %d reminder(s) dropped (%s)", meeting_id, count, reason)
    due = await repo.claim_due(session, now, limit, skip_locked=skip_locked)
    if not due:
        return TickResult(0, dropped)
    people = await repo.people(session, list({r.person_id for r in due}))
    groups: dict[tuple[int, int, str], list[tuple[int, Recipient]]] = defaultdict(list)
    for r in due:
        telegram_id, lang = people[r.person_id]
        groups[(r.meeting_id, r.offset_seconds, lang or default_lang)].append(
            (r.id, Recipient(telegram_id, r.person_id)))
    meetings: dict[int, Meeting] = {}
    for (meeting_id, offset, lang), rows in sorted(groups.items()):
        meeting = meetings.get(meeting_id) or await repo.get(session, meeting_id)
        assert meeting is not None and meeting.starts_at is not None
        meetings[meeting_id] = meeting
        text = t(lang, "meeting.reminder", before=before_text(offset, lang),
                 when=local_datetime(meeting.starts_at, lang, tz), details=details(meeting, lang, tz))
        batch = await enqueue(session, Content(text=text, parse_mode="HTML", buttons=rsvp_buttons(meeting_id, lang)),
                              [rec for _, rec in rows], source=(SOURCE_REMINDER, meeting_id),
                              created_by=meeting.created_by, now=now)
        await repo.set_batch(session, [i for i, _ in rows], batch)
    late = max((now - r.due_at).total_seconds() for r in due)
    _LOG.info("%d meeting reminder(s) queued (latest %.0fs after due)", len(due), late)
    return TickResult(len(due), dropped)
