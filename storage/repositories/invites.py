"""Invite codes, wrong-code attempts, self-registration requests, and the cooperatives to invite."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Cooperative,
    Invite,
    InviteFailure,
    Kecamatan,
    ManagerLink,
    ManagerPosition,
    RegistrationRequest,
    RequestStatus,
)


async def add_invite(
    session: AsyncSession, *, code: str, cooperative_id: int, created_by: int,
    created_at: datetime, expires_at: datetime,
) -> Invite:
    """Store a new invite."""
    invite = Invite(code=code, cooperative_id=cooperative_id, created_by=created_by,
                    created_at=created_at, expires_at=expires_at)
    session.add(invite)
    await session.flush()
    return invite


async def code_exists(session: AsyncSession, code: str) -> bool:
    """True if an invite with this code was ever issued."""
    return (await session.execute(select(Invite.id).where(Invite.code == code))).first() is not None


async def get_invite(session: AsyncSession, code: str) -> Invite | None:
    """The invite with this code."""
    return (await session.execute(select(Invite).where(Invite.code == code))).scalar_one_or_none()


async def claim_invite(session: AsyncSession, invite_id: int, telegram_id: int, at: datetime) -> bool:
    """Mark the invite used by this user, unless someone used it first (single use)."""
    result = await session.execute(
        update(Invite)
        .where(Invite.id == invite_id, Invite.used_at.is_(None))
        .values(used_at=at, used_by=telegram_id)
    )
    return result.rowcount == 1


async def add_failure(session: AsyncSession, telegram_id: int, at: datetime) -> None:
    """Record one wrong code."""
    session.add(InviteFailure(telegram_id=telegram_id, at=at))
    await session.flush()


async def failures_since(session: AsyncSession, telegram_id: int, since: datetime) -> tuple[int, datetime | None]:
    """How many wrong codes since `since`, and when the oldest of them was."""
    count, oldest = (
        await session.execute(
            select(func.count(), func.min(InviteFailure.at)).where(
                InviteFailure.telegram_id == telegram_id, InviteFailure.at >= since
            )
        )
    ).one()
    return int(count), oldest


async def pending_request(session: AsyncSession, telegram_id: int, cooperative_id: int) -> RegistrationRequest | None:
    """An undecided request of this user for this cooperative."""
    stmt = select(RegistrationRequest).where(
        RegistrationRequest.telegram_id == telegram_id,
        RegistrationRequest.cooperative_id == cooperative_id,
        RegistrationRequest.status == RequestStatus.PENDING,
    )
    return (await session.execute(stmt)).scalars().first()


async def add_request(
    session: AsyncSession, *, telegram_id: int, cooperative_id: int, position: ManagerPosition
) -> RegistrationRequest:
    """Store a new self-registration request."""
    request = RegistrationRequest(telegram_id=telegram_id, cooperative_id=cooperative_id, position=position)
    session.add(request)
    await session.flush()
    return request


async def get_request(session: AsyncSession, request_id: int) -> RegistrationRequest | None:
    """The request with this id."""
    return await session.get(RegistrationRequest, request_id)


async def decide_request(
    session: AsyncSession, request_id: int, status: RequestStatus, officer_id: int, at: datetime
) -> bool:
    """Record the decision unless the request was decided already (two officers at once)."""
    result = await session.execute(
        update(RegistrationRequest)
        .where(RegistrationRequest.id == request_id, RegistrationRequest.status == RequestStatus.PENDING)
        .values(status=status, decided_by=officer_id, decided_at=at)
    )
    return result.rowcount == 1


# --- cooperatives to invite -----------------------------------------------------------------


@dataclass(frozen=True)
class InviteTarget:
    """A cooperative with what an invitation shows of it and whether it has a manager already."""

    cooperative: Cooperative
    kecamatan: str
    managed: bool


def _targets() -> Select[tuple[Cooperative, str, bool]]:
    managed = exists().where(ManagerLink.cooperative_id == Cooperative.id)
    return select(Cooperative, Kecamatan.name, managed).join(Kecamatan, Kecamatan.id == Cooperative.kecamatan_id)


async def cooperatives_by_numbers(session: AsyncSession, numbers: Collection[str]) -> dict[str, InviteTarget]:
    """The cooperatives with these registration numbers (any case), by lower-cased number."""
    lowered = {n.strip().lower() for n in numbers if n.strip()}
    if not lowered:
        return {}
    rows = await session.execute(_targets().where(func.lower(Cooperative.registration_number).in_(lowered)))
    return {coop.registration_number.lower(): InviteTarget(coop, name, bool(managed)) for coop, name, managed in rows}


async def cooperatives_in_kecamatan(session: AsyncSession, kecamatan_ids: Collection[int]) -> list[InviteTarget]:
    """Every cooperative of these kecamatan, by kecamatan, desa and name (the same on every backend)."""
    rows = await session.execute(_targets().where(Cooperative.kecamatan_id.in_(list(kecamatan_ids))))
    targets = [InviteTarget(coop, name, bool(managed)) for coop, name, managed in rows]
    # Sorted here, not in SQL: SQLite and PostgreSQL collate names and NULLs differently.
    targets.sort(key=lambda t: (t.kecamatan.casefold(), (t.cooperative.desa or "").casefold(),
                                t.cooperative.name.casefold(), t.cooperative.id))
    return targets
