"""Who is spoken to (SPEC 10): bots, foreign groups, channel posts and member updates are logged
and not answered; personal data stays in the private chat; the officers' chat gets officers' work."""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Update

from bot.i18n import t
from bot.runtime import Runtime
from storage.models import AuditEntry, Cooperative, CoopForm, CoopStatus, CoopType, InboundUpdate, Kecamatan, ManagerPosition
from storage.repositories import people, registry
from tests.conftest import ADMIN_ID, OFFICERS_CHAT
from tests.support.harness import fetch, running_bot
from tests.support.updates import message_update, user

MANAGER = 6200
GUEST = 6201
FOREIGN_GROUP = -100777
ANONYMOUS_ADMIN = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
_ids = itertools.count(50_000)


def _update(bot: Any, kind: str, payload: dict[str, Any]) -> Update:
    return Update.de_json({"update_id": next(_ids), kind: payload}, bot)


def _message(chat: dict[str, Any], sender: dict[str, Any] | None, text: str, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"message_id": next(_ids), "date": int(time.time()), "chat": chat, "text": text, **extra}
    if sender is not None:
        message["from"] = sender
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return message


def _group(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "type": "supergroup", "title": "Grup"}


async def _manager(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        kec = Kecamatan(name="Kupang Barat")
        session.add(kec)
        await session.flush()
        coop = Cooperative(registration_number="BH-9/2010", name="KSP Rahasia Sejahtera", form=CoopForm.PRIMER,
                           type=CoopType.JASA, kecamatan_id=kec.id, status=CoopStatus.AKTIF,
                           status_reason="alasan pribadi")
        session.add(coop)
        await session.flush()
        person = await people.seen(session, telegram_id=MANAGER, first_name="Yakobus", last_name="Rahasia",
                                   username=None, telegram_language="id")
        person.phone = "+6281234567890"
        await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                    position=ManagerPosition.KETUA)


def _pointer() -> str:
    return t("id", "chats.private_only", link="https://t.me/kopdesk_bot")


async def test_messages_from_bots_are_logged_not_answered(runtime: Runtime) -> None:
    """Another bot writing in private or in the officers' chat gets nothing; the update is logged."""
    other_bot = {"id": 5555, "is_bot": True, "first_name": "Spam", "username": "spam_bot"}
    async with running_bot(runtime) as bot:
        updates = [
            _update(bot.app.bot, "message", _message({"id": 5555, "type": "private", "first_name": "Spam"}, other_bot, "/start")),
            _update(bot.app.bot, "message", _message(_group(OFFICERS_CHAT), other_bot, "/bantuan")),
            _update(bot.app.bot, "message", _message({"id": 5555, "type": "private", "first_name": "Spam"}, other_bot, "halo")),
        ]
        for update in updates:
            await bot.feed(update)
        assert bot.request.sent() == []
    rows = await fetch(runtime.db, InboundUpdate)
    assert sorted(r.update_id for r in rows) == sorted(u.update_id for u in updates)
    assert all(r.handled_at is not None for r in rows)


async def test_anonymous_admin_start_code_in_officers_chat_is_quiet(runtime: Runtime) -> None:
    """/start CODE from Telegram's anonymous group admin: no crash, no apology in the officers' chat."""
    async with running_bot(runtime) as bot:
        message = _message(_group(OFFICERS_CHAT), ANONYMOUS_ADMIN, "/start ABCDEFGH",
                           sender_chat=_group(OFFICERS_CHAT))
        await bot.feed(_update(bot.app.bot, "message", message))
        assert bot.request.sent() == []
    assert await fetch(runtime.db, AuditEntry, AuditEntry.action == "error") == []


