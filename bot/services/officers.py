"""Adding and removing officers (CLI `kopdesk officers`, later /petugas), with the audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.audit import audit
from storage.models import OfficerRole
from storage.repositories import registry as repo


class UnknownKecamatan(ValueError):
    """A scope names kecamatan the registry does not know."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("unknown kecamatan: " + ", ".join(names))
        self.names = names


@dataclass(frozen=True)
class OfficerChange:
    """The outcome of an add: whether the officer was new, and the scope applied."""

    created: bool
    kecamatan: list[str]


async def add_officer(
    session: AsyncSession,
    *,
    telegram_id: int,
    name: str,
    role: OfficerRole = OfficerRole.OFFICER,
    kecamatan: Sequence[str] = (),
    actor: int | None = None,
) -> OfficerChange:
    """Add (or update) an officer with an optional kecamatan scope given by name."""
    ids = await repo.kecamatan_ids_by_name(session, kecamatan)
    unknown = [n for n, i in ids.items() if i is None]
    if unknown:
        raise UnknownKecamatan(unknown)
    existed = await repo.get_officer(session, telegram_id) is not None
    await repo.add_officer(
        session,
        telegram_id=telegram_id,
        name=name.strip(),
        role=role,
        kecamatan_ids=[i for i in ids.values() if i is not None],
    )
    await audit(
        session,
        "officer_added" if not existed else "officer_changed",
        actor=actor,
        subject_type="officer",
        subject_id=telegram_id,
        role=role.value,
        kecamatan=list(kecamatan),
    )
    return OfficerChange(created=not existed, kecamatan=list(kecamatan))


async def remove_officer(session: AsyncSession, telegram_id: int, *, actor: int | None = None) -> bool:
    """Deactivate an officer; False if there was none."""
    removed = await repo.remove_officer(session, telegram_id)
    if removed:
        await audit(session, "officer_removed", actor=actor, subject_type="officer", subject_id=telegram_id)
    return removed
