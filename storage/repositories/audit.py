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
