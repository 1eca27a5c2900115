"""Questions and tickets end to end (SPEC 5): the real process, the sandbox, the database.

A manager's question answered from the catalogue; a ticket with a photo, answered in the
officers' chat by reply, a kill -9 in the middle, the manager's second message (a photo) in the
same ticket and thread, an answer with a photo by Balas, escalation after 24 hours with the
process's clock moved, close and reopen, a scoped officer refused, and bad input.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import write_offset
from bot.i18n import t
from bot.sandbox import SandboxClient
from bot.seed import seed_demo
from storage.db import Database
from storage.models import AuditEntry, Cooperative, Kecamatan, ManagerPosition
from storage.models_support import Ticket, TicketState
from storage.repositories import people, registry
from tests.conftest import OFFICERS_CHAT
from tests.e2e.conftest import BotProcess, wait_until

pytestmark = pytest.mark.e2e
MANAGER, OTHER, OFFICER, SCOPED = 7301, 7302, 7303, 7304
GROUP = {"id": OFFICERS_CHAT, "type": "supergroup", "title": "Petugas Koperasi"}


def buttons(message: dict) -> list[str]:
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in keyboard for b in row]


@pytest.fixture
def offset_file(tmp_path: Path) -> Path:
    path = tmp_path / "clock-offset"
    write_offset(path, timedelta(0))
    return path


@pytest.fixture
def bot_env(bot_env: dict[str, str], offset_file: Path) -> dict[str, str]:
    return {**bot_env, "CLOCK_OFFSET_FILE": str(offset_file), "TICKET_ESCALATION_TICK_SECONDS": "1"}


@pytest.fixture
async def world(db: Database) -> dict[str, int]:
    """The demo registry and catalogue; a manager of the first cooperative, two officers."""
    await seed_demo(db)
    async with db.session() as session:
        coop = (await session.execute(select(Cooperative).order_by(Cooperative.id).limit(1))).scalar_one()
        other_kecamatan = (await session.execute(
            select(Kecamatan.id).where(Kecamatan.id != coop.kecamatan_id).limit(1))).scalar_one()
        person = await people.seen(session, telegram_id=MANAGER, first_name="Yohana", last_name=None,
                                   username=None, telegram_language="id")
        await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                    position=ManagerPosition.KETUA)
        await registry.add_officer(session, telegram_id=OFFICER, name="Petugas")
        await registry.add_officer(session, telegram_id=SCOPED, name="Terbatas", kecamatan_ids=[other_kecamatan])
    return {"coop": coop.id}


async def ticket_state(db: Database) -> str | None:
    async with db.session() as session:
        ticket = (await session.execute(select(Ticket).where(Ticket.state != "draft"))).scalars().first()
        return ticket.state if ticket else None


async def last(client: SandboxClient, chat_id: int) -> dict:
    return (await client.messages(chat_id))[-1]


async def test_question_answered_and_ticket_round_trip(
    world, bot: BotProcess, client: SandboxClient, db: Database, offset_file: Path
) -> None:
    await client.register_chat(OFFICERS_CHAT, type="supergroup", title="Petugas Koperasi")
    await client.send_text(OFFICER, "/start")
    await client.wait_for_messages(OFFICER, count=1)

    # 1. A question answered from the catalogue.
    await client.send_text(MANAGER, "gimana cara mengajukan kur?")
    [found] = await client.wait_for_messages(MANAGER, count=1)
    count = int(re.search(r"\((\d)\)", found["text"]).group(1))
    assert found["text"] == t("id", "ask.found", count=count) and 1 <= count <= 3
    answers = await client.wait_for_messages(MANAGER, after_id=found["message_id"], count=count)
    assert "KUR" in answers[0]["text"]
    assert [d.split(":")[1] for d in buttons(answers[0])] == ["ok", "q"]
    seen = answers[-1]["message_id"]

    # 2. Ask an officer, with a photo.
    await client.send_text(MANAGER, "❓ Tanya Petugas")
    [prompt] = await client.wait_for_messages(MANAGER, after_id=seen, count=1)
    assert prompt["text"] == t("id", "ask.type_question")
    await client.send_photo(MANAGER, caption="Apakah neraca kami sudah benar?")
    [opened] = await client.wait_for_messages(MANAGER, after_id=prompt["message_id"] + 1, count=1)
    async def open_ticket() -> int | None:
        async with db.session() as session:
            return (await session.execute(select(Ticket.id).where(Ticket.state == "open"))).scalar()

    ticket_id = await wait_until(open_ticket, what="the ticket committed")
    assert opened["text"] == t("id", "ticket.opened", id=ticket_id)
    post, photo_copy = await client.wait_for_messages(OFFICERS_CHAT, count=2)
    assert f"Tiket #{ticket_id}" in post["text"] and "neraca" in post["text"]
    assert buttons(post) == [f"tk:r:{ticket_id}", f"tk:x:{ticket_id}"]
    assert photo_copy["photo"] and photo_copy["method"] == "copyMessage"

    # 3. A scoped officer of another kecamatan is refused, and it is audited.
    query = await client.press(SCOPED, post["message_id"], f"tk:r:{ticket_id}", chat_id=OFFICERS_CHAT)
    refusal = await client.callback_answer(query["id"])
    assert refusal["text"] == t("id", "ticket.out_of_scope", id=ticket_id)

    # 4. The officer answers by replying to the post in the officers' chat.
    await client.send_text(OFFICER, "Neraca sudah benar, tinggal tanda tangan pengawas.", chat=GROUP,
                           reply_to_message_id=post["message_id"])
    [answered] = await client.wait_for_messages(MANAGER, after_id=opened["message_id"], count=1)
    assert "tinggal tanda tangan pengawas" in answered["text"] and f"#{ticket_id}" in answered["text"]
    await wait_until(lambda: _is(db, TicketState.ANSWERED), what="ticket answered")

    # 5. kill -9 in the middle of the exchange; the ticket survives in the database.
    await bot.kill9()
    await bot.start()

    # 6. The manager replies to the answer with a photo: same ticket, same thread.
    group_seen = (await last(client, OFFICERS_CHAT))["message_id"]
    await client.send_photo(MANAGER, caption="Ini halaman kedua", reply_to_message_id=answered["message_id"])
    [more] = await client.wait_for_messages(MANAGER, after_id=answered["message_id"], count=1)
    assert more["text"] == t("id", "ticket.sent_more", id=ticket_id)
    note, copy2 = await client.wait_for_messages(OFFICERS_CHAT, after_id=group_seen, count=2)
    assert note["text"] == t("id", "ticket.manager_file", id=ticket_id)
    assert note["reply_to_message_id"] == post["message_id"]
    assert copy2["photo"] and copy2["reply_to_message_id"] == post["message_id"]
    assert await ticket_state(db) == TicketState.OPEN
    async with db.session() as session:
        assert len((await session.execute(select(Ticket).where(Ticket.state != "draft"))).all()) == 1

    # 7. Balas: the officer answers in his private chat, with a photo.
    officer_seen = (await last(client, OFFICER))["message_id"]
    query = await client.press(OFFICER, post["message_id"], f"tk:r:{ticket_id}", chat_id=OFFICERS_CHAT)
    assert (await client.callback_answer(query["id"]))["text"] == t("id", "ticket.answer_in_private")
    [ask_answer] = await client.wait_for_messages(OFFICER, after_id=officer_seen, count=1)
    assert f"#{ticket_id}" in ask_answer["text"]
    await client.send_photo(OFFICER, caption="Contoh yang benar")
    header, officer_photo = await client.wait_for_messages(MANAGER, after_id=more["message_id"], count=2)
    assert header["text"] == t("id", "ticket.answer_file", id=ticket_id)
    assert officer_photo["photo"] and officer_photo["caption"] == "Contoh yang benar"
    await wait_until(lambda: _is(db, TicketState.ANSWERED), what="the answer committed")

    # 8. He writes again (his next free text continues the ticket); unanswered for 25 hours,
    # the ticket is raised again in the officers' chat.
    await client.send_text(MANAGER, "Kapan kami bisa antar dokumennya?")
    [added] = await client.wait_for_messages(MANAGER, after_id=officer_photo["message_id"], count=1)
    assert added["text"] == t("id", "ticket.sent_more", id=ticket_id)
    write_offset(offset_file, timedelta(hours=25))

    async def escalated() -> bool:
        return any("⏰" in (m.get("text") or "") for m in await client.messages(OFFICERS_CHAT))

    await wait_until(escalated, timeout=30, what="the ticket raised again after 24 h")
    async with db.session() as session:
        actions = set((await session.execute(select(AuditEntry.action))).scalars())
    assert {"ticket_opened", "ticket_answered", "ticket_escalated", "access_denied"} <= actions

    # 9. Close, then reopen from /tiket_saya.
    await client.send_text(MANAGER, "/tiket_saya")
    [mine] = await client.wait_for_messages(MANAGER, after_id=added["message_id"], count=1)
    assert buttons(mine) == [f"tk:c:{ticket_id}"]
    await client.press(MANAGER, mine["message_id"], f"tk:c:{ticket_id}")
    await wait_until(lambda: _is(db, TicketState.CLOSED), what="ticket closed")
    await client.press(MANAGER, mine["message_id"], f"tk:o:{ticket_id}")
    await wait_until(lambda: _is(db, TicketState.OPEN), what="ticket reopened")

    # 10. Bad input: an officer replies to a bot message that is not a ticket; a forged button.
    delivered = next(m for m in await client.messages(OFFICERS_CHAT)
                     if m.get("text") == t("id", "ticket.delivered", id=ticket_id))
    await client.send_text(OFFICER, "ini tiket?", chat=GROUP, reply_to_message_id=delivered["message_id"])

    async def told_not_a_ticket() -> bool:
        return (await last(client, OFFICERS_CHAT)).get("text") == t("id", "ticket.not_a_ticket")

    await wait_until(told_not_a_ticket, what="not-a-ticket answer")
    await client.send_text(OTHER, "/start")
    await client.wait_for_messages(OTHER, count=1)
    other_seen = (await last(client, OTHER))["message_id"]
    query = await client.press(OTHER, other_seen, f"tk:c:{ticket_id}")
    assert (await client.callback_answer(query["id"]))["text"] in {
        t("id", "access.manager_only"), t("id", "access.stale_button")}
    assert await ticket_state(db) == TicketState.OPEN


async def _is(db: Database, state: str) -> bool:
    return await ticket_state(db) == state


async def test_bad_input_is_answered(world, bot: BotProcess, client: SandboxClient) -> None:
    await client.send_text(MANAGER, "/tanya")
    [empty] = await client.wait_for_messages(MANAGER, count=1)
    assert empty["text"] == t("id", "ask.empty")
    await client.send_text(MANAGER, "/tanya " + "x" * 4000)
    [long] = await client.wait_for_messages(MANAGER, after_id=empty["message_id"], count=1)
    assert long["text"] == t("id", "input.too_long", limit=1000, length=4000)
    await client.send_sticker(MANAGER)
    [sticker] = await client.wait_for_messages(MANAGER, after_id=long["message_id"], count=1)
    assert sticker["text"] == t("id", "input.nontext_outside")
    query = await client.press(MANAGER, sticker["message_id"], "tk:q:424242")
    assert (await client.callback_answer(query["id"]))["text"] == t("id", "access.stale_button")
