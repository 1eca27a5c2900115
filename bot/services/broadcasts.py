"""Broadcasts (SPEC 7): compose a draft, choose its audience, preview, send, report.

The draft lives in the database (every button names it), so a restart or a stale button never
loses or confuses it. Sending puts one outbox row per recipient (`bot.delivery.enqueue`); the
outbox rows are the per-recipient results, and the broadcast row is the history entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import Content, Progress, enqueue, progress
from bot.services import audience as audiences
from bot.services.audience import Audience, AudienceKind, AudienceSize
from bot.services.audit import audit
from bot.services.roles import Identity
from storage.models import CoopStatus, CoopType
from storage.models_delivery import Broadcast, BroadcastStatus
from storage.repositories import audience as audience_repo
from storage.repositories import broadcasts as repo

SOURCE_KIND = "broadcast"
MAX_CHOSEN = audiences.MAX_CHOSEN


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the /siaran history."""

    broadcast: Broadcast
    audience: Audience | None
    progress: Progress | None


@dataclass(frozen=True)
class AudienceDescription:
    """What a handler needs to name an audience in the user's language."""

    kind: AudienceKind
    names: list[str]
    status: CoopStatus | None
    type: CoopType | None


def audience_of(broadcast: Broadcast) -> Audience | None:
    """The audience chosen for a broadcast, if any."""
    return Audience.from_json(broadcast.audience) if broadcast.audience else None


async def history(session: AsyncSession, identity: Identity, officer_id: int, limit: int = 5) -> list[HistoryEntry]:
    """The latest broadcasts with their results (a scoped officer sees only his own)."""
    rows = await repo.latest_sent(session, officer_id if identity.scope is not None else None, limit)
    return [
        HistoryEntry(b, audience_of(b), await progress(session, b.batch_id) if b.batch_id else None)
        for b in rows
    ]


async def save_draft(
    session: AsyncSession, *, officer_id: int, chat_id: int, text: str | None,
    photo: str | None = None, document: str | None = None,
) -> Broadcast:
    """Put new content in the officer's open draft (or a new one); the audience is chosen next."""
    Content(text=text, photo=photo, document=document)  # refuses an empty or overlong message
    draft = await repo.open_draft(session, officer_id)
    if draft is None:
        return await repo.add(session, created_by=officer_id, chat_id=chat_id, text=text,
                              photo=photo, document=document, status=BroadcastStatus.DRAFT)
    draft.text, draft.photo, draft.document, draft.chat_id = text, photo, document, chat_id
    draft.audience = None
    return draft


async def open_draft(session: AsyncSession, officer_id: int) -> Broadcast | None:
    """The officer's draft being composed, if any."""
    return await repo.open_draft(session, officer_id)


async def draft_for(session: AsyncSession, broadcast_id: int, officer_id: int) -> Broadcast | None:
    """The draft a button names, if it is still a draft and belongs to this officer."""
    draft = await repo.get(session, broadcast_id)
    if draft is None or draft.created_by != officer_id or draft.status != BroadcastStatus.DRAFT:
        return None
    return draft


def choose(draft: Broadcast, audience: Audience) -> None:
    """Set the draft's audience."""
    draft.audience = audience.to_json()


def refused(draft: Broadcast) -> None:
    """Telegram refused the draft's formatting at its preview: it cannot be sent as it is. The
    audience goes, so a Kirim button of an earlier preview of the same draft finds none; new
    content and a preview that passes are needed."""
    draft.audience = None


async def toggle_cooperative(
    session: AsyncSession, draft: Broadcast, cooperative_id: int, identity: Identity
) -> bool:
    """Add or remove one chosen cooperative; False if it is unknown or outside the scope."""
    audience = await audiences.toggle_chosen(session, draft.audience, cooperative_id, identity)
    if audience is None:
        return False
    choose(draft, audience)
    return True


def chosen_ids(draft: Broadcast) -> set[int]:
    """The cooperatives picked one by one so far."""
    return audiences.chosen_ids(draft.audience)


async def size(session: AsyncSession, draft: Broadcast, identity: Identity) -> AudienceSize:
    """The exact numbers for the preview."""
    audience = audience_of(draft)
    if audience is None:
        return AudienceSize(0, 0, 0)
    return await audiences.size(session, audience, scope=identity.scope_list)


async def describe(session: AsyncSession, audience: Audience) -> AudienceDescription:
    """The names behind an audience (kecamatan or cooperatives)."""
    names: list[str] = []
    if audience.kind is AudienceKind.KECAMATAN:
        names = await audience_repo.kecamatan_names(session, audience.kecamatan_ids)
    elif audience.kind is AudienceKind.COOPERATIVES:
        found = await audience_repo.cooperative_names(session, audience.cooperative_ids)
        names = sorted(found.values())
    return AudienceDescription(audience.kind, names, audience.status, audience.type)


async def send(
    session: AsyncSession, draft: Broadcast, *, identity: Identity, language: str, now: datetime
) -> int:
    """Queue the broadcast for its audience (resolved again now); returns the recipients."""
    audience = audience_of(draft)
    if audience is None:
        raise ValueError("no audience chosen")
    people = await audiences.recipients(session, audience, scope=identity.scope_list)
    if not people:
        return 0
    content = Content(text=draft.text, parse_mode="HTML", photo=draft.photo, document=draft.document)
    draft.batch_id = await enqueue(
        session, content, people, source=(SOURCE_KIND, draft.id), created_by=draft.created_by, now=now
    )
    draft.status, draft.sent_at, draft.recipients, draft.language = (
        BroadcastStatus.QUEUED, now, len(people), language
    )
    await audit(session, "broadcast_sent", actor=draft.created_by, subject_type="broadcast",
                subject_id=draft.id, audience=audience.to_json(), recipients=len(people),
                batch_id=draft.batch_id)
    return len(people)


def cancel(draft: Broadcast) -> None:
    """Drop the draft."""
    draft.status = BroadcastStatus.CANCELLED


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    """The broadcast with this id (for its reporter)."""
    return await repo.get(session, broadcast_id)


async def finish(session: AsyncSession, broadcast_id: int, at: datetime) -> None:
    """Record that the final report was made."""
    await repo.mark_done(session, broadcast_id, at)
