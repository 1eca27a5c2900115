"""The relational model. Every timestamp is timezone-aware UTC; money is integer rupiah."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage.types import BigIntPK, JSONType, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations are stable on both backends."""

    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    """A Telegram user who has written to the bot."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    first_name: Mapped[str] = mapped_column(String(128), default="")
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    telegram_language: Mapped[str | None] = mapped_column(String(16))
    # Chosen with /bahasa; None means "derive from Telegram's language_code".
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundUpdate(Base):
    """Every update received, stored before any handler runs (SPEC 9)."""

    __tablename__ = "inbound_updates"
    __table_args__ = (Index("ix_inbound_user_received", "user_id", "received_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    chat_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Set in the same transaction as the handlers' work; NULL after a crash mid-update.
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Over the flood limit: logged, not handled.
    throttled: Mapped[bool] = mapped_column(Boolean, default=False)


class OutboundCall(Base):
    """Every Bot API call that sends, edits or deletes content, with its outcome (SPEC 9)."""

    __tablename__ = "outbound_calls"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    method: Mapped[str] = mapped_column(String(64))
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    text: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[Any | None] = mapped_column(JSONType)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    duration_ms: Mapped[int] = mapped_column(Integer)
    update_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditEntry(Base):
    """A domain event: registration, approval, report, ticket, broadcast, refusal, error..."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_telegram_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(32))
    subject_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class PersistedConversation(Base):
    """python-telegram-bot conversation state, one row per conversation and key."""

    __tablename__ = "ptb_conversations"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    state: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PersistedData(Base):
    """python-telegram-bot user_data / chat_data / bot_data as JSON documents."""

    __tablename__ = "ptb_data"

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # user, chat, bot
    owner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # 0 for bot
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
