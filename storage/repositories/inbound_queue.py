"""The workers' queue: updates a webhook receiver logged, taken one chat at a time (PostgreSQL).

A worker keeps one connection of its own (autocommit) for the queue. For a chat with waiting
updates it takes the chat's advisory lock on that connection (`pg_try_advisory_lock`: another
worker holding the chat is skipped, never waited for), then takes the chat's oldest waiting
update, counting the attempt, and hands it to the update's own transaction; after that commits
it lets the lock go. A worker that dies loses its connection, and with it its locks: the next
worker takes the same update (its attempt count says how often this happened). So one chat's
updates are handled one after another in `id` order, different chats in parallel anywhere.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.models import InboundUpdate

_T = InboundUpdate.__table__
LOCK_CLASS = 0x4B4451  # the first key of KopDesk's advisory locks (the second: the chat's hash)


def queued(table: Any = _T) -> Any:
    """Rows waiting in the workers' queue: exactly the partial index's condition
    (`throttled = false`, not `IS false`, or PostgreSQL will not use the index)."""
    return and_(table.c.queue_key.is_not(None), table.c.handled_at.is_(None),
                table.c.throttled == false())


def lock_id(queue_key: int) -> int:
    """The chat's 64-bit key folded to the signed 32 bits of an advisory lock's second key.
    Two chats may share a lock: they are then handled one after the other, nothing worse."""
    folded = (queue_key ^ (queue_key >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= 1 << 31 else folded


# The row's chat is not held by any worker: none of our advisory locks in pg_locks (the lock's
# second key shows there as an unsigned oid, hence the fold without the sign). Without this a
# worker could be handed only chats others hold and sit idle with a backlog.
_NOT_HELD = text(
    "NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory'"
    " AND l.classid::bigint = :lock_class AND l.objsubid = 2"
    " AND l.objid::bigint = ((inbound_updates.queue_key # (inbound_updates.queue_key >> 32))"
    " & 4294967295))"
).bindparams(lock_class=LOCK_CLASS)


@dataclass(frozen=True)
class Waiting:
    """An update taken from the queue."""

    id: int
    update_id: int
    fingerprint: str
    raw: dict[str, Any]
    attempts: int  # this one included


async def heads(conn: AsyncConnection, *, limit: int, skip: Collection[int] = ()) -> list[int]:
    """Keys of chats with waiting updates that no worker holds, the longest waiting first."""
    first = func.min(_T.c.id)
    stmt = (select(_T.c.queue_key).where(queued(), _NOT_HELD).group_by(_T.c.queue_key)
            .order_by(first).limit(limit))
    if skip:
        stmt = stmt.where(_T.c.queue_key.not_in(list(skip)))
    return list((await conn.execute(stmt)).scalars())


async def try_lock(conn: AsyncConnection, queue_key: int) -> bool:
    """Hold the chat on this connection, unless another worker does."""
    result = await conn.execute(text("SELECT pg_try_advisory_lock(:c, :k)"),
                                {"c": LOCK_CLASS, "k": lock_id(queue_key)})
    return bool(result.scalar_one())


async def unlock(conn: AsyncConnection, queue_key: int) -> None:
    """Let the chat go."""
    await conn.execute(text("SELECT pg_advisory_unlock(:c, :k)"),
                       {"c": LOCK_CLASS, "k": lock_id(queue_key)})


async def take(conn: AsyncConnection, queue_key: int) -> Waiting | None:
    """The chat's oldest waiting update, its attempt counted (call with the chat held).

    Oldest by Telegram's `update_id` (the order Telegram numbered them), not by the log's row id:
    two receivers may commit one chat's updates in the other order. `handled_at IS NULL` is
    checked again on the row itself, so an update handled meanwhile is never taken."""
    oldest = (select(_T.c.id).where(_T.c.queue_key == queue_key, queued())
              .order_by(_T.c.update_id, _T.c.id).limit(1).scalar_subquery())
    stmt = (update(_T).where(_T.c.id == oldest, _T.c.handled_at.is_(None))
            .values(attempts=_T.c.attempts + 1)
            .returning(_T.c.id, _T.c.update_id, _T.c.fingerprint, _T.c.raw, _T.c.attempts))
    row = (await conn.execute(stmt)).first()
    return Waiting(*row) if row is not None else None


async def settle(conn: AsyncConnection, row_id: int, now: datetime) -> None:
    """Mark an update done outside its transaction: its handlers failed and the error handler
    answered, or it was given up after too many attempts."""
    await conn.execute(update(_T).where(_T.c.id == row_id, _T.c.handled_at.is_(None))
                       .values(handled_at=now))


async def depth(conn: AsyncConnection) -> int:
    """Updates waiting."""
    return int((await conn.execute(select(func.count()).where(queued()))).scalar_one())
