"""Roles (SPEC 1) and how a Telegram user's role is decided."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OfficerRole
from storage.repositories import registry


class Role(enum.StrEnum):
    """Who a user is to KopDesk, from least to most rights."""

    GUEST = "guest"
    MANAGER = "manager"
    OFFICER = "officer"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.OFFICER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER})
ADMINS = frozenset({Role.ADMIN})
GUESTS = frozenset({Role.GUEST})


@dataclass(frozen=True)
class Identity:
    """A user's role and, for a scoped officer, the kecamatan he may see (None: all)."""

    role: Role
    scope: frozenset[int] | None = None

    def sees(self, kecamatan_id: int) -> bool:
        """True if this staff member may see a cooperative of that kecamatan."""
        return self.role in STAFF and (self.scope is None or kecamatan_id in self.scope)

    @property
    def scope_list(self) -> list[int] | None:
        """The scope as a list for repository filters (None: everywhere)."""
        return None if self.scope is None else sorted(self.scope)


GUEST = Identity(Role.GUEST)


async def resolve_identity(
    session: AsyncSession,
    telegram_id: int,
    *,
    admin_ids: list[int],
    officer_role: OfficerRole | None,
    is_manager: bool,
) -> Identity:
    """The role of a Telegram user from the facts loaded for his update.

    Admins come from ADMIN_IDS or an officer row with the admin role; officers from the
    officers table (with their kecamatan scope, read here: officers are few); managers are
    people linked to a cooperative.
    """
    if telegram_id in admin_ids or officer_role == OfficerRole.ADMIN:
        return Identity(Role.ADMIN)
    if officer_role is not None:
        scope = await registry.officer_scope(session, telegram_id)
        return Identity(Role.OFFICER, None if scope is None else frozenset(scope))
    if is_manager:
        return Identity(Role.MANAGER)
    return GUEST
