"""The one helper every feature uses to write the audit log."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories import audit as audit_repo


async def audit(
    session: AsyncSession,
    action: str,
    *,
    actor: int | None = None,
    subject_type: str | None = None,
    subject_id: object = None,
    **details: Any,
) -> None:
    """Record a domain event (e.g. ``access_denied``, ``report_submitted``) in the audit log."""
    await audit_repo.add(
        session,
        action=action,
        actor_telegram_id=actor,
        subject_type=subject_type,
        subject_id=None if subject_id is None else str(subject_id),
        details=details,
    )
