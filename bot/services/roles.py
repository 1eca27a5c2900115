"""Roles (SPEC 1) and how a Telegram user's role is decided."""

from __future__ import annotations

import enum

from sqlalchemy.ext.asyncio import AsyncSession


class Role(enum.StrEnum):
    """Who a user is to KopDesk, from least to most rights."""

    GUEST = "guest"
    MANAGER = "manager"
    OFFICER = "officer"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.OFFICER, Role.ADMIN})


async def resolve_role(
    session: AsyncSession, telegram_id: int, *, admin_ids: list[int]
) -> Role:
    """The role of a Telegram user: admins from configuration, everyone else a guest."""
    if telegram_id in admin_ids:
        return Role.ADMIN
    return Role.GUEST
