"""Programme interest, a manager's add-on to a waiting ticket, and an officer's reopen from
/tiket, end to end (SPEC 2 and 5): the real process, the sandbox, the database.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from bot.i18n import t
from bot.sandbox import SandboxClient
from storage.db import Database
from storage.models import AuditEntry, Cooperative
from storage.models_support import Programme, Ticket, TicketState
from tests.conftest import OFFICERS_CHAT
from tests.e2e import test_tickets as base
from tests.e2e.conftest import BotProcess, wait_until
from tests.e2e.test_tickets import MANAGER, OFFICER, buttons, ticket_state

pytestmark = pytest.mark.e2e
world, offset_file, bot_env = base.world, base.offset_file, base.bot_env  # the same fixtures


async def test_interest_add_on_and_officer_reopen(world, bot: BotProcess, client: SandboxClient, db: Database) -> None:
    await client.register_chat(OFFICERS_CHAT, type="supergroup", title="Petugas Koperasi")
    await client.send_text(OFFICER, "/start")
    await client.wait_for_messages(OFFICER, count=1)

    # 1. "Saya tertarik" on a programme card: the officers hear of it, the manager is told.
    async with db.session() as session:
        programme = (await session.execute(
            select(Programme).where(Programme.active.is_(True), Programme.deadline.is_(None))
            .order_by(Programme.id).limit(1))).scalar_one()
    await client.send_text(MANAGER, "/program")
    [menu] = await client.wait_for_messages(MANAGER, count=1)
    await client.press(MANAGER, menu["message_id"], f"pg:p:{programme.id}")

    async def card_shown() -> bool:
        return f"pg:i:{programme.id}" in buttons((await client.messages(MANAGER))[-1])

    await wait_until(card_shown, what="the programme card with Saya tertarik")
    await client.press(MANAGER, menu["message_id"], f"pg:i:{programme.id}")
    [recorded] = await client.wait_for_messages(MANAGER, after_id=menu["message_id"], count=1)
    # The sandbox keeps the text Telegram would show: the HTML tags become entities.
    assert recorded["text"] == re.sub(r"<[^>]+>", "", t("id", "interest.recorded", programme=programme.title))
    [notice] = await client.wait_for_messages(OFFICERS_CHAT, count=1)
    async with db.session() as session:
        coop = await session.get(Cooperative, world["coop"])
    assert programme.title in notice["text"] and coop.name in notice["text"]
    assert f"Pengurus: User{MANAGER}" in notice["text"]  # the sandbox's name for him

    # 2. A question for an officer, then more text while it waits: the same ticket and thread.
    await client.send_text(MANAGER, "❓ Tanya Petugas")
    [prompt] = await client.wait_for_messages(MANAGER, after_id=recorded["message_id"], count=1)
    await client.send_text(MANAGER, "Kapan dana hibah untuk koperasi kami cair?")
    [opened] = await client.wait_for_messages(MANAGER, after_id=prompt["message_id"] + 1, count=1)
    [post] = await client.wait_for_messages(OFFICERS_CHAT, after_id=notice["message_id"], count=1)
    async with db.session() as session:
        ticket_id = (await session.execute(select(Ticket.id).where(Ticket.state == "open"))).scalar_one()
    assert opened["text"] == t("id", "ticket.opened", id=ticket_id)
    await client.send_text(MANAGER, "Proposalnya sudah kami kirim bulan lalu lewat kecamatan")
    [added] = await client.wait_for_messages(MANAGER, after_id=opened["message_id"] + 1, count=1)
    assert added["text"] == t("id", "ticket.added_to_open", id=ticket_id)
    [more] = await client.wait_for_messages(OFFICERS_CHAT, after_id=post["message_id"], count=1)
    assert "Proposalnya sudah kami kirim" in more["text"] and more["reply_to_message_id"] == post["message_id"]
    async with db.session() as session:
        assert len((await session.execute(select(Ticket).where(Ticket.state != "draft"))).all()) == 1

    # 3. The officer closes it, then reopens it from /tiket; the manager is told.
    await client.press(OFFICER, post["message_id"], f"tk:x:{ticket_id}", chat_id=OFFICERS_CHAT)
    await wait_until(lambda: _is(db, TicketState.CLOSED), what="ticket closed")
    officer_seen = (await client.messages(OFFICER))[-1]["message_id"]
    await client.send_text(OFFICER, "/tiket")
    [listing] = await client.wait_for_messages(OFFICER, after_id=officer_seen + 1, count=1)
    assert buttons(listing) == [f"tk:ro:{ticket_id}"]
    manager_seen = (await client.messages(MANAGER))[-1]["message_id"]
    await client.press(OFFICER, listing["message_id"], f"tk:ro:{ticket_id}")
    await wait_until(lambda: _is(db, TicketState.OPEN), what="ticket reopened by the officer")
    [told] = await client.wait_for_messages(MANAGER, after_id=manager_seen, count=1)
    assert told["text"] == t("id", "ticket.reopened_by_officer", id=ticket_id)
    async with db.session() as session:
        actions = list((await session.execute(select(AuditEntry.action))).scalars())
    assert {"programme_interest", "ticket_opened", "ticket_closed", "ticket_reopened"} <= set(actions)


async def _is(db: Database, state: str) -> bool:
    return await ticket_state(db) == state
