"""Meetings (SPEC 6): compose, invite, RSVP, change, cancel — no Telegram types here.

Everything sent to invitees goes through the outbox (`bot.delivery`), written in the caller's
transaction: invitations, change and cancellation notices exist exactly when the meeting's own
change committed. Messages are rendered per language (one outbox batch per language), the
buttons as Telegram's JSON. Each invitation carries the calendar file (`bot.services.ics`).

RSVP button data is ``rsvp:<meeting id>:<h|t|m>``. It names no person: the answer is stored
for whoever pressed it, and only if he is invited, so a forged button changes nothing.
"""

from __future__ import annotations

import enum
import html
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import Content, Recipient, enqueue
from bot.formatting import local_datetime
from bot.i18n import t
from bot.services import ics
from bot.services.audience import Audience
from bot.services.audit import audit
from bot.services.roles import Identity
from storage.models_meetings import Answer, Meeting, MeetingKind, MeetingState
from storage.repositories import meetings as repo

SOURCE_INVITE = "meeting"
SOURCE_REMINDER = "meeting_reminder"
ANSWER_CODES = {"h": Answer.HADIR, "t": Answer.TIDAK, "m": Answer.MUNGKIN}
CODES = {a: c for c, a in ANSWER_CODES.items()}


class RsvpResult(enum.StrEnum):
    """What became of an RSVP button press."""

    SAVED = "saved"
    NOT_INVITED = "not_invited"
    STARTED = "started"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class MeetingSummary:
    """An officer's view of one meeting: answer counts and who has not answered."""

    meeting: Meeting
    counts: dict[str | None, int]
    missing: list[str]

    @property
    def invited(self) -> int:
        """Everyone invited."""
        return sum(self.counts.values())


# --- composing ------------------------------------------------------------------------------


async def new_draft(session: AsyncSession, officer_id: int, chat_id: int, offsets: Sequence[timedelta]) -> Meeting:
    """A new meeting draft with the default reminder offsets."""
    meeting = Meeting(created_by=officer_id, chat_id=chat_id, state=MeetingState.DRAFT,
                      offsets=[int(o.total_seconds()) for o in offsets])
    session.add(meeting)
    await session.flush()
    return meeting


async def draft_for(session: AsyncSession, meeting_id: int, officer_id: int) -> Meeting | None:
    """The officer's own draft with this id (None: stale, sent, or someone else's)."""
    meeting = await repo.get(session, meeting_id)
    if meeting is None or meeting.created_by != officer_id or meeting.state != MeetingState.DRAFT:
        return None
    return meeting


async def owned(session: AsyncSession, meeting_id: int, officer_id: int, identity: Identity) -> Meeting | None:
    """A sent meeting the officer may change: his own (an admin: any)."""
    meeting = await repo.get(session, meeting_id)
    if meeting is None or meeting.state == MeetingState.DRAFT:
        return None
    if meeting.created_by != officer_id and identity.scope is not None:
        return None
    return meeting


async def invitee_count(session: AsyncSession, audience: Audience, identity: Identity) -> int:
    """Exactly how many people the invitation would reach."""
    return len(await repo.invitees(session, audience.cooperatives(identity.scope_list)))


# --- rendering ------------------------------------------------------------------------------


def kind_label(kind: str | None, lang: str) -> str:
    """'Rapat koordinasi (rakor)' etc."""
    return t(lang, f"meeting.kind_{kind or MeetingKind.LAINNYA.value}")


def details(meeting: Meeting, lang: str, tz: ZoneInfo) -> str:
    """The meeting's block of HTML: title, kind, time, place, description."""
    assert meeting.starts_at is not None
    lines = [
        t(lang, "meeting.line_title", title=html.escape(meeting.title or ""), kind=kind_label(meeting.kind, lang)),
        t(lang, "meeting.line_when", when=local_datetime(meeting.starts_at, lang, tz)),
        t(lang, "meeting.line_place", place=html.escape(meeting.place or "")),
    ]
    if meeting.description:
        lines.append(html.escape(meeting.description))
    return "\n".join(lines)