async def test_channel_posts_and_member_updates_are_quiet(runtime: Runtime) -> None:
    """A channel post of a menu label, a member update, a poll answer: logged, nothing sent, no error."""
    channel = {"id": -100999, "type": "channel", "title": "Kanal"}
    async with running_bot(runtime) as bot:
        fed = [
            _update(bot.app.bot, "channel_post", _message(channel, None, t("id", "menu.register"))),
            _update(bot.app.bot, "edited_channel_post", _message(channel, None, "/daftar", edit_date=int(time.time()))),
            _update(bot.app.bot, "my_chat_member", {
                "chat": _group(FOREIGN_GROUP), "from": user(GUEST), "date": int(time.time()),
                "old_chat_member": {"status": "left", "user": {"id": 123456, "is_bot": True, "first_name": "KopDesk"}},
                "new_chat_member": {"status": "member", "user": {"id": 123456, "is_bot": True, "first_name": "KopDesk"}},
            }),
            _update(bot.app.bot, "poll_answer", {"poll_id": "1", "user": user(GUEST), "option_ids": [0], "option_persistent_ids": ["a"]}),
        ]
        for update in fed:
            await bot.feed(update)
        assert bot.request.sent() == []
    assert await fetch(runtime.db, AuditEntry, AuditEntry.action == "error") == []
    assert len(await fetch(runtime.db, InboundUpdate)) == len(fed)


async def test_foreign_group_gets_only_a_pointer_for_a_command_to_the_bot(runtime: Runtime) -> None:
    """In a public group /profil@bot shows no personal data, only the pointer; other talk is ignored."""
    await _manager(runtime)
    group = _group(FOREIGN_GROUP)
    async with running_bot(runtime) as bot:
        for text in ("/profil@kopdesk_bot", "halo semua", "/start@other_bot", "👤 Profil", "/laporan"):
            await bot.feed(_update(bot.app.bot, "message", _message(group, user(MANAGER), text)))
        texts = bot.request.texts(FOREIGN_GROUP)
        markup = bot.request.sent(FOREIGN_GROUP)[0]["reply_markup"]
    assert texts == [_pointer(), _pointer()]  # /profil@kopdesk_bot and the bare /laporan
    assert "Rahasia" not in "".join(texts) and "+62" not in "".join(texts)
    assert "https://t.me/kopdesk_bot" in str(markup)
    assert bot.request.sent(MANAGER) == []


async def test_button_pressed_in_a_foreign_group_is_answered_privately(runtime: Runtime) -> None:
    """A (forged) button in a foreign group: the press is answered with the pointer, nothing posted."""
    async with running_bot(runtime) as bot:
        query = {
            "id": "77", "from": user(GUEST), "chat_instance": "9", "data": "reg:nocode",
            "message": {"message_id": 3, "date": int(time.time()), "chat": _group(FOREIGN_GROUP), "text": "…",
                        "from": {"id": 123456, "is_bot": True, "first_name": "KopDesk"}},
        }
        await bot.feed(_update(bot.app.bot, "callback_query", query))
        answers = bot.calls("answerCallbackQuery")
        assert bot.request.sent() == []
    assert [a.get("text") for a in answers] == [_pointer()]


async def test_officers_chat_keeps_personal_data_out(runtime: Runtime) -> None:
    """In the officers' chat a manager's /profil gets the pointer; an officer's /koperasi works."""
    await _manager(runtime)
    chat = _group(OFFICERS_CHAT)
    async with running_bot(runtime) as bot:
        await bot.feed(_update(bot.app.bot, "message", _message(chat, user(MANAGER), "/profil@kopdesk_bot")))
        await bot.feed(_update(bot.app.bot, "message", _message(chat, user(MANAGER), "/laporan")))
        await bot.feed(_update(bot.app.bot, "message", _message(chat, user(ADMIN_ID), "/bantuan@kopdesk_bot")))
        await bot.feed(_update(bot.app.bot, "message", _message(chat, user(ADMIN_ID), "/perintah_aneh")))
        pointers = bot.request.texts(OFFICERS_CHAT)
        await bot.feed(_update(bot.app.bot, "message", _message(chat, user(ADMIN_ID), "/koperasi BH-9/2010")))
        card = bot.request.texts(OFFICERS_CHAT)[len(pointers):]
    assert pointers == [_pointer()] * 4
    assert len(card) == 1 and "KSP Rahasia Sejahtera" in card[0]


async def test_private_chat_still_answered(runtime: Runtime) -> None:
    """The policy leaves private chats alone: /start in private is welcomed."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, GUEST, "/start"))
        assert len(bot.request.texts(GUEST)) == 1
