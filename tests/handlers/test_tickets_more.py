""""Saya tertarik" on programme cards, reopening from /tiket, and a manager's add-on to a ticket
that still waits for an officer (SPEC 2 and 5), through the real application, offline.

Fixtures and helpers are those of tests/handlers/test_tickets.py (same world, same outbox reading).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.i18n import t
from storage.models import AuditEntry
from storage.models_support import Programme, Question, Ticket, TicketMessage, TicketState
from tests.conftest import OFFICERS_CHAT
from tests.handlers import test_tickets as base
from tests.handlers.test_tickets import (
    MANAGER,
    OFFICER,
    OTHER_MANAGER,
    SCOPED,
    actions,
    buttons,
    mark_sent,
    posts,
)
from tests.support.harness import fetch, running_bot
from tests.support.updates import callback_update, message_update

GUEST = 5555
world, clock_start = base.world, base.clock_start  # the same fixtures (manual_clock from conftest)


async def _programme(runtime, key: str = "bantuan-peralatan-usaha") -> Programme:
    async with runtime.db.session() as session:
        return (await session.execute(select(Programme).where(Programme.key == key))).scalar_one()


async def test_interest_is_told_to_the_officers_once(runtime, world):
    grant = await _programme(runtime)
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        await bot.feed(message_update(b, MANAGER, "/program"))
        await bot.feed(callback_update(b, MANAGER, f"pg:p:{grant.id}"))
        card = [c.params for c in bot.request.calls if c.method == "editMessageText"][-1]
        assert buttons(card)[:2] == [f"pg:i:{grant.id}", f"tk:ask:p:{grant.id}"]

        await bot.feed(callback_update(b, MANAGER, f"pg:i:{grant.id}"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "interest.recorded", programme=grant.title)
        [(row, payload)] = await posts(runtime)
        assert row.chat_id == OFFICERS_CHAT and payload.parse_mode == "HTML"
        assert grant.title in payload.text and "KSP Amarasi Jaya" in payload.text
        assert "Kec. Amarasi" in payload.text and "Pengurus: Budi" in payload.text

        # The same person again: nothing new for the officers, he is told it is recorded.
        await bot.feed(callback_update(b, MANAGER, f"pg:i:{grant.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "interest.already")
        assert len(await posts(runtime)) == 1
        # Another manager's interest in the same programme is news.
        await bot.feed(callback_update(b, OTHER_MANAGER, f"pg:i:{grant.id}"))
        assert "KSP Sulamu Jaya" in (await posts(runtime))[-1][1].text
    entries = [a for a in await fetch(runtime.db, AuditEntry) if a.action == "programme_interest"]
    assert [(a.actor_telegram_id, a.subject_id) for a in entries] == [(MANAGER, str(grant.id)),
                                                                       (OTHER_MANAGER, str(grant.id))]


async def test_a_guest_is_pointed_to_registration_and_closed_programmes_refused(runtime, world, manual_clock):
    grant = await _programme(runtime)
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        await bot.feed(callback_update(b, GUEST, f"pg:i:{grant.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "interest.guest")
        assert "/daftar" in t("id", "interest.guest")
        manual_clock.advance(timedelta(days=60))  # past its deadline
        await bot.feed(callback_update(b, MANAGER, f"pg:i:{grant.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "prog.closed")
    assert await posts(runtime) == []
    assert "programme_interest" not in await actions(runtime)


async def _ticket_about_prices(bot, runtime) -> Ticket:
    b = bot.app.bot
    await bot.feed(message_update(b, MANAGER, "harga cabai di pasar hari ini berapa?"))
    question = (await fetch(runtime.db, Question))[-1]
    await bot.feed(callback_update(b, MANAGER, f"tk:q:{question.id}"))
    return (await fetch(runtime.db, Ticket, order_by=Ticket.id))[-1]


async def test_officers_reopen_a_recently_closed_ticket_from_the_list(runtime, world, manual_clock):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        ticket = await _ticket_about_prices(bot, runtime)
        await bot.feed(message_update(b, OFFICER, "/tiket"))
        assert buttons(bot.request.sent(OFFICER)[-1]) == [f"tk:r:{ticket.id}", f"tk:x:{ticket.id}"]
        await bot.feed(callback_update(b, OFFICER, f"tk:x:{ticket.id}"))
        assert (await fetch(runtime.db, Ticket))[0].state == TicketState.CLOSED

        await bot.feed(message_update(b, OFFICER, "/tiket"))
        listing = bot.request.sent(OFFICER)[-1]
        assert buttons(listing) == [f"tk:ro:{ticket.id}"]
        assert t("id", "ticket.list_closed_header", days=7) in listing["text"]
        # Not in the scoped officer's list, and his forged press is refused and audited.
        await bot.feed(message_update(b, SCOPED, "/tiket"))
        assert bot.request.texts(SCOPED)[-1] == t("id", "ticket.none_open")
        await bot.feed(callback_update(b, SCOPED, f"tk:ro:{ticket.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "ticket.out_of_scope", id=ticket.id)
        assert (await fetch(runtime.db, Ticket))[0].state == TicketState.CLOSED

        await bot.feed(callback_update(b, OFFICER, f"tk:ro:{ticket.id}"))
        assert (await fetch(runtime.db, Ticket))[0].state == TicketState.OPEN
        assert bot.request.texts(MANAGER)[-1] == t("id", "ticket.reopened_by_officer", id=ticket.id)
        note = (await posts(runtime))[-1][1]
        assert note.text == t("id", "ticket.reopened_by_officer_note", id=ticket.id, who="Budi") and note.buttons
        await bot.feed(callback_update(b, OFFICER, f"tk:ro:{ticket.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "ticket.not_closed", id=ticket.id)

        # Past the window: no longer listed, and the button says why.
        await bot.feed(callback_update(b, OFFICER, f"tk:x:{ticket.id}"))
        manual_clock.advance(timedelta(days=8))
        await bot.feed(message_update(b, OFFICER, "/tiket"))
        assert bot.request.texts(OFFICER)[-1] == t("id", "ticket.none_open")
        await bot.feed(callback_update(b, OFFICER, f"tk:ro:{ticket.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "ticket.reopen_too_late", id=ticket.id, days=7)
    audit = await fetch(runtime.db, AuditEntry, order_by=AuditEntry.id)
    reopened = [a for a in audit if a.action == "ticket_reopened"]
    assert [(a.actor_telegram_id, a.details["by_manager"]) for a in reopened] == [(OFFICER, False)]
    assert any(a.action == "access_denied" and a.actor_telegram_id == SCOPED for a in audit)


async def test_more_text_while_the_ticket_waits_is_added_to_it(runtime, world, manual_clock):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        ticket = await _ticket_about_prices(bot, runtime)
        [(root, _)] = await posts(runtime)
        await mark_sent(runtime, root.id, 777)

        manual_clock.advance(timedelta(hours=5))
        await bot.feed(message_update(b, MANAGER, "maksudnya harga cabai rawit di pasar Oesao ya pak"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "ticket.added_to_open", id=ticket.id)
        added = (await posts(runtime))[-1][1]
        assert "cabai rawit" in added.text and added.reply_to_message_id == 777
        # His window runs from his last message: five hours later it is still the same case.
        manual_clock.advance(timedelta(hours=5))
        await bot.feed(message_update(b, MANAGER, "kalau bisa dengan harga minggu lalu juga"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "ticket.added_to_open", id=ticket.id)

        # /tanya always asks anew, even inside the window.
        found = t("id", "ask.found", count=1).split("(")[0]
        await bot.feed(message_update(b, MANAGER, "/tanya syarat pinjaman LPDB"))
        assert any(text.startswith(found) for text in bot.request.texts(MANAGER)[-4:])
        assert len(await fetch(runtime.db, TicketMessage)) == 2

        # Later than the window after his last message, text is a new question again.
        manual_clock.advance(timedelta(hours=7))
        await bot.feed(message_update(b, MANAGER, "bagaimana cara mengajukan kur?"))
        assert any(text.startswith(found) for text in bot.request.texts(MANAGER)[-4:])
    messages = await fetch(runtime.db, TicketMessage, order_by=TicketMessage.id)
    assert [m.text for m in messages] == ["maksudnya harga cabai rawit di pasar Oesao ya pak",
                                          "kalau bisa dengan harga minggu lalu juga"]
    assert len(await fetch(runtime.db, Ticket)) == 1
    assert (await fetch(runtime.db, Ticket))[0].state == TicketState.OPEN


async def test_a_closed_ticket_is_not_extended_by_the_add_on_rule(runtime, world):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        ticket = await _ticket_about_prices(bot, runtime)
        await bot.feed(callback_update(b, OFFICER, f"tk:x:{ticket.id}"))
        await bot.feed(message_update(b, MANAGER, "bagaimana cara mengajukan kur?"))
        assert bot.request.texts(MANAGER)[-1] != t("id", "ticket.added_to_open", id=ticket.id)
    assert await fetch(runtime.db, TicketMessage) == []
