"""/start, /bantuan, /bahasa, /batal, the catch-alls, stale buttons, the flood limit, the command
menus: what every user meets first."""

from __future__ import annotations

from typing import Any

from bot.commands import commands_for
from bot.i18n import t
from bot.runtime import Runtime
from bot.services.roles import Role
from storage.models import InboundUpdate, Person
from tests.conftest import ADMIN_ID
from tests.support.harness import RunningBot, fetch, running_bot
from tests.support.more_updates import voice_update
from tests.support.updates import callback_update, message_update, sticker_update

USER = 42


def _welcome(runtime: Runtime, lang: str) -> str:
    s = runtime.settings
    return t(lang, "start.welcome_guest", office=s.office_name, region=s.region_name)


def _has_menu(markup: dict[str, Any], lang: str) -> bool:
    """A reply keyboard holding (among others) the help and language buttons in `lang`."""
    labels = {button["text"] for row in markup.get("keyboard", []) for button in row}
    return {t(lang, "menu.help"), t(lang, "menu.language")} <= labels


def _last_sent(bot: RunningBot, chat_id: int) -> dict[str, Any]:
    return bot.request.sent(chat_id)[-1]


async def _language_of(runtime: Runtime, telegram_id: int) -> str | None:
    (person,) = await fetch(runtime.db, Person, Person.telegram_id == telegram_id)
    return person.language


async def test_start_welcomes_with_reply_keyboard(runtime: Runtime) -> None:
    """/start answers with the welcome and the main menu as a reply keyboard."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/start"))
        (sent,) = bot.request.sent(USER)
    assert sent["text"] == _welcome(runtime, "id")
    assert _has_menu(sent["reply_markup"], "id")
    assert sent["reply_markup"]["resize_keyboard"] is True


def _help_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("/")]


async def test_help_lists_the_commands_of_the_role(runtime: Runtime) -> None:
    """/bantuan and /help list, in the user's language, the commands his role may use."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        guest_id = _last_sent(bot, USER)
        await bot.feed(message_update(bot.app.bot, 50, "/help", language_code="en"))
        guest_en = _last_sent(bot, 50)
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/bantuan"))
        admin_id = _last_sent(bot, ADMIN_ID)

    assert guest_id["text"].startswith(t("id", "help.header"))
    assert _help_lines(guest_id["text"]) == [
        f"/{spec.name} — {t('id', spec.description_key)}" for spec in commands_for(Role.GUEST)
    ]
    assert t("id", "help.footer") in guest_id["text"]
    assert _has_menu(guest_id["reply_markup"], "id")

    assert guest_en["text"].startswith(t("en", "help.header"))
    assert t("en", "help.footer") in guest_en["text"]
    assert {"/help — Help", "/language — Change language", "/cancel — Cancel the conversation"} <= set(
        _help_lines(guest_en["text"])
    )
    assert len(_help_lines(guest_en["text"])) == len(commands_for(Role.GUEST))

    assert _help_lines(admin_id["text"]) == [
        f"/{spec.name} — {t('id', spec.description_key)}" for spec in commands_for(Role.ADMIN)
    ]


