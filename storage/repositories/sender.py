"""Everything the bot must know about an update's sender, in one round trip.

It runs before every update (handlers/pre.py), so the person, his officer role, whether he
manages a cooperative and how many messages he sent in the flood window come from a single
SELECT instead of four.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundUpdate, ManagerLink, Officer, OfficerRole, Person


@dataclass(frozen=True)
class SenderFacts:
    """The sender's person row (None for a first message) and what his role depends on."""

    person: Person | None
    officer_role: OfficerRole | None
    is_manager: bool
    recent_messages: int


# Built once, run with bound values: this runs before every update.
_OFFICER_ROLE = (
    select(Officer.role)
    .where(Officer.telegram_id == bindparam("tg"), Officer.active.is_(True))
    .scalar_subquery()
)
_RECENT = (
    select(func.count())
    .where(InboundUpdate.user_id == bindparam("tg"), InboundUpdate.received_at >= bindparam("since"),
           InboundUpdate.kind != "callback", InboundUpdate.id <= bindparam("upto"))
    .scalar_subquery()
)
_KNOWN = select(Person, _OFFICER_ROLE, exists().where(ManagerLink.person_id == Person.id), _RECENT).where(
    Person.telegram_id == bindparam("tg")
)
_FIRST_TIME = select(_OFFICER_ROLE, _RECENT)


async def load(
    session: AsyncSession, telegram_id: int, since: datetime, upto: int | None = None
) -> SenderFacts:
    """The facts about one Telegram user; `recent_messages` counts messages since `since`.

    `upto` is the inbound log id of the update at hand: updates logged after it (a burst is
    logged in one batch before any of it runs) are not yet "sent before" it.
    """
    params = {"tg": telegram_id, "since": since, "upto": upto if upto is not None else 2**62}
    row = (await session.execute(_KNOWN, params)).one_or_none()
    if row is not None:
        return SenderFacts(row[0], row[1], bool(row[2]), int(row[3]))
    # A first message: no person yet (he may be an officer added before writing, though).
    role, count = (await session.execute(_FIRST_TIME, params)).one()
    return SenderFacts(None, role, False, int(count))
