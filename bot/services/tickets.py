"""Tickets: a manager's question handed to the officers, and the exchange that follows (SPEC 5).

No `telegram` import. What goes to the officers' chat is queued in the outbox in the caller's
transaction (so a post exists exactly when the ticket's change committed, and no handler waits
on a group's rate limit); each post is remembered as a `TicketPost`, and the message id Telegram
gave it (recorded by the delivery engine on the outbox row) is how an officer's reply finds its
ticket. Later posts reply to the first one, so a ticket is one thread in the officers' chat.

States: draft → open → answered → closed. A manager's message after an answer opens it again
(it waits for an officer); the manager or an officer may reopen a closed ticket within the
reopen window (TICKET_REOPEN_DAYS).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.limits import Lane
from bot.delivery.outbox import Content, enqueue
from bot.i18n import shorten, t
from bot.services.audit import audit
from bot.services.roles import Identity, Role
from storage.models import Person
from storage.models_support import Ticket, TicketState
from storage.repositories import catalogue as catalogue_repo
from storage.repositories import registry
from storage.repositories import tickets as repo

SOURCE = "ticket"
QUESTION_LIMIT = 3000  # characters kept of a question (a post's text is limited to 4096)


class TicketError(Exception):
    """A change the ticket's state does not allow; `key` names the catalogue text."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


@dataclass(frozen=True)
class Officers:
    """Where and in which language the officers' chat is written to."""

    chat_id: int | None
    lang: str


def may_act(identity: Identity, ticket: Ticket) -> bool:
    """Staff act on a ticket of their kecamatan (admins and unscoped officers on all)."""
    if identity.role not in (Role.OFFICER, Role.ADMIN):
        return False
    return identity.scope is None or (ticket.kecamatan_id is not None and ticket.kecamatan_id in identity.scope)


def buttons(lang: str, ticket_id: int) -> list[list[dict[str, Any]]]:
    """Balas / Tutup under a ticket's posts in the officers' chat."""
    return [[{"text": t(lang, "ticket.button_answer"), "callback_data": f"tk:r:{ticket_id}"},
             {"text": t(lang, "ticket.button_close"), "callback_data": f"tk:x:{ticket_id}"}]]


def person_name(person: Person | None) -> str:
    """A manager's name as officers see it."""
    if person is None:
        return "?"
    name = " ".join(p for p in (person.first_name, person.last_name) if p) or str(person.telegram_id)
    return f"{name} (@{person.username})" if person.username else name


async def header(session: AsyncSession, ticket: Ticket, lang: str) -> str:
    """'🎫 Tiket #12 · KSP Maju · Kec. Amarasi' and the manager's name (HTML)."""
    coop = await registry.get_cooperative(session, ticket.cooperative_id) if ticket.cooperative_id else None
    kecamatan = ""
    if coop is not None:
        names = {k.id: k.name for k in await registry.list_kecamatan(session)}
        kecamatan = names.get(coop.kecamatan_id, "")
    person = await session.get(Person, ticket.person_id)
    return t(lang, "ticket.header", id=ticket.id, coop=html.escape(coop.name if coop else "-"),
             kecamatan=html.escape(kecamatan or "-"), manager=html.escape(person_name(person)))


async def post(
    session: AsyncSession, officers: Officers, ticket: Ticket, content: Content, *, first: bool = False
) -> bool:
    """Queue a post about the ticket in the officers' chat, in its thread; False if no chat."""
    if officers.chat_id is None:
        return False
    if not first:
        root = await repo.first_post_message_id(session, ticket.id)
        content = Content(text=content.text, parse_mode=content.parse_mode, buttons=content.buttons,
                          reply_to=root, copy_of=content.copy_of)
    batch = await enqueue(session, content, [officers.chat_id], source=(SOURCE, ticket.id),
                          lane=Lane.NOTICE)
    await repo.add_post(session, ticket.id, batch, first=first)
    return True


async def start_draft(session: AsyncSession, person: Person, topic: str | None, now: datetime) -> Ticket:
    """The manager chose to ask an officer; his next message is the question."""
    await repo.discard_drafts(session, person.id)
    return await repo.add(session, person_id=person.id, manager_telegram_id=person.telegram_id,
                          question="", topic=topic, state=TicketState.DRAFT, opened_at=now,
                          waiting_since=now)


