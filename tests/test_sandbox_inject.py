"""The sandbox's raw-update routes: any update kind, redeliveries, restarted numbering."""

from __future__ import annotations

import telegram
import pytest

from bot.sandbox import Sandbox, SandboxClient

USER = 1001
GROUP = -100777
CHANNEL = -100888


@pytest.fixture
async def sandbox():
    sb = Sandbox(seed=7)
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def bot(sandbox: Sandbox):
    b = telegram.Bot(sandbox.bot_token, base_url=sandbox.base_url, base_file_url=sandbox.file_base_url)
    async with b:
        yield b


def person(user_id: int, *, is_bot: bool = False) -> dict:
    return {"id": user_id, "is_bot": is_bot, "first_name": f"U{user_id}"}


async def test_raw_kinds_reach_the_bot_and_messages_are_stored(bot: telegram.Bot, client: SandboxClient) -> None:
    group = {"id": GROUP, "type": "supergroup", "title": "Warga"}
    channel = {"id": CHANNEL, "type": "channel", "title": "Kabar"}
    sent = await client.inject({"message": {"from": person(42, is_bot=True), "chat": group, "text": "hai"}})
    assert sent["message"]["message_id"] == 1
    await client.inject({"edited_message": {"message_id": 1, "from": person(42, is_bot=True), "chat": group,
                                            "text": "hai lagi"}})
    await client.inject({"channel_post": {"sender_chat": channel, "chat": channel, "text": "pengumuman"}})
    await client.inject({"poll_answer": {"poll_id": "p1", "user": person(USER), "option_ids": [0],
                                          "option_persistent_ids": ["a"]}})
    updates = await bot.get_updates()
    assert [u.effective_message.text if u.effective_message else u.poll_answer.poll_id for u in updates] == [
        "hai", "hai lagi", "pengumuman", "p1"]
    assert updates[0].message.from_user.is_bot and updates[2].channel_post.from_user is None
    # The bot can reply to the stored message; the edit changed what the chat holds.
    reply = await bot.send_message(GROUP, "balas", reply_to_message_id=1)
    assert reply.reply_to_message.text == "hai lagi"


async def test_inline_message_callback_is_recorded_and_answerable(bot: telegram.Bot, client: SandboxClient) -> None:
    update = await client.inject({"callback_query": {"from": person(USER), "inline_message_id": "AAA", "data": "x"}})
    query_id = update["callback_query"]["id"]
    assert (await client.callbacks())[query_id]["answered"] is False
    [got] = await bot.get_updates()
    assert got.callback_query.message is None and got.callback_query.inline_message_id == "AAA"
    assert await got.callback_query.answer("ok")
    record = (await client.callbacks())[query_id]
    assert record["answered"] and record["answer"]["text"] == "ok"


async def test_redelivery_and_restarted_numbering_are_delivered_after_confirmation(
    bot: telegram.Bot, client: SandboxClient
) -> None:
    first = await client.send_text(USER, "satu")
    [got] = await bot.get_updates()
    assert await bot.get_updates(offset=got.update_id + 1) == ()  # confirmed
    # Telegram sends the same update again (the confirmation was lost): it must come through.
    await client.inject({"message": first["message"]}, update_id=first["update_id"])
    [again] = await bot.get_updates(offset=got.update_id + 1)
    assert again.update_id == first["update_id"] and again.message.text == "satu"
    # After a quiet week Telegram numbers from somewhere else, possibly lower.
    await client.restart_update_ids(first["update_id"] - 5)
    restarted = await client.send_text(USER, "dua")
    assert restarted["update_id"] == first["update_id"] - 5
    [new] = await bot.get_updates(offset=got.update_id + 1)
    assert new.message.text == "dua"
    assert await bot.get_updates(offset=new.update_id + 1) == ()
    assert await client.pending_updates() == 0
