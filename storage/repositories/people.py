"""People: the Telegram users who have written to the bot."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person
from storage.repositories.common import insert_for
from storage.types import utcnow


async def get_by_telegram_id(session: AsyncSession, telegram_id: int) -> Person | None:
    """The person with this Telegram id, if known."""
    return (
        await session.execute(select(Person).where(Person.telegram_id == telegram_id))
    ).scalar_one_or_none()


async def seen(
    session: AsyncSession,
    *,
    telegram_id: int,
    first_name: str,
    last_name: str | None,
    username: str | None,
    telegram_language: str | None,
) -> Person:
    """Create or refresh the person behind an update and return it."""
    now = utcnow()
    values = {
        "first_name": first_name[:128],
        "last_name": (last_name or None) and last_name[:128],
        "username": username,
        "telegram_language": telegram_language,
        "last_seen_at": now,
    }
    stmt = (
        insert_for(session, Person)
        .values(telegram_id=telegram_id, created_at=now, **values)
        .on_conflict_do_update(index_elements=["telegram_id"], set_=values)
        .returning(Person)
    )
    return (await session.execute(stmt)).scalar_one()


async def set_language(session: AsyncSession, telegram_id: int, language: str) -> None:
    """Remember the language this person chose."""
    await session.execute(
        update(Person).where(Person.telegram_id == telegram_id).values(language=language)
    )