async def open_ticket(
    session: AsyncSession, officers: Officers, person: Person, question: str, now: datetime, *,
    draft: Ticket | None = None, topic: str | None = None,
    source: tuple[int, int] | None = None, kind: str = "text",
) -> Ticket:
    """Open a ticket (from a draft or anew), post it to the officers' chat, audit it.

    `source` is (chat_id, message_id) of the manager's message; a photo or document is copied
    into the thread after the post.
    """
    links = await registry.cooperatives_of(session, person.id)
    coop = links[0][0] if links else None
    question = question.strip()[:QUESTION_LIMIT]
    if draft is None:
        draft = await repo.add(session, person_id=person.id, manager_telegram_id=person.telegram_id,
                               question="", topic=topic, state=TicketState.DRAFT, opened_at=now,
                               waiting_since=now)
    ticket = draft
    ticket.question = question
    ticket.state = TicketState.OPEN
    ticket.cooperative_id = coop.id if coop else None
    ticket.kecamatan_id = coop.kecamatan_id if coop else None
    ticket.opened_at = ticket.waiting_since = now
    if source is not None:
        await repo.add_message(session, ticket_id=ticket.id, author="manager",
                               author_telegram_id=person.telegram_id, text=question or None,
                               kind=kind, source_chat_id=source[0], source_message_id=source[1],
                               created_at=now)
    lang = officers.lang
    about = f"\n{t(lang, 'ticket.topic', topic=html.escape(ticket.topic))}" if ticket.topic else ""
    text = (f"{await header(session, ticket, lang)}{about}\n\n"
            f"{html.escape(question) or t(lang, 'ticket.no_text')}")
    await post(session, officers, ticket, Content(text=text, buttons=buttons(lang, ticket.id)), first=True)
    if source is not None and kind != "text":
        await post(session, officers, ticket, Content(copy_of=source, buttons=buttons(lang, ticket.id)))
    await audit(session, "ticket_opened", actor=person.telegram_id, subject_type="ticket",
                subject_id=ticket.id, cooperative_id=ticket.cooperative_id)
    return ticket


async def manager_wrote(
    session: AsyncSession, officers: Officers, ticket: Ticket, person: Person, text: str | None,
    source: tuple[int, int], kind: str, now: datetime,
) -> None:
    """The manager continued his ticket: it waits for an officer again; posted in the thread."""
    if ticket.state == TicketState.CLOSED:
        raise TicketError("ticket.closed_write")
    await repo.add_message(session, ticket_id=ticket.id, author="manager",
                           author_telegram_id=person.telegram_id, text=text, kind=kind,
                           source_chat_id=source[0], source_message_id=source[1], created_at=now)
    if ticket.state != TicketState.OPEN:
        ticket.state = TicketState.OPEN
        ticket.waiting_since = now
    lang = officers.lang
    if kind == "text":
        body = t(lang, "ticket.manager_more", id=ticket.id, text=html.escape(text or ""))
        await post(session, officers, ticket, Content(text=body, buttons=buttons(lang, ticket.id)))
    else:
        await post(session, officers, ticket,
                   Content(text=t(lang, "ticket.manager_file", id=ticket.id), buttons=None))
        await post(session, officers, ticket, Content(copy_of=source, buttons=buttons(lang, ticket.id)))


async def officer_answered(
    session: AsyncSession, officers: Officers, ticket: Ticket, officer_id: int, officer_name: str,
    text: str | None, source: tuple[int, int], kind: str, manager_message_id: int | None,
    now: datetime, *, note_in_thread: bool,
) -> None:
    """Record an officer's answer (already delivered to the manager as `manager_message_id`)."""
    if ticket.state in (TicketState.CLOSED, TicketState.DRAFT):
        raise TicketError("ticket.already_closed")
    await repo.add_message(session, ticket_id=ticket.id, author="officer", author_telegram_id=officer_id,
                           text=text, kind=kind, source_chat_id=source[0],
                           source_message_id=source[1], manager_message_id=manager_message_id,
                           created_at=now)
    ticket.state = TicketState.ANSWERED
    ticket.answered_at = now
    await audit(session, "ticket_answered", actor=officer_id, subject_type="ticket",
                subject_id=ticket.id, kind=kind)
    if note_in_thread:
        lang = officers.lang
        body = t(lang, "ticket.answered_note", id=ticket.id, officer=html.escape(officer_name),
                 text=html.escape(shorten(text, 1000) if text else t(lang, "ticket.file")))
        await post(session, officers, ticket, Content(text=body, buttons=save_button(lang, ticket.id)))


