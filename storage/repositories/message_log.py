"""The message log: inbound updates and outbound Bot API calls (SPEC 9).

An inbound update is known by its `update_id` *and* the fingerprint of its payload. Telegram
redelivers an update unchanged (same id, same JSON) until the bot confirms it, so a redelivery
matches both; but Telegram may also start numbering again (after a week without updates), and
the sandbox does at every start, so a new update can reuse an old `update_id` with a different
payload (another message id, date, text). Deduplicating on the id alone would swallow it.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundUpdate, OutboundCall
from storage.repositories.common import insert_for
from storage.types import utcnow


class InboundStatus(enum.Enum):
    """What the log already knew of an update when it arrived."""

    NEW = "new"  # first time seen: handle it
    UNFINISHED = "unfinished"  # seen before, but its handling never committed: handle it
    DONE = "done"  # handled (or throttled) already: a redelivery, skip it


def fingerprint(raw: dict[str, Any]) -> str:
    """SHA-256 of the update's canonical JSON (keys sorted): equal for a redelivered update."""
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def record_inbound(
    session: AsyncSession,
    *,
    update_id: int,
    user_id: int | None,
    chat_id: int | None,
    kind: str,
    text: str | None,
    raw: dict[str, Any],
    digest: str | None = None,
) -> InboundStatus:
    """Store an inbound update unless it is known (same id and payload); say what to do with it."""
    digest = digest or fingerprint(raw)
    stmt = (
        insert_for(session, InboundUpdate)
        .values(
            update_id=update_id,
            fingerprint=digest,
            user_id=user_id,
            chat_id=chat_id,
            kind=kind,
            text=text,
            raw=raw,
            received_at=utcnow(),
            throttled=False,
        )
        .on_conflict_do_nothing(index_elements=["update_id", "fingerprint"])
    )
    result = await session.execute(stmt)
    if result.rowcount == 1:
        return InboundStatus.NEW
    row = (
        await session.execute(
            select(InboundUpdate.handled_at, InboundUpdate.throttled).where(
                InboundUpdate.update_id == update_id, InboundUpdate.fingerprint == digest
            )
        )
    ).one()
    return InboundStatus.DONE if row.handled_at or row.throttled else InboundStatus.UNFINISHED


@dataclass(frozen=True)
class InboundRow:
    """One update to store in the inbound log."""

    update_id: int
    digest: str
    user_id: int | None
    chat_id: int | None
    kind: str
    text: str | None
    raw: dict[str, Any]
    # Set by a webhook receiver: the update waits in the workers' queue under this key.
    queue_key: int | None = None


async def record_inbound_many(
    session: AsyncSession, rows: list[InboundRow]
) -> list[tuple[InboundStatus, int]]:
    """Store a batch of updates in two statements; what to do with each (as `record_inbound`)
    and its row id in the log."""
    if not rows:
        return []
    now = utcnow()
    table = InboundUpdate.__table__
    # One statement with a parameter set per row: compiled once, sent as one multi-row INSERT.
    stmt = (
        insert_for(session, InboundUpdate)
        .on_conflict_do_nothing(index_elements=["update_id", "fingerprint"])
        .returning(table.c.update_id, table.c.fingerprint, table.c.id)
    )
    params = [
        {"update_id": r.update_id, "fingerprint": r.digest, "user_id": r.user_id,
         "chat_id": r.chat_id, "kind": r.kind, "text": r.text, "raw": r.raw,
         "received_at": now, "throttled": False, "queue_key": r.queue_key}
        for r in rows
    ]
    new = {(u, f): i for u, f, i in (await session.execute(stmt, params)).all()}
    known = [r for r in rows if (r.update_id, r.digest) not in new]
    existing: dict[tuple[int, str], tuple[int, bool]] = {}
    if known:
        found = await session.execute(
            select(table.c.update_id, table.c.fingerprint, table.c.id,
                   or_(table.c.handled_at.is_not(None), table.c.throttled.is_(True))).where(
                tuple_(table.c.update_id, table.c.fingerprint).in_(
                    [(r.update_id, r.digest) for r in known]),
            )
        )
        existing = {(u, f): (i, bool(settled)) for u, f, i, settled in found.all()}
    out: list[tuple[InboundStatus, int]] = []
    seen: set[tuple[int, str]] = set()
    for r in rows:
        key = (r.update_id, r.digest)
        if key in new:
            status, row_id = InboundStatus.NEW, new[key]
        else:
            row_id, settled = existing[key]
            status = InboundStatus.DONE if settled else InboundStatus.UNFINISHED
        if key in seen:  # delivered twice in one batch: the first one is handled
            status = InboundStatus.DONE
        seen.add(key)
        out.append((status, row_id))
    return out


