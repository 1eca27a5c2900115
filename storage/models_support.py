"""Tables of support programmes, the FAQ and tickets (SPEC 5).

Kept apart from `storage.models`, which imports this module at its end so that every user of
`Base.metadata` sees these tables too.

Decisions:
- Catalogue entries have a stable `key` chosen by the office; an import updates by key and
  retires (``active = false``) the entries its file no longer holds, so a ticket or a log that
  named an entry keeps a row to point at.
- The officers'-chat message → ticket mapping is `TicketPost`: one row per message posted for a
  ticket, pointing at the outbox row that sent it. Telegram's message_id is the one the delivery
  engine recorded on that row (`outbox.telegram_message_id`); nothing is parsed from text.
- States are plain strings (see `TicketState`), like the other enums: the same on both backends.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import BigIntPK, JSONType, UTCDateTime, utcnow


class Category(enum.StrEnum):
    """The office's five facilitation areas, plus kelembagaan (RAT, NIK, legalitas)."""

    PROMOSI = "promosi"
    JARINGAN = "jaringan"
    PERMODALAN = "permodalan"
    TEKNOLOGI = "teknologi"
    SDM = "sdm"
    KELEMBAGAAN = "kelembagaan"


class Programme(Base):
    """A support programme of the office or a national scheme, as the office describes it."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    eligibility: Mapped[str] = mapped_column(Text, default="")
    how_to_apply: Mapped[str] = mapped_column(Text, default="")
    documents: Mapped[list[str]] = mapped_column(JSONType, default=list)
    contact: Mapped[str] = mapped_column(Text, default="")
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FaqEntry(Base):
    """A question with the office's answer; drafts saved from tickets start inactive."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(16), index=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    # Set for a draft made with "Simpan sebagai FAQ" from an answered ticket.
    source_ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Question(Base):
    """A question a manager asked the bot, with what it answered (for the ticket and statistics)."""

    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # The answers shown, as "kind:key", best first; empty when nothing matched.
    answers: Mapped[list[str]] = mapped_column(JSONType, default=list)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)  # "✅ Terjawab" pressed
    ticket_id: Mapped[int | None] = mapped_column(BigInteger)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class TicketState(enum.StrEnum):
    """draft (the manager is typing his question) → open (waits for an officer) →
    answered (waits for the manager) → closed."""

    DRAFT = "draft"
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"


class Ticket(Base):
    """A manager's question handed to the officers."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_state_activity", "state", "waiting_since"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    manager_telegram_id: Mapped[int] = mapped_column(BigInteger, index=True)
    cooperative_id: Mapped[int | None] = mapped_column(
        ForeignKey("cooperatives.id", ondelete="SET NULL"), index=True
    )
    # Copied from the cooperative when opened: the officers' scope filter needs no join.
    kecamatan_id: Mapped[int | None] = mapped_column(Integer, index=True)
    question: Mapped[str] = mapped_column(Text)
    # What the question is about when asked from a programme card (its title).
    topic: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=TicketState.OPEN)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Since when the ticket waits for an officer (opened, or the manager wrote again).
    waiting_since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by: Mapped[int | None] = mapped_column(BigInteger)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalations: Mapped[int] = mapped_column(Integer, default=0)


class TicketMessage(Base):
    """One message of a ticket's exchange, from the manager or an officer."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(8))  # "manager" | "officer"
    author_telegram_id: Mapped[int] = mapped_column(BigInteger)
    text: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="text")  # text | photo | document
    # Where the message was written (for copyMessage of photos and documents).
    source_chat_id: Mapped[int] = mapped_column(BigInteger)
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    # The copy the manager received in his private chat: a reply to it continues the ticket.
    manager_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TicketPost(Base):
    """A message posted for a ticket in the officers' chat (through the outbox)."""

    __tablename__ = "ticket_posts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    outbox_id: Mapped[int] = mapped_column(
        ForeignKey("outbox.id", ondelete="CASCADE"), unique=True
    )
    first: Mapped[bool] = mapped_column(Boolean, default=False)


class TicketAnswerWait(Base):
    """An officer pressed Balas: his next private message answers this ticket."""

    __tablename__ = "ticket_answer_waits"

    officer_telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    since: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

