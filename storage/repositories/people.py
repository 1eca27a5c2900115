"""People: the Telegram users who have written to the bot."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Person
from storage.repositories.common import insert_for
from storage.sender_cache import SENDER
from storage.types import utcnow

SEEN_RESOLUTION = timedelta(minutes=5)


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
    known: Person | None = None,
    looked_up: bool = False,
) -> Person:
    """Create or refresh the person behind an update and return it.

    Runs for every update, so it writes only when something changed or `last_seen_at` is
    older than SEEN_RESOLUTION: a read is much cheaper than a write on every message.
    `known` is the person if the caller loaded him already (see `storage.repositories.sender`);
    `looked_up` says the caller looked, so None means there is no such person yet.
    """
    now = utcnow()
    values = telegram_values(first_name, last_name, username, telegram_language)
    person = known if known is not None or looked_up else await get_by_telegram_id(session, telegram_id)
    if person is None:
        stmt = (
            insert_for(session, Person)
            .values(telegram_id=telegram_id, created_at=now, last_seen_at=now, **values)
            .on_conflict_do_nothing(index_elements=["telegram_id"])
            .returning(Person)
            .execution_options(**{SENDER: telegram_id})
        )
        # RETURNING gives the new row at once; nothing if someone inserted him meanwhile.
        person = (await session.execute(select(Person).from_statement(stmt))).scalar_one_or_none()
        if person is None:
            person = await get_by_telegram_id(session, telegram_id)
        assert person is not None
        return person
    current = {key: getattr(person, key) for key in (*values, "unreachable", "last_seen_at")}
    if not up_to_date(current, values, now):
        for key, value in values.items():
            setattr(person, key, value)
        person.last_seen_at = now
        # He wrote to the bot, so he has not blocked it (any more): deliveries reach him again.
        person.unreachable, person.unreachable_since = False, None
    return person


def telegram_values(first_name: str, last_name: str | None, username: str | None,
                    telegram_language: str | None) -> dict[str, Any]:
    """What Telegram tells of a user with each update, as the people table stores it."""
    return {
        "first_name": first_name[:128],
        "last_name": last_name[:128] if last_name else None,
        "username": username,
        "telegram_language": telegram_language,
    }


def up_to_date(person: Mapping[str, Any], values: Mapping[str, Any], now: datetime) -> bool:
    """True if `seen` would not write: the person row (its columns) says what Telegram says,
    he is reachable, and he was last seen within SEEN_RESOLUTION."""
    return (all(person.get(key) == value for key, value in values.items())
            and not person.get("unreachable") and now - person["last_seen_at"] <= SEEN_RESOLUTION)


async def set_language(session: AsyncSession, telegram_id: int, language: str) -> None:
    """Remember the language this person chose."""
    await session.execute(
        update(Person).where(Person.telegram_id == telegram_id).values(language=language)
        .execution_options(**{SENDER: telegram_id})
    )