# Built once: these run for every update. Core statements on the tables, not ORM-enabled ones
# (the ORM's bulk UPDATE path costs more than the statement itself); the IN list expands at
# execution, so one compiled form serves every batch size.
_INBOUND = InboundUpdate.__table__
_MARK_HANDLED = (
    update(_INBOUND)
    .where(tuple_(_INBOUND.c.update_id, _INBOUND.c.fingerprint).in_(bindparam("keys", expanding=True)),
           _INBOUND.c.handled_at.is_(None))
    .values(handled_at=bindparam("at"))
    .returning(_INBOUND.c.update_id, _INBOUND.c.fingerprint)
)
_ADD_OUTBOUND = OutboundCall.__table__.insert()


class AlreadyHandled(Exception):
    """Another process committed this update's handling first: this one must roll back."""


async def record_results(
    session: AsyncSession, outbound: list[dict[str, Any]], handled: list[tuple[int, str]]
) -> set[tuple[int, str]]:
    """Store outbound calls (`outbound_row` dicts) and mark updates (update_id, fingerprint)
    handled, in two statements whatever their number. Returns the marks someone else had
    set already: their handling must not commit (see `mark_handled`)."""
    if outbound:
        await session.execute(_ADD_OUTBOUND, outbound)
    if not handled:
        return set()
    result = await session.execute(_MARK_HANDLED, {"keys": handled, "at": utcnow()})
    return set(handled) - {(u, f) for u, f in result.all()}


async def mark_handled(session: AsyncSession, update_id: int, digest: str) -> None:
    """Record that the update's handling committed — unless someone else's already did, which
    raises `AlreadyHandled` so that this transaction rolls back (the fence between two workers
    that both believe they hold the chat, e.g. after a lock connection was lost)."""
    if await record_results(session, [], [(update_id, digest)]):
        raise AlreadyHandled(update_id)


async def mark_throttled(session: AsyncSession, update_id: int) -> None:
    """Record that the update being handled was over the sender's flood limit.

    Older rows with a reused `update_id` were settled (handled or throttled) long ago; only the
    unsettled row is the update at hand.
    """
    await session.execute(
        update(InboundUpdate)
        .where(
            InboundUpdate.update_id == update_id,
            InboundUpdate.handled_at.is_(None),
            InboundUpdate.throttled.is_(False),
        )
        .values(throttled=True)
    )


async def highest_update_id(session: AsyncSession) -> int | None:
    """The highest update_id in the log (where a sandbox should continue numbering)."""
    return (await session.execute(select(func.max(InboundUpdate.update_id)))).scalar_one_or_none()


async def unfinished_since(session: AsyncSession, since: datetime) -> list[dict[str, Any]]:
    """Raw updates received since `since` whose handling never committed, oldest first."""
    stmt = (
        select(InboundUpdate.raw)
        .where(
            InboundUpdate.received_at >= since,
            InboundUpdate.handled_at.is_(None),
            InboundUpdate.throttled.is_(False),
            InboundUpdate.queue_key.is_(None),  # the workers' queue is theirs
        )
        .order_by(InboundUpdate.id)
    )
    return list((await session.execute(stmt)).scalars())


def outbound_row(**fields: Any) -> dict[str, Any]:
    """One outbound Bot API call as `record_results` stores it (every column given)."""
    return {"created_at": utcnow(), **fields}


async def add_outbound(session: AsyncSession, **fields: Any) -> None:
    """Store one outbound Bot API call."""
    await record_results(session, [outbound_row(**fields)], [])


async def prune(session: AsyncSession, older_than: datetime) -> tuple[int, int]:
    """Delete raw logs older than the cut-off; returns (inbound, outbound) rows removed."""
    inbound = await session.execute(
        delete(InboundUpdate).where(InboundUpdate.received_at < older_than)
    )
    outbound = await session.execute(
        delete(OutboundCall).where(OutboundCall.created_at < older_than)
    )
    return inbound.rowcount or 0, outbound.rowcount or 0
