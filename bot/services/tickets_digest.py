"""The digest's tickets section (SPEC 5, 6): tickets waiting for an officer more than 24 hours.

`bot.services.digest.TICKETS_SECTION` points here. The count is a COUNT; the oldest
MAX_LISTED are named with their cooperative and how long they wait. The digest goes to the
officers' chat, so every kecamatan is counted. Nothing is said when no ticket waits that long.
"""

from __future__ import annotations

import html
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.services.statistics_office import age_text
from storage.repositories import office_figures
from storage.repositories import registry

WAITING_OVER = timedelta(hours=24)
MAX_LISTED = 10


async def digest_lines(session: AsyncSession, now: datetime, lang: str) -> list[str]:
    """'🎫 Tickets waiting more than 24 hours: 3' and the oldest of them; [] when none."""
    count, oldest = await office_figures.waiting_since_before(session, now - WAITING_OVER, MAX_LISTED)
    if not count:
        return []
    lines = [t(lang, "digest_tickets.waiting", count=count)]
    for ticket in oldest:
        coop = await registry.get_cooperative(session, ticket.cooperative_id) if ticket.cooperative_id else None
        lines.append(t(lang, "digest_tickets.line", id=ticket.id, coop=html.escape(coop.name if coop else "–"),
                       age=age_text(ticket.waiting_since, now, lang)))
    if count > len(oldest):
        lines.append(t(lang, "digest.more", count=count - len(oldest)))
    return lines