async def test_english_names_in_english_help_and_menu(runtime: Runtime) -> None:
    """English /help and command menu offer /start (not /mulai) and the English names."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, 50, "/help", language_code="en"))
        help_text = _last_sent(bot, 50)["text"]
        await bot.app.post_init(bot.app)
        menus = [c for c in bot.calls("setMyCommands") if c.get("language_code") == "en"]
    names = [line.split(" ")[0] for line in _help_lines(help_text)]
    assert {"/help", "/language", "/cancel"} <= set(names)
    assert "/mulai" not in names
    assert names[0] == "/start"
    assert menus
    for menu in menus:
        commands = [c["command"] for c in menu["commands"]]
        assert {"help", "language", "cancel"} <= set(commands)
        assert "mulai" not in commands
        assert commands[0] == "start"


async def test_language_by_button(runtime: Runtime) -> None:
    """/bahasa then lang:en: the press is answered, buttons removed, English confirmed."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bahasa"))
        prompt = _last_sent(bot, USER)
        assert prompt["text"] == t("id", "lang.prompt")
        buttons = [b["callback_data"] for row in prompt["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons == ["lang:id", "lang:en"]

        await bot.feed(callback_update(bot.app.bot, USER, "lang:en", message_id=77))
        (answer,) = bot.calls("answerCallbackQuery")
        assert "text" not in answer
        (edit,) = bot.calls("editMessageReplyMarkup")
        assert int(edit["message_id"]) == 77 and "reply_markup" not in edit
        confirmation = _last_sent(bot, USER)
        assert confirmation["text"] == t("en", "lang.set")
        assert _has_menu(confirmation["reply_markup"], "en")
    assert await _language_of(runtime, USER) == "en"


async def test_language_by_typed_text(runtime: Runtime) -> None:
    """/bahasa answered by typing: an unknown language is asked again, "English" sets English."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bahasa"))
        await bot.feed(message_update(bot.app.bot, USER, "Klingon"))
        assert _last_sent(bot, USER)["text"] == t("id", "lang.invalid")
        assert await _language_of(runtime, USER) is None
        await bot.feed(message_update(bot.app.bot, USER, "English"))
        assert _last_sent(bot, USER)["text"] == t("en", "lang.set")
    assert await _language_of(runtime, USER) == "en"


async def test_language_by_menu_button_and_back(runtime: Runtime) -> None:
    """The 🌐 menu button opens the language choice too; typing "Indonesia" switches back."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, 50, t("en", "menu.language"), language_code="en"))
        assert _last_sent(bot, 50)["text"] == t("en", "lang.prompt")
        await bot.feed(message_update(bot.app.bot, 50, "Indonesia", language_code="en"))
        assert _last_sent(bot, 50)["text"] == t("id", "lang.set")
    assert await _language_of(runtime, 50) == "id"


async def test_default_language_follows_telegram(runtime: Runtime) -> None:
    """Without a choice, Telegram language "en" gets English; "id" or none gets Indonesian."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, 50, "/start", language_code="en"))
        await bot.feed(message_update(bot.app.bot, 51, "/start", language_code="id"))
        await bot.feed(message_update(bot.app.bot, 52, "/start", language_code=None))
        assert bot.request.texts(50) == [_welcome(runtime, "en")]
        assert bot.request.texts(51) == [_welcome(runtime, "id")]
        assert bot.request.texts(52) == [_welcome(runtime, "id")]


async def test_language_remembered_per_user(runtime: Runtime) -> None:
    """A chosen language sticks to that user only, beats Telegram's language, survives a restart."""
    async with running_bot(runtime) as bot:
        await bot.feed(callback_update(bot.app.bot, 60, "lang:en", language_code="id"))
        await bot.feed(callback_update(bot.app.bot, 61, "lang:id", language_code="en"))
    async with running_bot(runtime) as bot:
        for user_id, telegram_language in ((60, "id"), (61, "en"), (62, "id")):
            await bot.feed(
                message_update(bot.app.bot, user_id, "/bantuan", language_code=telegram_language)
            )
        assert _last_sent(bot, 60)["text"].startswith(t("en", "help.header"))
        assert _last_sent(bot, 61)["text"].startswith(t("id", "help.header"))
        assert _last_sent(bot, 62)["text"].startswith(t("id", "help.header"))
        await bot.feed(message_update(bot.app.bot, 60, "/start", language_code="id"))
        assert _last_sent(bot, 60)["text"] == t("en", "start.welcome_back", name="Budi")
    assert await _language_of(runtime, 60) == "en"
    assert await _language_of(runtime, 61) == "id"
    assert await _language_of(runtime, 62) is None


async def test_cancel_outside_a_conversation(runtime: Runtime) -> None:
    """/batal with no conversation running says there is nothing to cancel."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/batal"))
        await bot.feed(message_update(bot.app.bot, 50, "/cancel", language_code="en"))
        assert bot.request.texts(USER) == [t("id", "cancel.nothing")]
        assert bot.request.texts(50) == [t("en", "cancel.nothing")]


async def test_unknown_command(runtime: Runtime) -> None:
    """An unknown command is named back to the user with the unknown.command text and the menu."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/terbang sekarang"))
        (sent,) = bot.request.sent(USER)
    assert sent["text"].splitlines()[0] == t("id", "unknown.command", command="/terbang")
    assert _has_menu(sent["reply_markup"], "id")


