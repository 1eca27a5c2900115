"""Tickets, their messages, their posts in the officers' chat, and the questions asked."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_delivery import OutboxMessage
from storage.models_support import (
    Question,
    Ticket,
    TicketAnswerWait,
    TicketMessage,
    TicketPost,
    TicketState,
)


async def get(session: AsyncSession, ticket_id: int) -> Ticket | None:
    """One ticket by id."""
    return await session.get(Ticket, ticket_id)


async def add(session: AsyncSession, **values: Any) -> Ticket:
    """Store a ticket."""
    ticket = Ticket(**values)
    session.add(ticket)
    await session.flush()
    return ticket


async def add_message(session: AsyncSession, **values: Any) -> TicketMessage:
    """Store one message of a ticket's exchange."""
    message = TicketMessage(**values)
    session.add(message)
    await session.flush()
    return message


async def messages(session: AsyncSession, ticket_id: int) -> list[TicketMessage]:
    """A ticket's exchange in order."""
    rows = await session.execute(
        select(TicketMessage).where(TicketMessage.ticket_id == ticket_id).order_by(TicketMessage.id)
    )
    return list(rows.scalars())


async def of_manager(session: AsyncSession, person_id: int, limit: int = 10) -> list[Ticket]:
    """A manager's latest tickets (drafts left out), newest first."""
    rows = await session.execute(
        select(Ticket)
        .where(Ticket.person_id == person_id, Ticket.state != TicketState.DRAFT)
        .order_by(Ticket.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())


async def draft_of(session: AsyncSession, person_id: int, since: datetime) -> Ticket | None:
    """The manager's ticket that waits for him to type the question, if started after `since`."""
    rows = await session.execute(
        select(Ticket)
        .where(Ticket.person_id == person_id, Ticket.state == TicketState.DRAFT, Ticket.opened_at >= since)
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return rows.scalars().first()


async def discard_drafts(session: AsyncSession, person_id: int) -> None:
    """Forget the manager's unfinished drafts (a new one replaces them)."""
    await session.execute(
        delete(Ticket).where(Ticket.person_id == person_id, Ticket.state == TicketState.DRAFT)
    )


async def waiting_for_manager(session: AsyncSession, person_id: int, since: datetime) -> Ticket | None:
    """His latest ticket answered after `since`: his next message continues it."""
    rows = await session.execute(
        select(Ticket)
        .where(Ticket.person_id == person_id, Ticket.state == TicketState.ANSWERED,
               Ticket.answered_at >= since)
        .order_by(Ticket.answered_at.desc())
        .limit(1)
    )
    return rows.scalars().first()


async def open_for_staff(
    session: AsyncSession, scope: Collection[int] | None, limit: int = 20
) -> list[Ticket]:
    """Tickets waiting for an officer, oldest first, within a kecamatan scope (None: all)."""
    stmt = select(Ticket).where(Ticket.state == TicketState.OPEN)
    if scope is not None:
        stmt = stmt.where(Ticket.kecamatan_id.in_(list(scope)))
    rows = await session.execute(stmt.order_by(Ticket.waiting_since, Ticket.id).limit(limit))
    return list(rows.scalars())


async def closed_for_staff(
    session: AsyncSession, scope: Collection[int] | None, since: datetime, limit: int = 10
) -> list[Ticket]:
    """Tickets closed after `since` (they may still be reopened), newest first, within a scope."""
    stmt = select(Ticket).where(Ticket.state == TicketState.CLOSED, Ticket.closed_at >= since)
    if scope is not None:
        stmt = stmt.where(Ticket.kecamatan_id.in_(list(scope)))
    rows = await session.execute(stmt.order_by(Ticket.closed_at.desc(), Ticket.id.desc()).limit(limit))
    return list(rows.scalars())


async def open_awaiting_officer(session: AsyncSession, person_id: int) -> Ticket | None:
    """The manager's latest ticket that waits for an officer and has not been answered yet."""
    rows = await session.execute(
        select(Ticket)
        .where(Ticket.person_id == person_id, Ticket.state == TicketState.OPEN, Ticket.answered_at.is_(None))
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    return rows.scalars().first()


async def last_manager_activity(session: AsyncSession, ticket: Ticket) -> datetime:
    """When the manager last wrote on the ticket (its opening if he sent nothing since)."""
    last = (await session.execute(
        select(func.max(TicketMessage.created_at))
        .where(TicketMessage.ticket_id == ticket.id, TicketMessage.author == "manager")
    )).scalar()
    return max(ticket.opened_at, last) if last is not None else ticket.opened_at


async def due_for_escalation(session: AsyncSession, before: datetime, limit: int = 100) -> list[Ticket]:
    """Open tickets waiting since before `before`, not raised again since then."""
    rows = await session.execute(
        select(Ticket)
        .where(Ticket.state == TicketState.OPEN, Ticket.waiting_since <= before,
               (Ticket.escalated_at.is_(None)) | (Ticket.escalated_at <= before))
        .order_by(Ticket.waiting_since)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(rows.scalars())


# --- the officers' chat: message → ticket ---------------------------------------------------


async def add_post(session: AsyncSession, ticket_id: int, batch_id: int, *, first: bool) -> None:
    """Remember the outbox row that posts (posted) this batch's message for the ticket."""
    row = (await session.execute(select(OutboxMessage.id).where(OutboxMessage.batch_id == batch_id))).scalar_one()
    session.add(TicketPost(ticket_id=ticket_id, outbox_id=row, first=first))
    await session.flush()


async def by_post(session: AsyncSession, chat_id: int, message_id: int) -> Ticket | None:
    """The ticket whose post in `chat_id` is the message `message_id` (as Telegram numbered it)."""
    rows = await session.execute(
        select(Ticket)
        .join(TicketPost, TicketPost.ticket_id == Ticket.id)
        .join(OutboxMessage, OutboxMessage.id == TicketPost.outbox_id)
        .where(OutboxMessage.chat_id == chat_id, OutboxMessage.telegram_message_id == message_id)
    )
    return rows.scalars().first()


async def first_post_message_id(session: AsyncSession, ticket_id: int) -> int | None:
    """Telegram's id of the ticket's first post in the officers' chat, once it was sent."""
    rows = await session.execute(
        select(OutboxMessage.telegram_message_id)
        .join(TicketPost, TicketPost.outbox_id == OutboxMessage.id)
        .where(TicketPost.ticket_id == ticket_id, TicketPost.first.is_(True))
    )
    return rows.scalars().first()


async def by_manager_message(session: AsyncSession, manager_id: int, message_id: int) -> Ticket | None:
    """The ticket whose answer the manager received as `message_id` in his chat."""
    rows = await session.execute(
        select(Ticket)
        .join(TicketMessage, TicketMessage.ticket_id == Ticket.id)
        .where(Ticket.manager_telegram_id == manager_id, TicketMessage.manager_message_id == message_id)
    )
    return rows.scalars().first()


# --- Balas: an officer's next private message answers a ticket ------------------------------


async def set_wait(session: AsyncSession, officer_id: int, ticket_id: int, now: datetime) -> None:
    """The officer's next private message answers `ticket_id` (replaces an earlier wait)."""
    await clear_wait(session, officer_id)
    session.add(TicketAnswerWait(officer_telegram_id=officer_id, ticket_id=ticket_id, since=now))
    await session.flush()


async def wait_of(session: AsyncSession, officer_id: int) -> TicketAnswerWait | None:
    """The ticket an officer is answering, if any."""
    return await session.get(TicketAnswerWait, officer_id)


async def clear_wait(session: AsyncSession, officer_id: int) -> None:
    """He answered (or gave up)."""
    await session.execute(delete(TicketAnswerWait).where(TicketAnswerWait.officer_telegram_id == officer_id))


# --- questions --------------------------------------------------------------------------------


async def add_question(session: AsyncSession, **values: Any) -> Question:
    """Store an asked question with the answers shown."""
    question = Question(**values)
    session.add(question)
    await session.flush()
    return question


async def question(session: AsyncSession, question_id: int) -> Question | None:
    """One question by id."""
    return await session.get(Question, question_id)