def save_button(lang: str, ticket_id: int) -> list[list[dict[str, Any]]]:
    """"Simpan sebagai FAQ" under an answer."""
    return [[{"text": t(lang, "ticket.button_save_faq"), "callback_data": f"tk:f:{ticket_id}"}]]


async def close(
    session: AsyncSession, officers: Officers, ticket: Ticket, by: int, by_name: str, now: datetime,
    *, by_manager: bool,
) -> None:
    """Close a ticket (manager or officer); noted in the thread."""
    if ticket.state == TicketState.CLOSED:
        raise TicketError("ticket.already_closed")
    ticket.state = TicketState.CLOSED
    ticket.closed_at = now
    ticket.closed_by = by
    await audit(session, "ticket_closed", actor=by, subject_type="ticket", subject_id=ticket.id,
                by_manager=by_manager)
    lang = officers.lang
    await post(session, officers, ticket,
               Content(text=t(lang, "ticket.closed_note", id=ticket.id, who=html.escape(by_name))))


async def reopen(
    session: AsyncSession, officers: Officers, ticket: Ticket, by: int, now: datetime,
    reopen_days: int, *, by_name: str | None = None,
) -> None:
    """Reopen a closed ticket within `reopen_days`; it waits for an officer again.

    `by` is who reopened it: the manager (`by_name` None), or an officer named `by_name`.
    """
    if ticket.state != TicketState.CLOSED:
        raise TicketError("ticket.not_closed")
    if ticket.closed_at is None or now - ticket.closed_at > timedelta(days=reopen_days):
        raise TicketError("ticket.reopen_too_late")
    ticket.state = TicketState.OPEN
    ticket.waiting_since = now
    ticket.closed_at = None
    await audit(session, "ticket_reopened", actor=by, subject_type="ticket",
                subject_id=ticket.id, by_manager=by_name is None)
    lang = officers.lang
    note = (t(lang, "ticket.reopened_note", id=ticket.id) if by_name is None
            else t(lang, "ticket.reopened_by_officer_note", id=ticket.id, who=html.escape(by_name)))
    await post(session, officers, ticket, Content(text=note, buttons=buttons(lang, ticket.id)))


async def escalate_due(
    session: AsyncSession, officers: Officers, now: datetime, after: timedelta
) -> int:
    """Raise again every ticket unanswered for `after`; returns how many."""
    due = await repo.due_for_escalation(session, now - after)
    lang = officers.lang
    for ticket in due:
        hours = int((now - ticket.waiting_since).total_seconds() // 3600)
        text = (t(lang, "ticket.escalated", id=ticket.id, hours=hours) + "\n"
                + await header(session, ticket, lang) + "\n\n" + html.escape(ticket.question))
        await post(session, officers, ticket, Content(text=text, buttons=buttons(lang, ticket.id)))
        ticket.escalated_at = now
        ticket.escalations += 1
        await audit(session, "ticket_escalated", subject_type="ticket", subject_id=ticket.id,
                    hours=hours, times=ticket.escalations)
    return len(due)


async def save_as_faq(session: AsyncSession, ticket: Ticket, officer_id: int) -> tuple[str, bool]:
    """A draft (inactive) FAQ entry from the question and the officers' answers; (key, new)."""
    existing = await catalogue_repo.faq_by_source_ticket(session, ticket.id)
    if existing is not None:
        return existing.key, False
    answers = [m.text for m in await repo.messages(session, ticket.id) if m.author == "officer" and m.text]
    if not answers:
        raise TicketError("ticket.nothing_to_save")
    key = f"draft-tiket-{ticket.id}"
    await catalogue_repo.add_faq(session, key=key, category="kelembagaan",
                                 question=ticket.question[:500] or (ticket.topic or key),
                                 answer="\n\n".join(answers)[:3000], keywords=[], active=False,
                                 source_ticket_id=ticket.id)
    await audit(session, "faq_draft_saved", actor=officer_id, subject_type="ticket",
                subject_id=ticket.id, key=key)
    return key, True
