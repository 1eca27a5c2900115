"""Tables of meetings, RSVP, reminders, the annual-report campaign and the daily digest (SPEC 6).

Kept apart from `storage.models`, which imports this module at its end (like the delivery
tables) so that `Base.metadata` always holds them.

Everything scheduled is a row with a due time and a state, compared with the one clock on a
periodic tick; a unique key per thing that may be sent once makes a second send impossible,
also across restarts and with several processes:

- `meeting_reminders`: UNIQUE (meeting, person, offset) — one reminder per offset per invitee.
- `campaign_reminders`: UNIQUE (cooperative, fiscal year, round) — the INSERT is the claim.
- `digest_runs`: the local day is the primary key — one digest a day per deployment.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import BigIntPK, JSONType, UTCDateTime, utcnow


class MeetingKind(enum.StrEnum):
    """What kind of meeting (SPEC 6)."""

    RAKOR = "rakor"
    RAT = "rat"
    PELATIHAN = "pelatihan"
    SOSIALISASI = "sosialisasi"
    LAINNYA = "lainnya"


class MeetingState(enum.StrEnum):
    """A meeting from draft to held or cancelled."""

    DRAFT = "draft"  # being composed by the officer
    SCHEDULED = "scheduled"  # invitations sent
    CANCELLED = "cancelled"


class Answer(enum.StrEnum):
    """An invitee's RSVP."""

    HADIR = "hadir"
    TIDAK = "tidak"
    MUNGKIN = "mungkin"


class ReminderState(enum.StrEnum):
    """A stored reminder: pending → queued (handed to the outbox) | dropped."""

    PENDING = "pending"
    QUEUED = "queued"
    DROPPED = "dropped"  # the meeting began or was cancelled, or the invitee declined


class Meeting(Base):
    """A meeting an officer called; a draft until he presses Kirim."""

    __tablename__ = "meetings"
    __table_args__ = (Index("ix_meetings_state_starts", "state", "starts_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    title: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(16))
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(String(500))  # a place or an online link
    description: Mapped[str | None] = mapped_column(Text)
    # `bot.services.audience.Audience` as JSON, and how it read when chosen.
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    audience_label: Mapped[str | None] = mapped_column(String(500))
    offsets: Mapped[list[int]] = mapped_column(JSONType, default=list)  # seconds before start
    state: Mapped[str] = mapped_column(String(16), default=MeetingState.DRAFT, index=True)
    created_by: Mapped[int] = mapped_column(BigInteger, index=True)  # officer's Telegram id
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # The calendar file's SEQUENCE: bumped on every change, so phones update the event.
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    # What the officer is changing right now ("when" or "place"): his next text is the new value.
    editing: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MeetingInvitation(Base):
    """One invitee of one meeting (a manager, for one of his cooperatives) and his answer."""

    __tablename__ = "meeting_invitations"
    __table_args__ = (UniqueConstraint("meeting_id", "person_id", name="uq_meeting_invitations_person"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    cooperative_id: Mapped[int | None] = mapped_column(ForeignKey("cooperatives.id", ondelete="SET NULL"))
    answer: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MeetingReminder(Base):
    """One reminder of one meeting for one invitee at one offset."""

    __tablename__ = "meeting_reminders"
    __table_args__ = (
        UniqueConstraint("meeting_id", "person_id", "offset_seconds", name="uq_meeting_reminders_once"),
        Index("ix_meeting_reminders_state_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    offset_seconds: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16), default=ReminderState.PENDING)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    outbox_batch_id: Mapped[int | None] = mapped_column(BigInteger)
    dropped_reason: Mapped[str | None] = mapped_column(String(64))


class CampaignReminder(Base):
    """One round of the annual-report campaign for one cooperative (queued when inserted)."""

    __tablename__ = "campaign_reminders"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "fiscal_year", "round", name="uq_campaign_reminders_round"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id", ondelete="CASCADE"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    round: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    recipients: Mapped[int] = mapped_column(Integer, default=0)


class DigestRun(Base):
    """The officers' daily digest of one local day, claimed by the process that sends it."""

    __tablename__ = "digest_runs"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outbox_batch_id: Mapped[int | None] = mapped_column(BigInteger)