def rsvp_buttons(meeting_id: int, lang: str, current: str | None = None) -> list[list[dict[str, Any]]]:
    """Hadir / Tidak hadir / Mungkin, the current answer ticked."""
    row = []
    for answer in (Answer.HADIR, Answer.TIDAK, Answer.MUNGKIN):
        label = t(lang, f"meeting.answer_{answer.value}")
        row.append({"text": ("✅ " if answer == current else "") + label,
                    "callback_data": f"rsvp:{meeting_id}:{CODES[answer]}"})
    return [row]


async def _to_invitees(
    session: AsyncSession, meeting: Meeting, people: Sequence[tuple[int, int, str | None]], *,
    key: str, default_lang: str, tz: ZoneInfo, now: datetime, source: str, buttons: bool,
    attach: bool, cancelled: bool = False, extra: dict[str, Any] | None = None,
) -> list[int]:
    """One outbox batch per language: the message under `key`, the meeting's details, buttons."""
    by_lang: dict[str, list[Recipient]] = defaultdict(list)
    for person_id, telegram_id, language in people:
        by_lang[language or default_lang].append(Recipient(telegram_id, person_id))
    file = (ics.file_name(meeting), ics.calendar_file(meeting, tz, now=now, cancelled=cancelled)) if attach else None
    batches = []
    for lang, recipients in sorted(by_lang.items()):
        text = t(lang, key, details=details(meeting, lang, tz), **(extra or {}))
        content = Content(text=text, parse_mode="HTML", attachment=file,
                          buttons=rsvp_buttons(meeting.id, lang) if buttons else None)
        batches.append(await enqueue(session, content, recipients, source=(source, meeting.id),
                                     created_by=meeting.created_by, now=now))
    return batches


# --- sending, answering, changing -------------------------------------------------------------


async def send(session: AsyncSession, meeting: Meeting, *, identity: Identity, default_lang: str,
               tz: ZoneInfo, now: datetime) -> int:
    """Kirim: invitations and stored reminders for the audience (resolved now); returns invitees."""
    assert meeting.audience is not None and meeting.starts_at is not None
    if meeting.starts_at <= now:
        raise ValueError("the meeting has begun")
    audience = Audience.from_json(meeting.audience)
    people = await repo.invitees(session, audience.cooperatives(identity.scope_list))
    if not people:
        return 0
    offsets = [o for o in meeting.offsets if meeting.starts_at - timedelta(seconds=o) > now]
    await repo.add_invitations(session, meeting.id, people, offsets, meeting.starts_at, now)
    meeting.state, meeting.sent_at = MeetingState.SCHEDULED.value, now
    await _to_invitees(session, meeting, [(p.person_id, p.telegram_id, p.language) for p in people],
                       key="meeting.invitation", default_lang=default_lang, tz=tz, now=now,
                       source=SOURCE_INVITE, buttons=True, attach=True)
    await audit(session, "meeting_created", actor=meeting.created_by, subject_type="meeting",
                subject_id=meeting.id, title=meeting.title, starts_at=meeting.starts_at.isoformat(),
                invitees=len(people), offsets=offsets)
    return len(people)


async def answer(session: AsyncSession, meeting_id: int, person_id: int | None, code: str,
                 now: datetime) -> tuple[RsvpResult, Meeting | None]:
    """Store a manager's RSVP if he is invited and the meeting is still ahead."""
    meeting = await repo.get(session, meeting_id)
    if meeting is None or person_id is None or code not in ANSWER_CODES or meeting.state == MeetingState.DRAFT:
        return RsvpResult.NOT_INVITED, None
    invitation = await repo.invitation(session, meeting_id, person_id)
    if invitation is None:
        return RsvpResult.NOT_INVITED, None
    if meeting.state == MeetingState.CANCELLED:
        return RsvpResult.CANCELLED, meeting
    assert meeting.starts_at is not None
    if meeting.starts_at <= now:
        return RsvpResult.STARTED, meeting
    value = ANSWER_CODES[code].value
    invitation.answer, invitation.answered_at = value, now
    await repo.set_reminders_for_answer(session, meeting_id, person_id, value, now)
    return RsvpResult.SAVED, meeting


