"""Which kecamatan an officer's figures and files cover: his scope, narrowed on request.

/statistik and /ekspor take optional kecamatan names. An officer scoped to some kecamatan may
narrow to any of them; naming one outside his scope is refused (and audited by the handler),
never silently widened or ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.annual_report import FIRST_FISCAL_YEAR
from bot.services.roles import Identity
from storage.repositories import registry


class UnknownKecamatan(ValueError):
    """A kecamatan name the registry does not know."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


class OutOfScope(PermissionError):
    """A kecamatan the officer may not see."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(", ".join(names))
        self.names = names


@dataclass(frozen=True)
class Scope:
    """The kecamatan covered (None: the whole region) and their names when narrowed."""

    kecamatan_ids: tuple[int, ...] | None
    names: tuple[str, ...] = ()

    @property
    def narrowed(self) -> bool:
        """True when fewer than all kecamatan are covered."""
        return self.kecamatan_ids is not None


async def narrow_scope(session: AsyncSession, identity: Identity, names: list[str]) -> Scope:
    """The officer's scope, or the named kecamatan within it (names: case-insensitive).

    Raises UnknownKecamatan for names the registry lacks, OutOfScope for names outside the scope.
    """
    if not names and identity.scope is None:
        return Scope(None)
    known = {k.id: k.name for k in await registry.list_kecamatan(session)}
    if not names:
        own = tuple(sorted(identity.scope or ()))
        return Scope(own, tuple(known[i] for i in own if i in known))
    by_name = {name.lower(): i for i, name in known.items()}
    wanted = {n: by_name.get(" ".join(n.split()).lower()) for n in names}
    unknown = [n for n, i in wanted.items() if i is None]
    if unknown:
        raise UnknownKecamatan(unknown)
    outside = [known[i] for i in wanted.values() if i is not None and not identity.sees(i)]
    if outside:
        raise OutOfScope(outside)
    chosen = sorted({i for i in wanted.values() if i is not None}, key=lambda i: known[i])
    return Scope(tuple(chosen), tuple(known[i] for i in chosen))


def split_arguments(words: list[str]) -> tuple[int | None, list[str]]:
    """A command's arguments as (year, kecamatan names): "2025 Kupang Timur, Semau".

    A first word of four digits is the year; the rest, split at commas, name kecamatan (so a
    kecamatan whose name holds a number is still read as a name).
    """
    year = None
    if words and len(words[0]) == 4 and words[0].isdigit():
        year, words = int(words[0]), words[1:]
    names = [" ".join(part.split()) for part in " ".join(words).split(",")]
    return year, [n for n in names if n]


def fiscal_year_allowed(year: int, last_closed: int) -> bool:
    """True for a fiscal year from the first KopDesk knows to the last closed one."""
    return FIRST_FISCAL_YEAR <= year <= last_closed
