"""Meetings, invitations and stored reminders (SPEC 6). Never commits.

Bulk writes are Core statements: a meeting for a whole regency has thousands of invitees and
three reminders each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Cooperative, ManagerLink, Person
from storage.models_meetings import (
    Answer,
    Meeting,
    MeetingInvitation,
    MeetingReminder,
    MeetingState,
    ReminderState,
)
from storage.repositories.common import insert_for

_CHUNK = 2000
_REM = MeetingReminder.__table__


@dataclass(frozen=True)
class Invitee:
    """A reachable manager of the audience, once, with one of his cooperatives."""

    person_id: int
    telegram_id: int
    language: str | None
    cooperative_id: int


@dataclass(frozen=True)
class DueReminder:
    """A reminder claimed for the outbox."""

    id: int
    meeting_id: int
    person_id: int
    offset_seconds: int
    due_at: datetime


async def invitees(session: AsyncSession, coops: Select[Any]) -> list[Invitee]:
    """Every reachable manager of those cooperatives, once, by person id."""
    stmt = (
        select(Person.id, Person.telegram_id, Person.language, func.min(ManagerLink.cooperative_id))
        .join(ManagerLink, ManagerLink.person_id == Person.id)
        .where(ManagerLink.cooperative_id.in_(coops), Person.unreachable.is_(False))
        .group_by(Person.id, Person.telegram_id, Person.language)
        .order_by(Person.id)
    )
    return [Invitee(*row) for row in (await session.execute(stmt)).all()]


async def add_invitations(
    session: AsyncSession, meeting_id: int, people: Sequence[Invitee], offsets: Sequence[int],
    starts_at: datetime, now: datetime,
) -> None:
    """One invitation per invitee and one pending reminder per invitee and offset."""
    for start in range(0, len(people), _CHUNK):
        chunk = people[start:start + _CHUNK]
        await session.execute(insert_for(session, MeetingInvitation), [
            {"meeting_id": meeting_id, "person_id": p.person_id, "cooperative_id": p.cooperative_id,
             "created_at": now} for p in chunk
        ])
        rows = [
            {"meeting_id": meeting_id, "person_id": p.person_id, "offset_seconds": offset,
             "due_at": starts_at - _seconds(offset), "state": ReminderState.PENDING.value}
            for p in chunk for offset in offsets
        ]
        if rows:
            await session.execute(insert_for(session, MeetingReminder).on_conflict_do_nothing(), rows)


def _seconds(value: int) -> timedelta:
    return timedelta(seconds=value)


async def get(session: AsyncSession, meeting_id: int, *, lock: bool = False) -> Meeting | None:
    """A meeting by id."""
    stmt = select(Meeting).where(Meeting.id == meeting_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_draft(session: AsyncSession, officer_id: int) -> Meeting | None:
    """The officer's newest meeting still being composed."""
    stmt = (select(Meeting).where(Meeting.created_by == officer_id, Meeting.state == MeetingState.DRAFT)
            .order_by(Meeting.id.desc()).limit(1))
    return (await session.execute(stmt)).scalar_one_or_none()


async def being_edited(session: AsyncSession, officer_id: int) -> Meeting | None:
    """The officer's meeting whose time or place he is changing."""
    stmt = (select(Meeting).where(Meeting.created_by == officer_id, Meeting.editing.is_not(None),
                                  Meeting.state == MeetingState.SCHEDULED)
            .order_by(Meeting.changed_at.desc().nulls_last(), Meeting.id.desc()).limit(1))
    return (await session.execute(stmt)).scalar_one_or_none()


