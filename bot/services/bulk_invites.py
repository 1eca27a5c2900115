"""Many invitations at once: /undang with several registration numbers, and `kopdesk invites
create` for whole kecamatan (the sheets an office hands out at a rakor).

Both issue every code through `registration.create_invite`, so the rules stay those of SPEC 3
(8 characters of the unambiguous alphabet, single use, 14 days, audited), and both run in the
caller's one transaction: either every code of a batch exists, or none does.

Who is left out of a kecamatan batch, and why: a dissolved cooperative (no one to register),
and — unless `include_managed` — a cooperative that already has a manager, who can invite his
colleagues' registration through the office anyway; reprinting a sheet therefore gives codes to
the cooperatives still missing.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import registration
from bot.services.audit import audit
from bot.services.officers import UnknownKecamatan
from bot.services.roles import Identity
from storage.models import Cooperative, CoopStatus, Invite
from storage.repositories import invites as repo
from storage.repositories import registry

# /undang's list: registration numbers contain no spaces or commas, names do (so a name is
# searched as before, and only a list in which a registration number appears is taken as one).
_SEPARATORS = re.compile(r"[\s,;]+")
MAX_NUMBERS = 100


def deep_link(bot_username: str, code: str) -> str:
    """The link that opens the bot with the code: t.me/<bot>?start=<code> (SPEC 2)."""
    return f"https://t.me/{bot_username}?start={code}"


def split_numbers(text: str) -> list[str]:
    """The distinct items (whatever their case) of a list separated by spaces, commas,
    semicolons or new lines, in the order given."""
    first: dict[str, str] = {}
    for item in _SEPARATORS.split(text):
        if item:
            first.setdefault(item.lower(), item)
    return list(first.values())


class Outcome(enum.Enum):
    """What became of one registration number of a list."""

    INVITED = "invited"
    NOT_FOUND = "not_found"
    OUT_OF_SCOPE = "out_of_scope"


@dataclass(frozen=True)
class NumberResult:
    """One item of /undang's list: the number as typed, and its invite if one was made."""

    number: str
    outcome: Outcome
    cooperative: Cooperative | None = None
    kecamatan: str = ""
    invite: Invite | None = None


async def invite_numbers(
    session: AsyncSession, numbers: list[str], *, officer: Identity, officer_telegram_id: int, now: datetime
) -> list[NumberResult] | None:
    """An invite for each listed cooperative in the officer's scope, in the order given.

    None when no item is a registration number at all: then the text is a name to search.
    """
    found = await repo.cooperatives_by_numbers(session, numbers[:MAX_NUMBERS])
    if not found:
        return None
    results = []
    for number in numbers[:MAX_NUMBERS]:
        target = found.get(number.lower())
        if target is None:
            results.append(NumberResult(number, Outcome.NOT_FOUND))
            continue
        coop = target.cooperative
        if not officer.sees(coop.kecamatan_id):
            await audit(session, "access_denied", actor=officer_telegram_id, subject_type="cooperative",
                        subject_id=coop.id, reason="out_of_scope")
            results.append(NumberResult(number, Outcome.OUT_OF_SCOPE))
            continue
        invite = await registration.create_invite(
            session, cooperative=coop, officer_telegram_id=officer_telegram_id, now=now
        )
        results.append(NumberResult(number, Outcome.INVITED, coop, target.kecamatan, invite))
    return results


@dataclass(frozen=True)
class IssuedInvite:
    """One card of a sheet: the cooperative, its kecamatan's name and the new invite."""

    cooperative: Cooperative
    kecamatan: str
    invite: Invite


@dataclass
class KecamatanBatch:
    """The invites made for some kecamatan, and how many cooperatives were left out."""

    issued: list[IssuedInvite] = field(default_factory=list)
    skipped_managed: int = 0
    skipped_dissolved: int = 0


async def resolve_kecamatan(session: AsyncSession, names: Collection[str] | None) -> dict[str, int]:
    """Name → id of the named kecamatan (any case), or of every kecamatan for None.

    Raises UnknownKecamatan naming those the registry does not know.
    """
    if names is None:
        return {k.name: k.id for k in await registry.list_kecamatan(session)}
    ids = await registry.kecamatan_ids_by_name(session, names)
    unknown = [name for name, kecamatan_id in ids.items() if kecamatan_id is None]
    if unknown:
        raise UnknownKecamatan(unknown)
    return {name: kecamatan_id for name, kecamatan_id in ids.items() if kecamatan_id is not None}


async def invite_kecamatan(
    session: AsyncSession,
    kecamatan_ids: Collection[int],
    *,
    include_managed: bool,
    officer_telegram_id: int,
    now: datetime,
    on_each: Callable[[int], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> KecamatanBatch:
    """An invite for every cooperative of these kecamatan (see the module's note on who is left out).

    `on_total(n)` is told how many invites will be made, `on_each(1)` after each (a progress bar).
    """
    batch = KecamatanBatch()
    chosen = []
    for target in await repo.cooperatives_in_kecamatan(session, kecamatan_ids):
        if target.cooperative.status is CoopStatus.DIBUBARKAN:
            batch.skipped_dissolved += 1
        elif target.managed and not include_managed:
            batch.skipped_managed += 1
        else:
            chosen.append(target)
    if on_total:
        on_total(len(chosen))
    for target in chosen:
        invite = await registration.create_invite(
            session, cooperative=target.cooperative, officer_telegram_id=officer_telegram_id, now=now
        )
        batch.issued.append(IssuedInvite(target.cooperative, target.kecamatan, invite))
        if on_each:
            on_each(1)
    return batch
