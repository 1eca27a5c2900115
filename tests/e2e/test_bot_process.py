"""The real `kopdesk run` process against the sandbox, driven like a user over HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.i18n import t
from bot.sandbox import SandboxClient
from storage.db import Database
from storage.models import InboundUpdate, OutboundCall, PersistedConversation
from tests.e2e.conftest import BotProcess, handled, wait_until

USER = 4242
pytestmark = pytest.mark.e2e


def texts(messages: list[dict]) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in messages]


async def test_start_shows_welcome_and_menu(bot: BotProcess, client: SandboxClient) -> None:
    """/start answers with the welcome and a reply keyboard of the guest's actions."""
    await client.send_text(USER, "/start")
    [reply] = await client.wait_for_messages(USER, count=1)
    assert reply["text"].startswith("Selamat datang di KopDesk")
    keyboard = reply["reply_markup"]["keyboard"]
    labels = [button["text"] if isinstance(button, dict) else button for row in keyboard for button in row]
    assert t("id", "menu.help") in labels and t("id", "menu.language") in labels


async def test_language_switch_by_button(bot: BotProcess, client: SandboxClient) -> None:
    """/bahasa, tap English: the confirmation and later answers are in English."""
    await client.send_text(USER, "/bahasa")
    [prompt] = await client.wait_for_messages(USER, count=1)
    data = [b["callback_data"] for row in prompt["reply_markup"]["inline_keyboard"] for b in row]
    assert data == ["lang:id", "lang:en"]
    await client.press(USER, prompt["message_id"], "lang:en")
    [done] = await client.wait_for_messages(USER, after_id=prompt["message_id"], count=1)
    assert done["text"] == t("en", "lang.set")
    await client.send_text(USER, "/help")
    [help_msg] = await client.wait_for_messages(USER, after_id=done["message_id"], count=1)
    assert help_msg["text"].startswith(t("en", "help.header"))


async def test_conversation_survives_kill_9(
    bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """kill -9 while /bahasa waits for an answer; after a restart the typed answer is taken."""
    sent = await client.send_text(USER, "/bahasa")
    [prompt] = await client.wait_for_messages(USER, count=1)
    await wait_until(lambda: handled(db, sent["update_id"]), what="/bahasa to commit")
    async with db.session() as session:
        states = (await session.execute(select(PersistedConversation.state))).scalars().all()
    assert states == ["choosing_language"]

    await bot.kill9()
    await bot.start()

    answered = await client.send_text(USER, "English")
    [answer] = await client.wait_for_messages(USER, after_id=prompt["message_id"], count=1)
    assert answer["text"] == t("en", "lang.set")
    await wait_until(lambda: handled(db, answered["update_id"]), what="the answer to commit")
    async with db.session() as session:
        remaining = (await session.execute(select(func.count()).select_from(PersistedConversation))).scalar_one()
    assert remaining == 0


async def test_unknown_command_and_sticker(bot: BotProcess, client: SandboxClient) -> None:
    """An unknown command is named; a sticker gets a helpful answer, not silence."""
    await client.send_text(USER, "/tidakada")
    [first] = await client.wait_for_messages(USER, count=1)
    assert first["text"].startswith(t("id", "unknown.command", command="/tidakada"))
    await client.send_sticker(USER)
    [second] = await client.wait_for_messages(USER, after_id=first["message_id"], count=1)
    assert second["text"] == t("id", "input.nontext_outside")


async def test_flood_gets_one_warning(bot: BotProcess, client: SandboxClient, db: Database) -> None:
    """25 messages in a minute: 20 answers, one warning, the rest ignored but logged."""
    ids = [(await client.send_text(USER, f"pesan {i}"))["update_id"] for i in range(25)]
    for update_id in ids:
        await wait_until(lambda u=update_id: handled(db, u), what=f"update {update_id}")
    messages = await client.messages(USER)
    assert texts(messages).count(t("id", "flood.warning")) == 1
    assert len(messages) == 21
    async with db.session() as session:
        throttled = (
            await session.execute(
                select(func.count()).where(InboundUpdate.user_id == USER, InboundUpdate.throttled)
            )
        ).scalar_one()
    assert throttled == 5


async def test_429_storm_is_waited_out(bot: BotProcess, client: SandboxClient) -> None:
    """Three 429s in a row on sendMessage: the reply still arrives, after the retry_after."""
    await client.set_faults(script=["429:1", "429:1", "429:1"], methods=["sendMessage"])
    await client.send_text(USER, "/start")
    [reply] = await client.wait_for_messages(USER, count=1, timeout=30)
    assert reply["text"].startswith("Selamat datang")
    statuses = [c["status"] for c in await client.calls(method="sendMessage")]
    assert statuses.count(429) >= 3 and statuses[-1] == 200


async def test_5xx_burst_and_dropped_connection_are_retried(
    bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """500, 502 and a dropped connection: the reply arrives and the log shows 4 attempts."""
    await client.set_faults(script=["500", "502", "drop"], methods=["sendMessage"])
    sent = await client.send_text(USER, "/start")
    [reply] = await client.wait_for_messages(USER, count=1, timeout=30)
    assert reply["text"].startswith("Selamat datang")
    await wait_until(lambda: handled(db, sent["update_id"]), what="the update to commit")
    async with db.session() as session:
        row = (
            await session.execute(select(OutboundCall).where(OutboundCall.method == "sendMessage"))
        ).scalar_one()
    assert (row.ok, row.attempts, row.message_id) == (True, 4, reply["message_id"])


async def test_user_who_blocks_mid_reply_does_not_stop_the_bot(
    bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """The user blocks the bot while it answers: 403 logged, no retry storm, next user served."""
    await client.set_faults(script=["slow:1.5"], methods=["sendMessage"])
    sent = await client.send_text(USER, "/bantuan")

    async def reply_in_flight() -> bool:
        return any(c["fault"] == "slow" for c in await client.calls(method="sendMessage"))

    await wait_until(reply_in_flight, what="the reply to be in flight")
    await client.block(USER)
    await wait_until(lambda: handled(db, sent["update_id"]), what="the blocked user's update")

    await client.send_text(USER + 1, "/start")
    [reply] = await client.wait_for_messages(USER + 1, count=1)
    assert reply["text"].startswith("Selamat datang")
    assert await client.messages(USER) == []
    async with db.session() as session:
        refused = (
            await session.execute(
                select(OutboundCall.error).where(OutboundCall.chat_id == USER)
            )
        ).scalars().all()
    assert len(refused) == 1 and "blocked" in refused[0]
