"""Audiences: which cooperatives a message is for, and the people it therefore reaches.

An audience is all cooperatives, some kecamatan, a status, a type, or chosen cooperatives
(SPEC 6 and 7; meetings use the same). It resolves to the reachable linked managers of the
matching cooperatives — people with a Telegram id who have not blocked the bot — each once,
within the officer's kecamatan scope. The preview's count comes from the same query as the
recipients, so it is exact.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import Recipient
from bot.services.roles import Identity
from storage.models import CoopStatus, CoopType
from storage.repositories import audience as repo
from storage.repositories import registry

MAX_CHOSEN = 50  # cooperatives picked one by one; a bigger audience is a kecamatan, status or type


class AudienceKind(enum.StrEnum):
    """How the cooperatives are chosen."""

    ALL = "all"
    KECAMATAN = "kecamatan"
    STATUS = "status"
    TYPE = "type"
    COOPERATIVES = "cooperatives"


@dataclass(frozen=True)
class Audience:
    """The cooperatives a message is for; build with the class methods."""

    kind: AudienceKind
    kecamatan_ids: tuple[int, ...] = ()
    status: CoopStatus | None = None
    type: CoopType | None = None
    cooperative_ids: tuple[int, ...] = ()

    @classmethod
    def everyone(cls) -> Audience:
        """Every cooperative (in the officer's scope)."""
        return cls(AudienceKind.ALL)

    @classmethod
    def in_kecamatan(cls, *kecamatan_ids: int) -> Audience:
        """The cooperatives of these kecamatan."""
        return cls(AudienceKind.KECAMATAN, kecamatan_ids=tuple(sorted(set(kecamatan_ids))))

    @classmethod
    def with_status(cls, status: CoopStatus) -> Audience:
        """The cooperatives with this status."""
        return cls(AudienceKind.STATUS, status=status)

    @classmethod
    def of_type(cls, type_: CoopType) -> Audience:
        """The cooperatives of this type."""
        return cls(AudienceKind.TYPE, type=type_)

    @classmethod
    def chosen(cls, *cooperative_ids: int) -> Audience:
        """These cooperatives."""
        return cls(AudienceKind.COOPERATIVES, cooperative_ids=tuple(sorted(set(cooperative_ids))))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored with drafts, meetings...)."""
        return {
            "kind": self.kind.value,
            "kecamatan_ids": list(self.kecamatan_ids),
            "status": self.status.value if self.status else None,
            "type": self.type.value if self.type else None,
            "cooperative_ids": list(self.cooperative_ids),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Audience:
        """The audience stored by `to_json`."""
        return cls(
            AudienceKind(data["kind"]),
            kecamatan_ids=tuple(data.get("kecamatan_ids") or ()),
            status=CoopStatus(data["status"]) if data.get("status") else None,
            type=CoopType(data["type"]) if data.get("type") else None,
            cooperative_ids=tuple(data.get("cooperative_ids") or ()),
        )

    def cooperatives(self, scope: Collection[int] | None) -> Any:
        """A SELECT of the ids of the matching cooperatives within `scope` (meetings use it)."""
        return self._cooperatives(scope)

    def _cooperatives(self, scope: Collection[int] | None) -> Any:
        kind = self.kind
        return repo.cooperative_ids(
            scope=scope,
            kecamatan_ids=self.kecamatan_ids if kind is AudienceKind.KECAMATAN else None,
            status=self.status if kind is AudienceKind.STATUS else None,
            type_=self.type if kind is AudienceKind.TYPE else None,
            ids=self.cooperative_ids if kind is AudienceKind.COOPERATIVES else None,
        )


@dataclass(frozen=True)
class AudienceSize:
    """The preview's numbers: cooperatives matched, those reached, and recipients."""

    cooperatives: int
    reached_cooperatives: int
    recipients: int


async def recipients(
    session: AsyncSession, audience: Audience, *, scope: Collection[int] | None
) -> list[Recipient]:
    """The reachable managers of the audience's cooperatives within `scope` (None: all)."""
    rows = await repo.managers(session, audience._cooperatives(scope))
    return [Recipient(chat_id=telegram_id, person_id=person_id) for person_id, telegram_id in rows]


async def size(session: AsyncSession, audience: Audience, *, scope: Collection[int] | None) -> AudienceSize:
    """How many cooperatives match, how many have a reachable manager, how many people get it."""
    return AudienceSize(*await repo.counts(session, audience._cooperatives(scope)))


def chosen_ids(stored: dict[str, Any] | None) -> set[int]:
    """The cooperatives picked one by one so far in a draft's stored audience."""
    current = Audience.from_json(stored) if stored else None
    return set(current.cooperative_ids) if current and current.kind is AudienceKind.COOPERATIVES else set()


async def toggle_chosen(
    session: AsyncSession, stored: dict[str, Any] | None, cooperative_id: int, identity: Identity
) -> Audience | None:
    """The stored audience with one cooperative added or removed (chosen cooperatives); None if
    the cooperative is unknown, outside the officer's scope, or one too many."""
    coop = await registry.get_cooperative(session, cooperative_id)
    if coop is None or not identity.sees(coop.kecamatan_id):
        return None
    chosen = chosen_ids(stored) ^ {cooperative_id}
    if len(chosen) > MAX_CHOSEN:
        return None
    return Audience.chosen(*chosen)
