"""Everything the bot must know about an update's sender, in one round trip.

It runs before every update (handlers/pre.py), so the person, his officer role, whether he
manages a cooperative and how many messages he sent in the flood window come from a single
SELECT instead of four.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, exists, func, literal, select
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
# One row whether or not he is known: the person (None for a first message), his officer role,
# whether he manages a cooperative, his recent messages.
_ONE_ROW = select(literal(1).label("one")).subquery()
_FACTS = (
    select(Person, _OFFICER_ROLE, exists().where(ManagerLink.person_id == Person.id), _RECENT)
    .select_from(_ONE_ROW)
    .outerjoin(Person, Person.telegram_id == bindparam("tg"))
)


async def load(
    session: AsyncSession, telegram_id: int, since: datetime, upto: int | None = None
) -> SenderFacts:
    """The facts about one Telegram user; `recent_messages` counts messages since `since`.

    `upto` is the inbound log id of the update at hand: updates logged after it (a burst is
    logged in one batch before any of it runs) are not yet "sent before" it.
    """
    params = {"tg": telegram_id, "since": since, "upto": upto if upto is not None else 2**62}
    person, role, manages, count = (await session.execute(_FACTS, params)).one()
    # A first message has no person yet (he may be an officer added before writing, though).
    return SenderFacts(person, role, bool(manages) and person is not None, int(count))
