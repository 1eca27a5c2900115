"""Tables of the delivery engine (the outbox) and of broadcasts (SPEC 7).

Kept apart from `storage.models`, which imports this module at its end so that every user of
`Base.metadata` (Alembic, the test fixtures) sees these tables too.

States are plain strings (see `OutboxState`), like the registry's enums: the same on SQLite and
PostgreSQL, and a new state needs no migration.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base
from storage.types import BigIntPK, JSONType, UTCDateTime, utcnow


class OutboxState(enum.StrEnum):
    """The life of one outbox row: pending → sending → sent | failed | blocked."""

    PENDING = "pending"
    SENDING = "sending"  # claimed by a worker; back to pending if its lease runs out
    SENT = "sent"
    FAILED = "failed"  # Telegram refused it (400) or transient errors ran out of attempts
    BLOCKED = "blocked"  # the recipient blocked the bot (403), or was known to have


class OutboxPayload(Base):
    """What is sent: text (or caption) with parse mode, an optional file_id, inline buttons."""

    __tablename__ = "outbox_payloads"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)
    parse_mode: Mapped[str | None] = mapped_column(String(16))
    photo: Mapped[str | None] = mapped_column(String(255))  # Telegram file_id
    document: Mapped[str | None] = mapped_column(String(255))  # Telegram file_id
    # A file uploaded with the message (e.g. a meeting's .ics), when there is no file_id.
    document_name: Mapped[str | None] = mapped_column(String(128))
    document_data: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Rows of inline buttons as Telegram's JSON objects ({"text", "callback_data" | "url"}).
    buttons: Mapped[Any | None] = mapped_column(JSONType)
    # Sent as a reply to this message of the recipient chat (a ticket's thread).
    reply_to_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # Sent with copyMessage from this chat and message (a photo or document of a ticket).
    copy_from_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    copy_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxBatch(Base):
    """One message to many: what produced it (a broadcast, a meeting...) and its reporting."""

    __tablename__ = "outbox_batches"
    __table_args__ = (Index("ix_outbox_batches_source", "source_kind", "source_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(BigInteger)  # Telegram id of the officer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    total: Mapped[int] = mapped_column(Integer, default=0)
    # Last progress report (any worker): reports are at least REPORT_INTERVAL apart.
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once every row is final and the final report was made; NULL = still to watch.
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class OutboxMessage(Base):
    """One recipient of one batch: the durable unit of delivery."""

    __tablename__ = "outbox"
    __table_args__ = (
        # Claims read pending rows in (lane, next_attempt_at, id) order straight from this index.
        Index("ix_outbox_state_lane_due", "state", "lane", "next_attempt_at", "id"),
        Index("ix_outbox_batch_state", "batch_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("outbox_batches.id", ondelete="CASCADE"))
    payload_id: Mapped[int] = mapped_column(ForeignKey("outbox_payloads.id", ondelete="RESTRICT"))
    chat_id: Mapped[int] = mapped_column(BigInteger, index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING)
    # `bot.delivery.limits.Lane`: 1 officers' notices, 2 bulk; the engine serves lower first.
    lane: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="2")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryWorker(Base):
    """A running delivery engine; the live ones share SEND_RATE between them."""

    __tablename__ = "delivery_workers"

    worker_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class SchedulerLease(Base):
    """Which process runs a deployment's scheduled work, and until when (SPEC 13).

    Reminders, the report campaign, the digest, ticket escalations and the daily status refresh
    run in the process holding the lease; the holder renews it on every tick, and another
    process takes it over once it has expired (the holder was killed or cut off).
    """

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BroadcastStatus(enum.StrEnum):
    """A broadcast from composing to delivered."""

    DRAFT = "draft"
    QUEUED = "queued"  # in the outbox
    DONE = "done"  # every recipient has a final result, the officer got the report
    CANCELLED = "cancelled"


class Broadcast(Base):
    """An officer's announcement (/siaran): the draft, then its history entry."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_creator_status", "created_by", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    created_by: Mapped[int] = mapped_column(BigInteger)  # officer's Telegram id
    chat_id: Mapped[int] = mapped_column(BigInteger)  # where the officer composed it
    language: Mapped[str] = mapped_column(String(2), default="id")  # of the officer's reports
    status: Mapped[str] = mapped_column(String(16), default=BroadcastStatus.DRAFT, index=True)
    # HTML as it will be sent (text, or the caption of the photo/document).
    text: Mapped[str | None] = mapped_column(Text)
    photo: Mapped[str | None] = mapped_column(String(255))
    document: Mapped[str | None] = mapped_column(String(255))
    # `bot.services.audience.Audience` as JSON; None until chosen.
    audience: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    recipients: Mapped[int | None] = mapped_column(Integer)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_batches.id", ondelete="SET NULL"))
    # The officer's message that is edited with the progress ("Terkirim 120/401").
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