async def invitation(session: AsyncSession, meeting_id: int, person_id: int) -> MeetingInvitation | None:
    """One person's invitation to one meeting."""
    stmt = select(MeetingInvitation).where(MeetingInvitation.meeting_id == meeting_id,
                                           MeetingInvitation.person_id == person_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def invited_people(session: AsyncSession, meeting_id: int) -> list[tuple[int, int, str | None]]:
    """(person id, telegram id, language) of every invitee."""
    stmt = (select(Person.id, Person.telegram_id, Person.language)
            .join(MeetingInvitation, MeetingInvitation.person_id == Person.id)
            .where(MeetingInvitation.meeting_id == meeting_id).order_by(Person.id))
    return [tuple(row) for row in (await session.execute(stmt)).all()]  # type: ignore[misc]


async def upcoming_for_person(session: AsyncSession, person_id: int, now: datetime) -> list[tuple[Meeting, MeetingInvitation]]:
    """Scheduled meetings not yet begun that the person is invited to, soonest first."""
    stmt = (select(Meeting, MeetingInvitation)
            .join(MeetingInvitation, MeetingInvitation.meeting_id == Meeting.id)
            .where(MeetingInvitation.person_id == person_id, Meeting.state == MeetingState.SCHEDULED,
                   Meeting.starts_at > now)
            .order_by(Meeting.starts_at))
    return [(m, i) for m, i in (await session.execute(stmt)).all()]


async def upcoming(session: AsyncSession, now: datetime, *, until: datetime | None = None,
                   created_by: int | None = None) -> list[Meeting]:
    """Scheduled meetings not yet begun (of one officer, or before `until`), soonest first."""
    stmt = select(Meeting).where(Meeting.state == MeetingState.SCHEDULED, Meeting.starts_at > now)
    if until is not None:
        stmt = stmt.where(Meeting.starts_at <= until)
    if created_by is not None:
        stmt = stmt.where(Meeting.created_by == created_by)
    return list((await session.execute(stmt.order_by(Meeting.starts_at))).scalars())


async def answer_counts(session: AsyncSession, meeting_ids: Sequence[int]) -> dict[int, dict[str | None, int]]:
    """Per meeting: how many invitees answered what (None: not yet)."""
    rows = await session.execute(
        select(MeetingInvitation.meeting_id, MeetingInvitation.answer, func.count())
        .where(MeetingInvitation.meeting_id.in_(list(meeting_ids)))
        .group_by(MeetingInvitation.meeting_id, MeetingInvitation.answer)
    )
    counts: dict[int, dict[str | None, int]] = {m: {} for m in meeting_ids}
    for meeting_id, answer, n in rows.all():
        counts[meeting_id][answer] = int(n)
    return counts


async def not_answered(session: AsyncSession, meeting_id: int, limit: int = 20) -> list[str]:
    """Names of cooperatives whose invited manager has not answered (first `limit`)."""
    rows = await session.execute(
        select(Cooperative.name).join(MeetingInvitation, MeetingInvitation.cooperative_id == Cooperative.id)
        .where(MeetingInvitation.meeting_id == meeting_id, MeetingInvitation.answer.is_(None))
        .order_by(Cooperative.name).limit(limit)
    )
    return list(rows.scalars())


# --- reminders ----------------------------------------------------------------------------------


async def set_reminders_for_answer(session: AsyncSession, meeting_id: int, person_id: int,
                                   answer: str, now: datetime) -> None:
    """Tidak hadir drops his pending reminders; another answer brings back those still ahead."""
    mine = and_(MeetingReminder.meeting_id == meeting_id, MeetingReminder.person_id == person_id)
    if answer == Answer.TIDAK:
        await session.execute(update(MeetingReminder).where(mine, MeetingReminder.state == ReminderState.PENDING)
                              .values(state=ReminderState.DROPPED.value, dropped_reason="declined"))
    else:
        await session.execute(update(MeetingReminder).where(
            mine, MeetingReminder.state == ReminderState.DROPPED,
            MeetingReminder.dropped_reason == "declined", MeetingReminder.due_at > now,
        ).values(state=ReminderState.PENDING.value, dropped_reason=None))


async def move_reminders(session: AsyncSession, meeting_id: int, starts_at: datetime, now: datetime) -> int:
    """The meeting moved: pending reminders follow; those now already due are dropped (the change
    notice itself tells the invitee); returns how many were dropped."""
    rows = await session.execute(
        select(_REM.c.offset_seconds).where(
            _REM.c.meeting_id == meeting_id, _REM.c.state == ReminderState.PENDING.value).distinct()
    )
    dropped = 0
    for offset in list(rows.scalars()):
        due = starts_at - _seconds(offset)
        values: dict[str, Any] = {"due_at": due}
        if due <= now:
            values.update(state=ReminderState.DROPPED.value, dropped_reason="passed_at_change")
        result = await session.execute(
            update(MeetingReminder).where(MeetingReminder.meeting_id == meeting_id,
                                          MeetingReminder.offset_seconds == offset,
                                          MeetingReminder.state == ReminderState.PENDING).values(**values))
        if due <= now:
            dropped += result.rowcount or 0
    return dropped


async def drop_reminders(session: AsyncSession, meeting_id: int, reason: str) -> int:
    """Drop every pending reminder of a meeting; returns how many."""
    result = await session.execute(
        update(MeetingReminder).where(MeetingReminder.meeting_id == meeting_id,
                                      MeetingReminder.state == ReminderState.PENDING)
        .values(state=ReminderState.DROPPED.value, dropped_reason=reason))
    return result.rowcount or 0


async def drop_stale(session: AsyncSession, now: datetime) -> list[tuple[int, str, int]]:
    """Drop pending reminders that must never go out: the meeting began or was cancelled, or the
    invitee declined. Returns (meeting id, reason, count) for the log."""
    began = select(Meeting.id).where(Meeting.state == MeetingState.SCHEDULED, Meeting.starts_at <= now)
    cancelled = select(Meeting.id).where(Meeting.state == MeetingState.CANCELLED)
    declined = exists().where(MeetingInvitation.meeting_id == _REM.c.meeting_id,
                              MeetingInvitation.person_id == _REM.c.person_id,
                              MeetingInvitation.answer == Answer.TIDAK.value)
    found: list[tuple[int, str, int]] = []
    for reason, condition in (("meeting_began", _REM.c.meeting_id.in_(began)),
                              ("cancelled", _REM.c.meeting_id.in_(cancelled)),
                              ("declined", declined)):
        rows = await session.execute(
            update(_REM).where(_REM.c.state == ReminderState.PENDING.value, condition)
            .values(state=ReminderState.DROPPED.value, dropped_reason=reason)
            .returning(_REM.c.meeting_id)
        )
        per: dict[int, int] = {}
        for (meeting_id,) in rows.all():
            per[meeting_id] = per.get(meeting_id, 0) + 1
        found += [(m, reason, n) for m, n in per.items()]
    return found


async def claim_due(session: AsyncSession, now: datetime, limit: int, *, skip_locked: bool) -> list[DueReminder]:
    """Mark up to `limit` due pending reminders `queued` and return them.

    The UPDATE re-checks `state = pending`, so of two processes claiming at once only one gets a
    row; on PostgreSQL the candidates are locked with FOR UPDATE SKIP LOCKED in a materialized
    CTE (as the outbox's claim), so concurrent claims take disjoint rows without waiting.
    """
    candidates = (select(_REM.c.id).where(_REM.c.state == ReminderState.PENDING.value, _REM.c.due_at <= now)
                  .order_by(_REM.c.due_at, _REM.c.id).limit(limit))
    if skip_locked:
        due = candidates.with_for_update(skip_locked=True).cte("due").prefix_with("MATERIALIZED")
        chosen = _REM.c.id == due.c.id
    else:
        chosen = _REM.c.id.in_(candidates)
    rows = await session.execute(
        update(_REM).where(chosen, _REM.c.state == ReminderState.PENDING.value)
        .values(state=ReminderState.QUEUED.value, queued_at=now)
        .returning(_REM.c.id, _REM.c.meeting_id, _REM.c.person_id, _REM.c.offset_seconds, _REM.c.due_at)
    )
    return sorted((DueReminder(*row) for row in rows.all()), key=lambda r: r.id)


async def set_batch(session: AsyncSession, reminder_ids: Sequence[int], batch_id: int) -> None:
    """Remember which outbox batch carried these reminders."""
    await session.execute(update(MeetingReminder).where(MeetingReminder.id.in_(list(reminder_ids)))
                          .values(outbox_batch_id=batch_id))


async def people(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[int, str | None]]:
    """telegram id and language by person id."""
    rows = await session.execute(select(Person.id, Person.telegram_id, Person.language)
                                 .where(Person.id.in_(list(ids))))
    return {i: (t, lang) for i, t, lang in rows.all()}
