"""python-telegram-bot persistence on the SQL database: conversation states.

Only conversations are stored here; every other piece of state (drafts, tickets, outbox,
schedule) lives in KopDesk's own tables, where any worker can read it. A state written while an
update is being processed joins that update's transaction (see `storage.db.UnitOfWork`), so the
conversation moves on exactly when the update's work commits.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import BasePersistence, PersistenceInput
from telegram.ext._utils.types import ConversationDict, ConversationKey

from storage.db import Database
from storage.models import PersistedConversation
from storage.repositories.common import insert_for

# The periodic flush of PTB is not needed: KopDesk writes at the end of every update.
_NO_PERIODIC_FLUSH = 10**9


def _key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


async def states_for(
    session: AsyncSession, names: list[str], key: ConversationKey
) -> dict[str, object]:
    """The stored state of each named conversation for one key (absent: not in it)."""
    rows = await session.execute(
        select(PersistedConversation.name, PersistedConversation.state).where(
            PersistedConversation.name.in_(names), PersistedConversation.key == _key(key)
        )
    )
    return {name: state for name, state in rows}


class SQLPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Conversation states in the `ptb_conversations` table."""

    def __init__(self, db: Database) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=False, callback_data=False
            ),
            update_interval=_NO_PERIODIC_FLUSH,
        )
        self._db = db

    async def get_conversations(self, name: str) -> ConversationDict:
        """All stored states of one conversation handler."""
        async with self._db.session() as session:
            rows = await session.execute(
                select(PersistedConversation.key, PersistedConversation.state).where(
                    PersistedConversation.name == name
                )
            )
            return {tuple(json.loads(key)): state for key, state in rows}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Store (or, for None, forget) one conversation's state."""

        async def write(session: AsyncSession) -> None:
            if new_state is None:
                await session.execute(
                    delete(PersistedConversation).where(
                        PersistedConversation.name == name,
                        PersistedConversation.key == _key(key),
                    )
                )
                return
            stmt = (
                insert_for(session, PersistedConversation)
                .values(name=name, key=_key(key), state=new_state)
                .on_conflict_do_update(index_elements=["name", "key"], set_={"state": new_state})
            )
            await session.execute(stmt)

        # PTB hands over every conversation changed since its last run, possibly another
        # update's: route each state to the transaction of the update that changed it.
        await self._db.write(write, key=tuple(key))

    # Nothing else is persisted through PTB (see the module docstring).
    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        """Not stored: user state lives in KopDesk's tables."""
        return {}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """Not stored."""
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        """Not stored."""
        return {}

    async def get_callback_data(self) -> None:
        """Not stored: KopDesk's buttons carry plain callback data."""
        return None

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_callback_data(self, data: Any) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not stored."""

    async def drop_user_data(self, user_id: int) -> None:
        """Not stored."""

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def flush(self) -> None:
        """Nothing buffered: every write went to the database already."""
