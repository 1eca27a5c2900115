"""Questions and tickets through the real application, offline (SPEC 5).

The delivery engine does not run here: posts to the officers' chat are read from the outbox,
and Telegram's message id of a post is set on its outbox row as the engine would record it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot import clock
from bot.i18n import t
from bot.runtime import Runtime
from bot.seed import seed_catalogue
from bot.services import tickets as service
from storage.models import (
    AuditEntry,
    Cooperative,
    CoopForm,
    CoopType,
    Kecamatan,
    ManagerPosition,
    OfficerRole,
)
from storage.models_delivery import OutboxMessage, OutboxPayload
from storage.models_support import FaqEntry, Question, Ticket, TicketState
from storage.repositories import people, registry
from tests.conftest import OFFICERS_CHAT
from tests.support.harness import fetch, running_bot
from tests.support.updates import callback_update, message_update, sticker_update

MANAGER, OTHER_MANAGER, OFFICER, SCOPED = 7101, 7102, 7103, 7104
GROUP = {"id": OFFICERS_CHAT, "type": "supergroup", "title": "Petugas Dinas"}
BOT_MESSAGE = {"date": 0, "chat": GROUP, "from": {"id": 123456, "is_bot": True, "first_name": "KopDesk"},
               "text": "🎫 Tiket"}


@pytest.fixture
def clock_start() -> datetime:
    return datetime(2027, 2, 1, 1, 0, tzinfo=UTC)


@pytest.fixture
async def world(runtime: Runtime, manual_clock) -> dict[str, int]:
    """Two kecamatan, a manager in each, an officer for all, one scoped to the second; catalogue."""
    async with runtime.db.session() as session:
        home, away = Kecamatan(name="Amarasi"), Kecamatan(name="Sulamu")
        session.add_all([home, away])
        await session.flush()
        coops = [Cooperative(registration_number=f"BH-{k.name}", name=f"KSP {k.name} Jaya", form=CoopForm.PRIMER,
                             type=CoopType.SIMPAN_PINJAM, kecamatan_id=k.id, incorporated_on=date(2010, 1, 1))
                 for k in (home, away)]
        session.add_all(coops)
        await session.flush()
        for telegram_id, coop in ((MANAGER, coops[0]), (OTHER_MANAGER, coops[1])):
            person = await people.seen(session, telegram_id=telegram_id, first_name="Maria", last_name=None,
                                       username="maria", telegram_language="id")
            await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                        position=ManagerPosition.KETUA)
        await registry.add_officer(session, telegram_id=OFFICER, name="Petugas")
        await registry.add_officer(session, telegram_id=SCOPED, name="Scoped", role=OfficerRole.OFFICER,
                                   kecamatan_ids=[away.id])
        await seed_catalogue(session, runtime.settings.tz)
    return {"home": home.id, "away": away.id}


async def posts(runtime: Runtime) -> list[tuple[OutboxMessage, OutboxPayload]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(OutboxMessage, OutboxPayload).join(OutboxPayload, OutboxPayload.id == OutboxMessage.payload_id)
            .where(OutboxMessage.chat_id == OFFICERS_CHAT).order_by(OutboxMessage.id))
        return [tuple(r) for r in rows]


async def mark_sent(runtime: Runtime, outbox_id: int, message_id: int) -> None:
    """What the delivery engine records once Telegram accepted the post."""
    async with runtime.db.session() as session:
        await session.execute(update(OutboxMessage).where(OutboxMessage.id == outbox_id)
                              .values(state="sent", telegram_message_id=message_id))


async def actions(runtime: Runtime) -> list[str]:
    return [a.action for a in await fetch(runtime.db, AuditEntry, order_by=AuditEntry.id)]


def buttons(call: dict) -> list[str]:
    markup = call.get("reply_markup") or {}
    return [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]


async def test_a_question_is_answered_from_the_catalogue(runtime, world):
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, MANAGER, "gimana cara dapat kur di bank?"))
        sent = bot.request.sent(MANAGER)
        assert sent[0]["text"].startswith(t("id", "ask.found", count=len(sent) - 1)[:20])
        answers = sent[1:]
        assert 1 <= len(answers) <= 3
        assert "KUR" in answers[0]["text"]
        question = (await fetch(runtime.db, Question))[0]
        assert buttons(answers[0]) == [f"tk:ok:{question.id}", f"tk:q:{question.id}"]
        await bot.feed(callback_update(bot.app.bot, MANAGER, f"tk:ok:{question.id}"))
    assert (await fetch(runtime.db, Question))[0].resolved is True
    assert await fetch(runtime.db, Ticket) == []


async def test_bad_input_gets_a_clear_answer(runtime, world):
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, MANAGER, "/tanya"))
        await bot.feed(message_update(bot.app.bot, MANAGER, "/tanya " + "modal " * 700))
        await bot.feed(sticker_update(bot.app.bot, MANAGER))
        texts = bot.request.texts(MANAGER)
    assert texts[0] == t("id", "ask.empty")
    assert texts[1] == t("id", "input.too_long", limit=1000, length=len(("modal " * 700).strip()))
    assert texts[2] == t("id", "input.nontext_outside")
    assert await fetch(runtime.db, Ticket) == []


async def test_ticket_round_trip_by_reply_with_follow_up_and_scope(runtime, world, manual_clock):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        await bot.feed(message_update(b, MANAGER, "harga cabai di pasar hari ini berapa?"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "ask.none")
        question = (await fetch(runtime.db, Question))[0]
        # A forged button: another manager presses the first one's question.
        await bot.feed(callback_update(b, OTHER_MANAGER, f"tk:q:{question.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "access.stale_button")
        await bot.feed(callback_update(b, MANAGER, f"tk:q:{question.id}"))
        ticket = (await fetch(runtime.db, Ticket))[0]
        assert bot.request.texts(MANAGER)[-1] == t("id", "ticket.opened", id=ticket.id)
        [(row, payload)] = await posts(runtime)
        assert "Tiket #" in payload.text and "KSP Amarasi Jaya" in payload.text and "Amarasi" in payload.text
        assert "harga cabai" in payload.text and "Pengurus: Budi" in payload.text
        assert [b_["callback_data"] for b_ in payload.buttons[0]] == [f"tk:r:{ticket.id}", f"tk:x:{ticket.id}"]
        await mark_sent(runtime, row.id, 555)

        # A scoped officer of another kecamatan may not answer; the refusal is audited.
        await bot.feed(message_update(b, SCOPED, "Saya jawab", chat=GROUP, reply_to_message={**BOT_MESSAGE, "message_id": 555}))
        assert bot.request.texts(OFFICERS_CHAT)[-1] == t("id", "ticket.out_of_scope", id=ticket.id)
        assert "access_denied" in await actions(runtime)
        # An officer replies to a message that is not a ticket.
        await bot.feed(message_update(b, OFFICER, "ini apa?", chat=GROUP, reply_to_message={**BOT_MESSAGE, "message_id": 999}))
        assert bot.request.texts(OFFICERS_CHAT)[-1] == t("id", "ticket.not_a_ticket")
        # The officer answers by replying to the post.
        await bot.feed(message_update(b, OFFICER, "Harga cabai tanyakan ke Dinas Perdagangan.", chat=GROUP,
                                      reply_to_message={**BOT_MESSAGE, "message_id": 555}))
        answer = bot.request.sent(MANAGER)[-1]
        assert "Harga cabai tanyakan ke Dinas Perdagangan." in answer["text"] and f"#{ticket.id}" in answer["text"]
        answer_id = bot.request.results("sendMessage")[-2]["message_id"]  # before the group confirmation
        assert bot.request.texts(OFFICERS_CHAT)[-1] == t("id", "ticket.delivered", id=ticket.id)
        assert (await fetch(runtime.db, Ticket))[0].state == TicketState.ANSWERED

        # The manager replies to the answer: the same ticket, in the same thread.
        await bot.feed(message_update(b, MANAGER, "Baik, terima kasih. Satu lagi: jam buka?",
                                      reply_to_message={**BOT_MESSAGE, "chat": {"id": MANAGER, "type": "private"},
                                                        "message_id": answer_id}))
        assert bot.request.texts(MANAGER)[-1] == t("id", "ticket.sent_more", id=ticket.id)
        follow_up = (await posts(runtime))[-1][1]
        assert "jam buka" in follow_up.text and follow_up.reply_to_message_id == 555
        assert (await fetch(runtime.db, Ticket))[0].state == TicketState.OPEN
        assert len(await fetch(runtime.db, Ticket)) == 1
    assert (await actions(runtime)).count("ticket_answered") == 1
    assert "ticket_opened" in await actions(runtime)


async def test_cancel_drops_a_question_being_typed(runtime, world):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        await bot.feed(message_update(b, MANAGER, "❓ Tanya Petugas"))
        await bot.feed(message_update(b, MANAGER, "/batal"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "cancel.done")
        await bot.feed(message_update(b, MANAGER, "bagaimana cara mengajukan kur?"))
        found = t("id", "ask.found", count=1).split("(")[0]
        assert any(text.startswith(found) for text in bot.request.texts(MANAGER)[-4:])
        await bot.feed(message_update(b, MANAGER, "/batal"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "cancel.nothing")
    assert await fetch(runtime.db, Ticket) == []


async def test_balas_in_private_with_a_photo_and_save_as_faq(runtime, world):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        await bot.feed(message_update(b, MANAGER, "❓ Tanya Petugas"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "ask.type_question")
        photo = [{"file_id": "PHOTO-1", "file_unique_id": "u1", "width": 90, "height": 90}]
        await bot.feed(message_update(b, MANAGER, None, photo=photo, caption="Neraca kami begini, benar?"))
        ticket = (await fetch(runtime.db, Ticket))[0]
        assert ticket.question == "Neraca kami begini, benar?"
        copies = [p for _, p in await posts(runtime) if p.copy_message_id]
        assert copies and copies[0].copy_from_chat_id == MANAGER

        await bot.feed(callback_update(b, SCOPED, f"tk:r:{ticket.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "ticket.out_of_scope", id=ticket.id)
        await bot.feed(callback_update(b, OFFICER, f"tk:r:{ticket.id}"))
        assert f"#{ticket.id}" in bot.request.texts(OFFICER)[-1]
        await bot.feed(message_update(b, OFFICER, None, photo=photo, caption="Contoh neraca yang benar"))
        copy = [c.params for c in bot.request.calls if c.method == "copyMessage"][-1]
        assert int(copy["chat_id"]) == MANAGER and int(copy["from_chat_id"]) == OFFICER
        assert bot.request.texts(OFFICER)[-1] == t("id", "ticket.delivered", id=ticket.id)
        # The officer's next private text is not taken as another answer.
        await bot.feed(message_update(b, OFFICER, "halo"))
        assert bot.request.texts(OFFICER)[-1] != t("id", "ticket.delivered", id=ticket.id)

        await bot.feed(callback_update(b, OFFICER, f"tk:f:{ticket.id}"))
    [draft] = await fetch(runtime.db, FaqEntry, FaqEntry.source_ticket_id == ticket.id)
    assert draft.active is False and draft.answer == "Contoh neraca yang benar"
    assert draft.question == "Neraca kami begini, benar?"


async def test_escalation_close_and_reopen(runtime, world, manual_clock):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        await bot.feed(message_update(b, MANAGER, "❓ Tanya Petugas"))
        await bot.feed(message_update(b, MANAGER, "Kapan dana hibah cair?"))
        ticket = (await fetch(runtime.db, Ticket))[0]
        officers = service.Officers(OFFICERS_CHAT, "id")
        async with runtime.db.session() as session:
            assert await service.escalate_due(session, officers, clock.now(), timedelta(hours=24)) == 0
        manual_clock.advance(timedelta(hours=25))
        async with runtime.db.session() as session:
            assert await service.escalate_due(session, officers, clock.now(), timedelta(hours=24)) == 1
        async with runtime.db.session() as session:
            assert await service.escalate_due(session, officers, clock.now(), timedelta(hours=24)) == 0
        assert "⏰" in (await posts(runtime))[-1][1].text
        assert "ticket_escalated" in await actions(runtime)

        await bot.feed(message_update(b, OFFICER, "/tiket"))
        assert f"#{ticket.id}" in bot.request.texts(OFFICER)[-1]
        await bot.feed(message_update(b, SCOPED, "/tiket"))
        assert bot.request.texts(SCOPED)[-1] == t("id", "ticket.none_open")

        await bot.feed(callback_update(b, MANAGER, f"tk:c:{ticket.id}"))
        assert (await fetch(runtime.db, Ticket))[0].state == TicketState.CLOSED
        await bot.feed(message_update(b, MANAGER, "/tiket_saya"))
        mine = bot.request.sent(MANAGER)[-1]
        assert buttons(mine) == [f"tk:o:{ticket.id}"]
        await bot.feed(callback_update(b, MANAGER, f"tk:o:{ticket.id}"))
        assert (await fetch(runtime.db, Ticket))[0].state == TicketState.OPEN
        await bot.feed(callback_update(b, MANAGER, f"tk:c:{ticket.id}"))
        manual_clock.advance(timedelta(days=8))
        await bot.feed(callback_update(b, MANAGER, f"tk:o:{ticket.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "ticket.reopen_too_late", id=ticket.id, days=7)
        assert (await fetch(runtime.db, Ticket))[0].state == TicketState.CLOSED
    assert {"ticket_closed", "ticket_reopened"} <= set(await actions(runtime))


async def test_programme_browsing_hides_past_deadlines(runtime, world, manual_clock):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        await bot.feed(message_update(b, 5555, "/program"))  # a guest
        categories = bot.request.sent(5555)[-1]
        assert "pg:c:permodalan:0" in buttons(categories)
        await bot.feed(callback_update(b, 5555, "pg:c:permodalan:0"))
        listing = [c.params for c in bot.request.calls if c.method == "editMessageText"][-1]
        async with runtime.db.session() as session:
            from storage.models_support import Programme
            grant = (await session.execute(select(Programme).where(Programme.key == "bantuan-peralatan-usaha"))).scalar_one()
        assert f"pg:p:{grant.id}" in buttons(listing)
        await bot.feed(callback_update(b, 5555, f"pg:p:{grant.id}"))
        card = [c.params for c in bot.request.calls if c.method == "editMessageText"][-1]
        assert "28 Februari 2027 pukul 23.59 WITA" in card["text"]
        assert f"tk:ask:p:{grant.id}" in buttons(card)
        manual_clock.advance(timedelta(days=60))  # past its deadline
        await bot.feed(callback_update(b, 5555, "pg:c:permodalan:0"))
        listing = [c.params for c in bot.request.calls if c.method == "editMessageText"][-1]
        assert f"pg:p:{grant.id}" not in buttons(listing)
        await bot.feed(callback_update(b, 5555, f"pg:p:{grant.id}"))
        assert bot.request.calls[-1].params["text"] == t("id", "prog.closed")


async def test_a_long_answer_reaches_the_manager_in_parts(runtime, world):
    async with running_bot(runtime) as bot:
        b = bot.app.bot
        await bot.feed(message_update(b, MANAGER, "❓ Tanya Petugas"))
        await bot.feed(message_update(b, MANAGER, "Mohon penjelasan lengkap tentang RAT"))
        ticket = (await fetch(runtime.db, Ticket))[0]
        await bot.feed(callback_update(b, OFFICER, f"tk:r:{ticket.id}"))
        long_answer = "\n".join(f"Langkah {i}: siapkan dokumen RAT dan undangan anggota." for i in range(80))
        assert len(long_answer) > 4000
        await bot.feed(message_update(b, OFFICER, long_answer))
        parts = bot.request.texts(MANAGER)[-2:]
        assert all(len(p) <= 4096 for p in parts) and "Langkah 79" in parts[-1]
        assert bot.request.texts(OFFICER)[-1] == t("id", "ticket.delivered", id=ticket.id)
    note = (await posts(runtime))[-1][1]
    assert len(note.text) < 1200 and note.text.startswith("✅")