async def test_sticker_and_voice_outside_a_conversation(runtime: Runtime) -> None:
    """A sticker or a voice note outside a conversation gets input.nontext_outside."""
    async with running_bot(runtime) as bot:
        await bot.feed(sticker_update(bot.app.bot, USER))
        await bot.feed(voice_update(bot.app.bot, USER))
        assert bot.request.texts(USER) == [t("id", "input.nontext_outside")] * 2


async def test_sticker_inside_a_conversation(runtime: Runtime) -> None:
    """A sticker while /bahasa waits for an answer gets input.need_text; the question stays open."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bahasa"))
        await bot.feed(sticker_update(bot.app.bot, USER))
        assert _last_sent(bot, USER)["text"] == t("id", "input.need_text")
        await bot.feed(message_update(bot.app.bot, USER, "english"))
        assert _last_sent(bot, USER)["text"] == t("en", "lang.set")


async def test_stale_or_forged_button(runtime: Runtime) -> None:
    """An unknown or forged button only gets the stale-button alert; nothing else happens."""
    async with running_bot(runtime) as bot:
        await bot.feed(callback_update(bot.app.bot, USER, "xyz:1"))
        await bot.feed(callback_update(bot.app.bot, USER, "lang:fr"))
        answers = bot.calls("answerCallbackQuery")
        assert [(a.get("text"), a.get("show_alert")) for a in answers] == [
            (t("id", "access.stale_button"), True)
        ] * 2
        assert bot.request.sent(USER) == []
    assert await _language_of(runtime, USER) is None


async def test_flood_limit(runtime: Runtime) -> None:
    """21st message in a minute: one flood.warning; 22nd-25th: silence, logged as throttled."""
    limit = runtime.settings.flood_limit_per_minute
    assert limit == 20
    async with running_bot(runtime) as bot:
        updates = [message_update(bot.app.bot, USER, f"halo {i}") for i in range(1, 26)]
        for number, update in enumerate(updates, start=1):
            await bot.feed(update)
            if number == limit:
                assert bot.request.texts(USER) == [t("id", "unknown.text")] * limit
            if number == limit + 1:
                calls_after_warning = len(bot.request.calls)
        assert bot.request.texts(USER) == [t("id", "unknown.text")] * limit + [
            t("id", "flood.warning")
        ]
        # The 22nd to 25th caused no Bot API call whatsoever.
        assert len(bot.request.calls) == calls_after_warning
        # Another user is not affected.
        await bot.feed(message_update(bot.app.bot, 43, "halo"))
        assert bot.request.texts(43) == [t("id", "unknown.text")]

    rows = await fetch(runtime.db, InboundUpdate, InboundUpdate.user_id == USER,
                       order_by=InboundUpdate.update_id)
    assert [r.update_id for r in rows] == [u.update_id for u in updates]
    assert [r.throttled for r in rows] == [False] * limit + [True] * 5


async def test_commands_published_at_startup(runtime: Runtime) -> None:
    """Start-up publishes the guest commands (id, en) and the admin's own list (id, en)."""
    async with running_bot(runtime) as bot:
        assert bot.calls("setMyCommands") == []
        await bot.app.post_init(bot.app)
        calls = bot.calls("setMyCommands")

    def published(scope: dict[str, Any], lang: str | None) -> list[dict[str, str]]:
        matching = [c for c in calls if c["scope"] == scope and c.get("language_code") == lang]
        assert len(matching) == 1, (scope, lang, calls)
        return matching[0]["commands"]

    private = {"type": "all_private_chats"}
    admin_chat = {"type": "chat", "chat_id": ADMIN_ID}
    assert published(private, None) == [
        {"command": s.name, "description": t("id", s.description_key)}
        for s in commands_for(Role.GUEST)
    ]
    assert [c["description"] for c in published(private, "en")] == [
        t("en", s.description_key) for s in commands_for(Role.GUEST)
    ]
    assert published(admin_chat, None) == [
        {"command": s.name, "description": t("id", s.description_key)}
        for s in commands_for(Role.ADMIN)
    ]
    assert [c["description"] for c in published(admin_chat, "en")] == [
        t("en", s.description_key) for s in commands_for(Role.ADMIN)
    ]
    assert len(calls) == 4
