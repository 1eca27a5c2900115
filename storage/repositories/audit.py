"""The audit log of domain events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AuditEntry


async def add(
    session: AsyncSession,
    *,
    action: str,
    actor_telegram_id: int | None,
    subject_type: str | None,
    subject_id: str | None,
    details: dict[str, Any],
) -> None:
    """Append one audit entry."""
    session.add(
        AuditEntry(
            action=action,
            actor_telegram_id=actor_telegram_id,
            subject_type=subject_type,
            subject_id=subject_id,
            details=details,
        )
    )


async def latest(session: AsyncSession, action: str | None = None, limit: int = 50) -> list[AuditEntry]:
    """The newest entries, optionally of one action."""
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list((await session.execute(stmt)).scalars())


async def exists(
    session: AsyncSession, action: str, *, actor_telegram_id: int, subject_type: str, subject_id: str
) -> bool:
    """Whether this actor already has an entry of `action` on this subject."""
    stmt = select(AuditEntry.id).where(
        AuditEntry.action == action, AuditEntry.actor_telegram_id == actor_telegram_id,
        AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id,
    ).limit(1)
    return (await session.execute(stmt)).first() is not None
