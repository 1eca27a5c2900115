"""The relational model. Every timestamp is timezone-aware UTC; money is integer rupiah."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import Enum as SAEnum
from sqlalchemy import false
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
    # Given by the manager in /profil, normalised to +62… (international form).
    phone: Mapped[str | None] = mapped_column(String(32))
    # Chosen with /bahasa; None means "derive from Telegram's language_code".
    language: Mapped[str | None] = mapped_column(String(2))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when Telegram answers 403 (he blocked the bot): skipped by deliveries until he
    # writes to the bot again (`people.seen` clears it).
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    unreachable_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


_QUEUED = text("queue_key IS NOT NULL AND handled_at IS NULL AND throttled = false")


class InboundUpdate(Base):
    """Every update received, stored before any handler runs (SPEC 9)."""

    __tablename__ = "inbound_updates"
    __table_args__ = (
        Index("ix_inbound_user_received", "user_id", "received_at"),
        # Not update_id alone: Telegram may number updates from the start again (see
        # storage/repositories/message_log.py and docs/ARCHITECTURE.md).
        UniqueConstraint("update_id", "fingerprint"),
        # The workers' queue (bot/pipeline): the oldest waiting update of each chat.
        Index("ix_inbound_queue", "queue_key", "id", postgresql_where=_QUEUED, sqlite_where=_QUEUED),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    update_id: Mapped[int] = mapped_column(BigInteger)
    # SHA-256 of the raw update's canonical JSON: a redelivery carries the same payload.
    fingerprint: Mapped[str] = mapped_column(String(64))
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
    # Set by a webhook receiver (`kopdesk web`): the chat (or user) whose updates the workers
    # handle in order. NULL for updates a `kopdesk run` process logs and handles itself.
    queue_key: Mapped[int | None] = mapped_column(BigInteger)
    # Workers that took the update from the queue; one killed mid-update leaves it for the next.
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")


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


# --- Registry (SPEC 3): kecamatan, cooperatives, managers, officers, invites, registration ---
#
# Enums are stored as their string values in VARCHAR columns (no native PostgreSQL ENUM, no
# CHECK constraint) so SQLite and PostgreSQL behave the same and a new value needs no migration.


class CoopForm(enum.StrEnum):
    """Bentuk koperasi: individual members (primer) or cooperatives as members (sekunder)."""

    PRIMER = "primer"
    SEKUNDER = "sekunder"


class CoopType(enum.StrEnum):
    """Jenis koperasi under the 1992 law."""

    KONSUMEN = "konsumen"
    PRODUSEN = "produsen"
    JASA = "jasa"
    PEMASARAN = "pemasaran"
    SIMPAN_PINJAM = "simpan pinjam"


class CoopStatus(enum.StrEnum):
    """Whether a cooperative is active (SPEC 4 status rule)."""

    AKTIF = "aktif"
    TIDAK_AKTIF = "tidak aktif"
    DIBUBARKAN = "dibubarkan"


class StatusSource(enum.StrEnum):
    """Who decided the current status: the report rule, or an officer (import included)."""

    DERIVED = "derived"
    OFFICER = "officer"


class ManagerPosition(enum.StrEnum):
    """A manager's position in the cooperative's board."""

    KETUA = "ketua"
    SEKRETARIS = "sekretaris"
    BENDAHARA = "bendahara"
    LAINNYA = "lainnya"


class OfficerRole(enum.StrEnum):
    """Staff roles kept in the database (admins may also come from ADMIN_IDS)."""

    OFFICER = "officer"
    ADMIN = "admin"


class RequestStatus(enum.StrEnum):
    """The officers' decision on a self-registration request."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def _str_enum(cls: type[enum.StrEnum], length: int = 16) -> SAEnum:
    # values_callable: store "simpan pinjam", not the member name "SIMPAN_PINJAM".
    # validate_strings: a mistyped plain string fails at bind time instead of being stored.
    return SAEnum(
        cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class Kecamatan(Base):
    """A district of the region; officers may be scoped to some of them."""

    __tablename__ = "kecamatan"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    # Optional official (BPS/Kemendagri) code; several NULLs are allowed on both backends.
    code: Mapped[str | None] = mapped_column(String(16), unique=True)


class Cooperative(Base):
    """One incorporated cooperative of the registry, keyed by its registration number."""

    __tablename__ = "cooperatives"
    __table_args__ = (
        # Covers /statistik's counts by kecamatan and status, and of who owes a report (the
        # founding date), without reading the table (migration 0009 widened it).
        Index("ix_cooperatives_kecamatan_status", "kecamatan_id", "status", "incorporated_on"),
        # A kecamatan's cooperatives by name, paged on (name, id): the annual-report export.
        Index("ix_cooperatives_kecamatan_name", "kecamatan_id", "name", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # Nomor badan hukum: the natural key that imports upsert on.
    registration_number: Mapped[str] = mapped_column(String(64), unique=True)
    # Nomor Induk Koperasi (digits); only cooperatives certified by the ministry have one.
    nik: Mapped[str | None] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    form: Mapped[CoopForm] = mapped_column(_str_enum(CoopForm))
    type: Mapped[CoopType] = mapped_column(_str_enum(CoopType))
    sector: Mapped[str | None] = mapped_column(String(128))
    # Indexed by ix_cooperatives_kecamatan_status (kecamatan_id leads), not separately.
    kecamatan_id: Mapped[int] = mapped_column(ForeignKey("kecamatan.id", ondelete="RESTRICT"))
    desa: Mapped[str | None] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(64))
    incorporated_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[CoopStatus] = mapped_column(
        _str_enum(CoopStatus), default=CoopStatus.TIDAK_AKTIF, index=True
    )
    status_reason: Mapped[str | None] = mapped_column(String(500))
    status_source: Mapped[StatusSource] = mapped_column(
        _str_enum(StatusSource), default=StatusSource.DERIVED
    )
    status_set_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Fiscal year covered by the latest RAT known to the office.
    last_rat_year: Mapped[int | None] = mapped_column(Integer)
    # Demo data (seed-demo) is marked so it can never be mistaken for the real registry.
    synthetic: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class ManagerLink(Base):
    """A person who manages (pengurus) a cooperative; many-to-many both ways."""

    __tablename__ = "manager_links"
    __table_args__ = (
        UniqueConstraint("person_id", "cooperative_id", name="uq_manager_links_person_coop"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    cooperative_id: Mapped[int] = mapped_column(
        ForeignKey("cooperatives.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[ManagerPosition] = mapped_column(_str_enum(ManagerPosition))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Officer(Base):
    """Dinas staff; independent of `people` so an officer can be added before writing to the bot."""

    __tablename__ = "officers"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[OfficerRole] = mapped_column(_str_enum(OfficerRole), default=OfficerRole.OFFICER)
    # Removal deactivates, so the audit trail can still name who did what.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OfficerScope(Base):
    """An officer limited to some kecamatan; an officer without rows here sees everything."""

    __tablename__ = "officer_scopes"

    officer_id: Mapped[int] = mapped_column(
        ForeignKey("officers.id", ondelete="CASCADE"), primary_key=True
    )
    kecamatan_id: Mapped[int] = mapped_column(
        ForeignKey("kecamatan.id", ondelete="CASCADE"), primary_key=True
    )


class Invite(Base):
    """A single-use registration code bound to one cooperative."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(8), unique=True)
    cooperative_id: Mapped[int] = mapped_column(
        ForeignKey("cooperatives.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[int] = mapped_column(BigInteger)  # officer's Telegram id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(BigInteger)  # manager's Telegram id


class InviteFailure(Base):
    """One wrong invite code; counted per user over the last hour for the lock-out."""

    __tablename__ = "invite_failures"
    __table_args__ = (Index("ix_invite_failures_user_at", "telegram_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RegistrationRequest(Base):
    """Self-registration without a code, waiting for an officer's Setujui/Tolak."""

    __tablename__ = "registration_requests"
    __table_args__ = (Index("ix_registration_requests_user_status", "telegram_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger)
    cooperative_id: Mapped[int] = mapped_column(
        ForeignKey("cooperatives.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[ManagerPosition] = mapped_column(_str_enum(ManagerPosition))
    status: Mapped[RequestStatus] = mapped_column(
        _str_enum(RequestStatus), default=RequestStatus.PENDING, index=True
    )
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# --- annual status update (laporan tahunan / RAT report, SPEC 4) -----------------------------


class ReportDraft(Base):
    """A report being filled in; saved after every answer so nothing is lost."""

    __tablename__ = "report_drafts"
    __table_args__ = (
        UniqueConstraint("person_id", "cooperative_id", "fiscal_year", name="uq_report_drafts_owner"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id", ondelete="CASCADE"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    # Answers so far, JSON-ready (dates as ISO strings), keyed by AnnualReport field names.
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # The question being asked; None once every question is answered (the summary).
    current_field: Mapped[str | None] = mapped_column(String(32))
    # The bot's latest message with this draft's buttons: presses on older ones are stale.
    prompt_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # The user's message that gave the latest typed answer, while nothing else happened since:
    # an edit of that message corrects the answer.
    answer_message_id: Mapped[int | None] = mapped_column(BigInteger)
    answer_field: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class AnnualReportRecord(Base):
    """A submitted annual report; a resubmission for the same year is a new revision."""

    __tablename__ = "annual_reports"
    __table_args__ = (
        UniqueConstraint("cooperative_id", "fiscal_year", "revision", name="uq_annual_reports_revision"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    cooperative_id: Mapped[int] = mapped_column(ForeignKey("cooperatives.id", ondelete="CASCADE"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    submitted_by: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="RESTRICT"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rat_held: Mapped[bool] = mapped_column(Boolean)
    rat_date: Mapped[date | None] = mapped_column(Date)
    members_men: Mapped[int] = mapped_column(Integer)
    members_women: Mapped[int] = mapped_column(Integer)
    pengurus: Mapped[int] = mapped_column(Integer)
    pengawas: Mapped[int] = mapped_column(Integer)
    employees: Mapped[int] = mapped_column(Integer)
    total_assets: Mapped[int] = mapped_column(BigInteger)
    own_capital: Mapped[int] = mapped_column(BigInteger)
    external_capital: Mapped[int] = mapped_column(BigInteger)
    business_volume: Mapped[int] = mapped_column(BigInteger)
    surplus: Mapped[int] = mapped_column(BigInteger)
    still_operating: Mapped[bool] = mapped_column(Boolean)
    main_business: Mapped[str] = mapped_column(String(200))
    obstacles: Mapped[list[str]] = mapped_column(JSONType, default=list)
    obstacles_other: Mapped[str | None] = mapped_column(Text)
    support_needed: Mapped[list[str]] = mapped_column(JSONType, default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    # Plausibility warnings the manager confirmed when submitting.
    confirmed_warnings: Mapped[list[str]] = mapped_column(JSONType, default=list)


# The delivery tables live in their own module; imported here so that `Base.metadata` always
# holds them (a module import, not names: either module may be imported first).
import storage.models_delivery  # noqa: E402,F401
import storage.models_support  # noqa: E402,F401
import storage.models_meetings  # noqa: E402,F401