async def change(session: AsyncSession, meeting: Meeting, *, actor: int, starts_at: datetime | None = None,
                 place: str | None = None, default_lang: str, tz: ZoneInfo, now: datetime) -> int:
    """A new time or place: every invitee told what changed (with the updated calendar file),
    reminders moved. Returns the number of invitees told."""
    assert meeting.starts_at is not None
    before = {"starts_at": meeting.starts_at.isoformat(), "place": meeting.place}
    old_when, old_place = meeting.starts_at, meeting.place
    if starts_at is not None:
        meeting.starts_at = starts_at
        await repo.move_reminders(session, meeting.id, starts_at, now)
    if place is not None:
        meeting.place = place
    meeting.sequence += 1
    meeting.changed_at, meeting.editing = now, None
    people = await repo.invited_people(session, meeting.id)
    was = []
    if starts_at is not None:
        was.append(("when", old_when))
    if place is not None:
        was.append(("place", old_place))
    await _to_invitees(session, meeting, people, key="meeting.changed", default_lang=default_lang,
                       tz=tz, now=now, source=SOURCE_INVITE, buttons=True, attach=True,
                       extra={"before": _before(was, default_lang, tz)})
    await audit(session, "meeting_changed", actor=actor, subject_type="meeting", subject_id=meeting.id,
                before=before, after={"starts_at": meeting.starts_at.isoformat(), "place": meeting.place})
    return len(people)


def _before(was: list[tuple[str, Any]], lang: str, tz: ZoneInfo) -> str:
    parts = []
    for what, value in was:
        if what == "when":
            parts.append(local_datetime(value, lang, tz))
        else:
            parts.append(html.escape(value or ""))
    return " · ".join(parts)


async def cancel(session: AsyncSession, meeting: Meeting, *, actor: int, default_lang: str,
                 tz: ZoneInfo, now: datetime) -> int:
    """Cancel: reminders dropped, every invitee told (with a cancelling calendar file)."""
    meeting.state, meeting.cancelled_at, meeting.editing = MeetingState.CANCELLED.value, now, None
    meeting.sequence += 1
    dropped = await repo.drop_reminders(session, meeting.id, "cancelled")
    people = await repo.invited_people(session, meeting.id)
    await _to_invitees(session, meeting, people, key="meeting.cancelled_notice", default_lang=default_lang,
                       tz=tz, now=now, source=SOURCE_INVITE, buttons=False, attach=True, cancelled=True)
    await audit(session, "meeting_cancelled", actor=actor, subject_type="meeting", subject_id=meeting.id,
                invitees=len(people), reminders_dropped=dropped)
    return len(people)


# --- lists ----------------------------------------------------------------------------------


async def for_manager(session: AsyncSession, person_id: int, now: datetime) -> list[tuple[Meeting, str | None]]:
    """Upcoming meetings a manager is invited to, with his answer."""
    return [(m, i.answer) for m, i in await repo.upcoming_for_person(session, person_id, now)]


async def for_officer(session: AsyncSession, officer_id: int, identity: Identity, now: datetime,
                      *, until: datetime | None = None) -> list[MeetingSummary]:
    """Upcoming meetings of an officer (an unscoped officer or admin: all), with answer counts."""
    created_by = None if identity.scope is None else officer_id
    meetings = await repo.upcoming(session, now, until=until, created_by=created_by)
    counts = await repo.answer_counts(session, [m.id for m in meetings])
    return [MeetingSummary(m, counts[m.id], await repo.not_answered(session, m.id)) for m in meetings]
