""""🙋 Saya tertarik" on a programme card: a manager's interest, told to the officers (SPEC 2).

No table of its own: the interest is the audit entry `programme_interest` (actor = the manager,
subject = the programme), which the log keeps anyway; a second press by the same person on the
same programme finds that entry and records nothing new, so the officers hear of it once. The
notice names the programme, the manager and every cooperative he manages with its kecamatan.
"""

from __future__ import annotations

import html

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.services.audit import audit
from bot.services.tickets import person_name
from storage.models import Person
from storage.models_support import Programme
from storage.repositories import audit as audit_repo
from storage.repositories import registry

ACTION = "programme_interest"


async def record(session: AsyncSession, person: Person, programme: Programme, lang: str) -> str | None:
    """Record the interest; the officers' notice (HTML), or None if he had said so already."""
    subject = str(programme.id)
    if await audit_repo.exists(session, ACTION, actor_telegram_id=person.telegram_id,
                               subject_type="programme", subject_id=subject):
        return None
    links = await registry.cooperatives_of(session, person.id)
    await audit(session, ACTION, actor=person.telegram_id, subject_type="programme", subject_id=subject,
                cooperative_ids=[coop.id for coop, _ in links])
    kecamatan = {k.id: k.name for k in await registry.list_kecamatan(session)}
    coops = "\n".join(
        t(lang, "interest.coop_line", coop=html.escape(coop.name),
          kecamatan=html.escape(kecamatan.get(coop.kecamatan_id, "-")))
        for coop, _ in links
    ) or "-"
    return t(lang, "interest.notice", programme=html.escape(programme.title),
             manager=html.escape(person_name(person)), coops=coops)
