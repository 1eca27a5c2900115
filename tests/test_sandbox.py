"""Tests of the Telegram Bot API sandbox, driven over real HTTP by python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import io
import queue
import time
import warnings
from typing import Any

import httpx
import pytest
import telegram
from aiohttp import web
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyParameters,
)
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut

from telegram.helpers import escape_markdown

from bot.sandbox import Sandbox, SandboxClient
from bot.sandbox.media import make_png
from bot.sandbox.terminal import run_terminal_chat

USER = 1001

# PTB 22 warns whenever RetryAfter is built with an int retry_after (Telegram sends ints).
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


@pytest.fixture
async def sandbox():
    """A seeded sandbox (the shared `client` fixture of tests/conftest.py talks to it)."""
    sb = Sandbox(seed=42)
    await sb.start()
    yield sb
    await sb.stop()


@pytest.fixture
async def bot(sandbox: Sandbox):
    b = telegram.Bot(sandbox.bot_token, base_url=sandbox.base_url, base_file_url=sandbox.file_base_url)
    async with b:
        yield b


def markup(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])


def seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


async def raises(exc_type: type[Exception], fragment: str, coro: Any) -> Exception:
    with pytest.raises(exc_type) as info:
        await coro
    assert fragment.lower() in str(info.value).lower(), str(info.value)
    return info.value


# ---- identity and transport ------------------------------------------------------------------


async def test_get_me_and_tokens(sandbox: Sandbox, bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert me.is_bot and me.id == 123456 and me.username == "kopdesk_bot"
    assert me.first_name == "KopDesk"
    assert me.can_join_groups is True and me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    async with httpx.AsyncClient() as http:
        other = await http.get(f"{sandbox.base_url}777:other-token/getMe")
        assert other.json()["result"]["id"] == 777
        bad = await http.post(f"{sandbox.base_url}not-a-token/getMe")
        assert bad.status_code == 401
        assert bad.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        unknown = await http.post(f"{sandbox.base_url}{sandbox.bot_token}/sendTelepathy")
        assert unknown.status_code == 404
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
    with pytest.raises(telegram.error.InvalidToken):
        async with telegram.Bot("nonsense", base_url=sandbox.base_url):
            pass
    async with httpx.AsyncClient() as http:
        page = await http.get(sandbox.url + "/")
        script = await http.get(sandbox.url + "/static/chat.js")
        missing = await http.get(sandbox.url + "/static/state.py")
        info = (await http.get(sandbox.control_url)).json()
    assert page.status_code == 200 and '<script src="/static/chat.js">' in page.text
    assert script.status_code == 200 and '"/_sandbox"' in script.text
    assert missing.status_code == 404  # only the page's own files are served
    assert info["base_url"] == sandbox.base_url and info["bot_username"] == "kopdesk_bot"


async def test_json_get_and_case_insensitive_methods(sandbox: Sandbox, client: SandboxClient) -> None:
    await client.send_text(USER, "halo")
    async with httpx.AsyncClient(base_url=f"{sandbox.base_url}{sandbox.bot_token}") as http:
        sent = (await http.post("/SENDMESSAGE", json={"chat_id": USER, "text": "123"})).json()
        assert sent["ok"] and sent["result"]["text"] == "123"  # not decoded into a number
        got = (await http.get("/sendMessage", params={"chat_id": str(USER), "text": "true"})).json()
        assert got["result"]["text"] == "true"
        form = await http.post(
            "/sendMessage",
            data={"chat_id": str(USER), "text": "x", "reply_markup": '{"inline_keyboard":[[{"text":"a","callback_data":"b"}]]}'},
        )
        assert form.json()["result"]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "b"
    calls = await client.calls("sendMessage")
    assert [c["method"] for c in calls] == ["sendMessage"] * 3
    assert all(c["status"] == 200 and c["chat_id"] == USER for c in calls)


# ---- getUpdates ---------------------------------------------------------------------------------


async def test_get_updates_offset_semantics(bot: telegram.Bot, client: SandboxClient) -> None:
    for text in ("satu", "dua", "tiga"):
        await client.send_text(USER, text)
    updates = await bot.get_updates()
    ids = [u.update_id for u in updates]
    assert [u.message.text for u in updates] == ["satu", "dua", "tiga"]
    assert ids == [ids[0], ids[0] + 1, ids[0] + 2]
    # Without an offset nothing is confirmed: the same updates come back.
    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[1], limit=1)] == [ids[1]]
    assert await client.pending_updates() == 2
    assert [u.update_id for u in await bot.get_updates(offset=ids[0])] == ids[1:]  # confirmed stay gone
    assert await bot.get_updates(offset=ids[2] + 1) == ()
    assert await bot.get_updates() == ()
    assert await client.pending_updates() == 0
    for text in ("empat", "lima", "enam"):
        await client.send_text(USER, text)
    last = await bot.get_updates(offset=-1)
    assert [u.message.text for u in last] == ["enam"] and last[0].update_id == ids[2] + 3
    assert await client.pending_updates() == 1


async def test_allowed_updates_filter(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    sent = await bot.send_message(USER, "Pilih", reply_markup=markup(("Ya", "y")))
    await client.press(USER, sent.message_id, "y")
    updates = await bot.get_updates(allowed_updates=["callback_query"])
    assert [u.callback_query.data for u in updates] == ["y"]
    assert await client.pending_updates() == 1  # the message update was dropped


async def test_long_poll_returns_early_and_times_out(bot: telegram.Bot, client: SandboxClient) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert 0.9 <= time.monotonic() - started < 3
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await client.send_text(USER, "cepat")
    started = time.monotonic()
    updates = await poll
    assert [u.message.text for u in updates] == ["cepat"]
    assert time.monotonic() - started < 3


async def test_second_long_poll_terminates_first(sandbox: Sandbox, bot: telegram.Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    state = sandbox.state
    assert await state.notifier.wait_until(lambda: state.poll_generation >= 1, 5)
    # A second bot instance (PTB serialises getUpdates within one Bot).
    async with telegram.Bot(sandbox.bot_token, base_url=sandbox.base_url) as other:
        second = asyncio.create_task(other.get_updates(timeout=0.2))
        await raises(Conflict, "terminated by other getUpdates request", first)
        assert await second == ()


# ---- refusals -------------------------------------------------------------------------------------


async def test_text_refusals(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    await raises(BadRequest, "message text is empty", bot.send_message(USER, "   "))
    await raises(BadRequest, "message is too long", bot.send_message(USER, "a" * 4097))
    await bot.send_message(USER, "a" * 4096)
    # Telegram counts UTF-16 code units: an emoji is two.
    await raises(BadRequest, "message is too long", bot.send_message(USER, "😀" * 2049))
    await bot.send_message(USER, "😀" * 2048)
    # Tags do not count once parse_mode strips them.
    await bot.send_message(USER, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    await raises(
        BadRequest,
        'unsupported start tag "xyz" at byte offset 6',
        bot.send_message(USER, "Halo, <xyz>", parse_mode="HTML"),
    )
    await raises(
        BadRequest,
        "can't find end tag corresponding to start tag \"b\"",
        bot.send_message(USER, "<b>tebal", parse_mode="HTML"),
    )
    await raises(
        BadRequest,
        "character '.' is reserved and must be escaped with the preceding '\\'",
        bot.send_message(USER, "Selesai.", parse_mode="MarkdownV2"),
    )
    await raises(BadRequest, "message caption is too long", bot.send_photo(USER, make_png(4, 4), caption="c" * 1025))


async def test_parse_modes(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    raw = "Rp1.000 (diskon 10%) - [promo] _a_ *b* ~c~ `d` >e #f +g =h |i {j} !k \\ l"
    plain = await bot.send_message(USER, escape_markdown(raw, version=2), parse_mode="MarkdownV2")
    assert plain.text == raw and not [e for e in plain.entities if e.type != "hashtag"]
    rich = await bot.send_message(USER, "*tebal _miring_* [situs](https://kop.id) ||rahasia||", parse_mode="MarkdownV2")
    assert rich.text == "tebal miring situs rahasia"
    assert [(e.type, e.offset, e.length) for e in rich.entities] == [
        ("bold", 0, 12), ("italic", 6, 6), ("text_link", 13, 5), ("spoiler", 19, 7)
    ]
    code = await bot.send_message(
        USER, '<pre><code class="language-python">x = 1 &lt; 2</code></pre>', parse_mode="HTML"
    )
    assert code.text == "x = 1 < 2"
    assert (code.entities[0].type, code.entities[0].language) == ("pre", "python")
    legacy = await bot.send_message(USER, "*Tiket* _baru_", parse_mode="Markdown")
    assert legacy.text == "Tiket baru" and [e.type for e in legacy.entities] == ["bold", "italic"]
    auto = await bot.send_message(USER, "Ketik /bantuan atau buka https://kop.id")
    assert [e.type for e in auto.entities] == ["bot_command", "url"]
    photo = await bot.send_photo(USER, make_png(8, 8), caption="lama")
    edited = await bot.edit_message_caption(USER, photo.message_id, caption="<i>baru</i>", parse_mode="HTML")
    assert edited.caption == "baru" and edited.caption_entities[0].type == "italic"
    await raises(BadRequest, "there is no text in the message to edit", bot.edit_message_text("x", USER, photo.message_id))
    await raises(BadRequest, "unsupported parse_mode", bot.send_message(USER, "x", parse_mode="BBCode"))


async def test_keyboard_refusals(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    await raises(BadRequest, "BUTTON_DATA_INVALID", bot.send_message(USER, "x", reply_markup=markup(("a", "d" * 65))))
    await raises(BadRequest, "BUTTON_DATA_INVALID", bot.send_message(USER, "x", reply_markup=markup(("a", "é" * 33))))
    await bot.send_message(USER, "x", reply_markup=markup(("a", "d" * 64)))
    empty = {"inline_keyboard": [[{"text": "a", "callback_data": ""}]]}
    await raises(BadRequest, "BUTTON_DATA_INVALID", bot.send_message(USER, "x", reply_markup=empty))
    many = InlineKeyboardMarkup([[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)])
    await raises(BadRequest, "too many inline buttons", bot.send_message(USER, "x", reply_markup=many))


async def test_chat_refusals(bot: telegram.Bot, client: SandboxClient) -> None:
    await raises(BadRequest, "chat not found", bot.send_message(424242, "halo"))
    await client.send_text(USER, "/start")
    await bot.send_message(USER, "halo")
    await client.block(USER)
    error = await raises(Forbidden, "bot was blocked by the user", bot.send_message(USER, "halo"))
    assert isinstance(error, Forbidden)
    await client.block(USER, False)
    await bot.send_message(USER, "lagi")


async def test_edit_delete_and_callback_refusals(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    sent = await bot.send_message(USER, "Pilih", reply_markup=markup(("Ya", "y")))
    await raises(
        BadRequest,
        "message is not modified: specified new message content and reply markup are exactly the same",
        bot.edit_message_text("Pilih", USER, sent.message_id, reply_markup=markup(("Ya", "y"))),
    )
    await raises(BadRequest, "message to edit not found", bot.edit_message_text("x", USER, 999))
    await raises(BadRequest, "message to delete not found", bot.delete_message(USER, 999))
    await raises(
        BadRequest,
        "query is too old and response timeout expired or query ID is invalid",
        bot.answer_callback_query("123"),
    )
    async with httpx.AsyncClient() as http:
        missing = await http.post(f"{bot.base_url}/sendMessage", data={"text": "x"})
    assert missing.json()["description"] == "Bad Request: chat_id is empty"


# ---- sending, editing and files ---------------------------------------------------------------


async def test_send_edit_delete_copy_forward(bot: telegram.Bot, client: SandboxClient) -> None:
    update = await client.send_text(USER, "/start", first_name="Siti", username="siti")
    user_msg_id = update["message"]["message_id"]
    sent = await bot.send_message(
        USER, "Halo <b>Siti</b> 😀 <i>x</i>", parse_mode="HTML", reply_markup=markup(("Ya", "y"))
    )
    assert sent.message_id == user_msg_id + 1 and sent.from_user.is_bot
    assert sent.text == "Halo Siti 😀 x"
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 5, 4), ("italic", 13, 1)]
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "y"
    keyboard = await bot.send_message(USER, "Menu", reply_markup=ReplyKeyboardMarkup([[KeyboardButton("Tiket")]]))
    assert keyboard.reply_markup is None  # reply keyboards are not echoed on the Message
    edited = await bot.edit_message_text("Sudah dipilih", USER, sent.message_id)
    assert edited.text == "Sudah dipilih" and edited.reply_markup is None and edited.edit_date
    await bot.edit_message_reply_markup(USER, sent.message_id, reply_markup=markup(("Lagi", "l")))
    copied = await bot.copy_message(USER, USER, sent.message_id)
    forwarded = await bot.forward_message(USER, USER, user_msg_id)
    assert forwarded.forward_origin.sender_user.id == USER and forwarded.text == "/start"
    assert await bot.delete_message(USER, keyboard.message_id)
    assert await bot.send_chat_action(USER, "typing")
    records = {m["message_id"]: m for m in await client.messages(USER)}
    assert records[sent.message_id]["edit_count"] == 2
    assert records[sent.message_id]["reply_markup"] == {"inline_keyboard": [[{"callback_data": "l", "text": "Lagi"}]]}
    assert records[keyboard.message_id]["deleted"] is True
    assert records[keyboard.message_id]["reply_markup"]["keyboard"][0][0]["text"] == "Tiket"
    assert records[copied.message_id]["text"] == "Sudah dipilih"
    assert records[copied.message_id]["method"] == "copyMessage"
    assert records[forwarded.message_id]["method"] == "forwardMessage"
    assert records[sent.message_id]["parse_mode"] == "HTML"
    kinds = [e["kind"] for e in await client.events(USER)]
    assert kinds.count("edited") == 2 and kinds.count("deleted") == 1


async def test_replies(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    question = await bot.send_message(USER, "Nomor anggota?")
    answer = await client.send_text(USER, "A-17", reply_to_message_id=question.message_id)
    replied = answer["message"]["reply_to_message"]
    assert replied["message_id"] == question.message_id and replied["text"] == "Nomor anggota?"
    update = (await bot.get_updates())[-1]
    assert update.message.reply_to_message.from_user.is_bot
    reply = await bot.send_message(USER, "Terima kasih", reply_parameters=ReplyParameters(answer["message"]["message_id"]))
    assert reply.reply_to_message.text == "A-17"
    await raises(
        BadRequest,
        "message to be replied not found",
        bot.send_message(USER, "x", reply_parameters=ReplyParameters(999)),
    )
    (record,) = await client.messages(USER, after_id=reply.message_id - 1)
    assert record["reply_to_message_id"] == answer["message"]["message_id"]


async def test_photo_document_upload_and_download(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    png = make_png(1600, 1200)
    photo_msg = await bot.send_photo(USER, png, caption="<b>Bukti</b>", parse_mode="HTML")
    sizes = photo_msg.photo
    assert [(p.width, p.height) for p in sizes] == [(90, 68), (320, 240), (800, 600), (1280, 960)]
    assert photo_msg.caption == "Bukti" and photo_msg.caption_entities[0].type == "bold"
    file = await bot.get_file(sizes[-1].file_id)
    assert bytes(await file.download_as_bytearray()) == png
    again = await bot.send_photo(USER, sizes[-1].file_id)
    assert again.photo[-1].file_id == sizes[-1].file_id
    doc_msg = await bot.send_document(USER, b"no;nama\n1;Siti\n", filename="anggota.csv", caption="Data")
    document = doc_msg.document
    assert document.file_name == "anggota.csv" and document.mime_type == "text/csv"
    assert document.file_size == 15
    file = await bot.get_file(document.file_id)
    assert bytes(await file.download_as_bytearray()) == b"no;nama\n1;Siti\n"
    await raises(BadRequest, "wrong file identifier/HTTP URL specified", bot.send_document(USER, "BQACunknown"))
    await raises(BadRequest, "IMAGE_PROCESS_FAILED", bot.send_photo(USER, b"not an image"))
    # Files the user sends can be fetched too.
    update = await client.send_photo(USER, caption="foto KTP", width=640, height=480)
    biggest = update["message"]["photo"][-1]
    assert (biggest["width"], biggest["height"]) == (640, 480)
    user_file = await bot.get_file(biggest["file_id"])
    assert bytes(await user_file.download_as_bytearray()).startswith(b"\x89PNG")
    update = await client.send_document(USER, "surat.pdf", b"%PDF-1.4 test")
    assert update["message"]["document"]["mime_type"] == "application/pdf"
    doc_file = await bot.get_file(update["message"]["document"]["file_id"])
    assert bytes(await doc_file.download_as_bytearray()) == b"%PDF-1.4 test"
    sticker = await client.send_sticker(USER)
    voice = await client.send_voice(USER, duration=4)
    updates = await bot.get_updates()
    assert updates[-2].message.sticker.emoji == sticker["message"]["sticker"]["emoji"]
    assert updates[-1].message.voice.file_id == voice["message"]["voice"]["file_id"]
    assert voice["message"]["voice"]["duration"] == 4
    records = await client.messages(USER)
    assert records[0]["photo"][-1]["width"] == 1280 and records[-1]["document"]["file_name"] == "anggota.csv"


async def test_callback_query_round_trip(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    sent = await bot.send_message(USER, "Setuju?", reply_markup=markup(("Ya", "yes"), ("Tidak", "no")))
    query = await client.press(USER, sent.message_id, "yes")
    updates = await bot.get_updates()
    callback = updates[-1].callback_query
    assert callback.id == query["id"] and callback.data == "yes"
    assert callback.message.message_id == sent.message_id and callback.message.text == "Setuju?"
    assert await callback.answer("Tercatat", show_alert=True)
    answer = await client.callback_answer(query["id"])
    assert answer["text"] == "Tercatat" and answer["show_alert"] is True
    await raises(BadRequest, "query is too old", callback.answer())
    stale = await client.press(USER, 999, "old")
    updates = await bot.get_updates(offset=updates[-1].update_id + 1)
    assert updates[0].callback_query.message.is_accessible is False  # Telegram's date 0
    with pytest.raises(TimeoutError):
        await client.callback_answer(stale["id"], timeout=0.2)


async def test_group_chats_and_commands(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.register_chat(-1001234, type="supergroup", title="Petugas Koperasi")
    msg = await bot.send_message(-1001234, "Tiket baru #12")
    assert msg.chat.type == "supergroup" and msg.chat.title == "Petugas Koperasi"
    info = await bot.get_chat(-1001234)
    assert info.title == "Petugas Koperasi"
    update = await client.send_text(2002, "/ambil@kopdesk_bot 12", chat={"id": -1001234, "type": "supergroup"})
    entity = update["message"]["entities"][0]
    assert entity == {"type": "bot_command", "offset": 0, "length": 18}
    commands = [telegram.BotCommand("start", "Mulai"), telegram.BotCommand("bantuan", "Bantuan")]
    assert await bot.set_my_commands(commands, language_code="id")
    assert await bot.set_my_commands(commands[:1], scope=telegram.BotCommandScopeChat(-1001234))
    assert [c.command for c in await bot.get_my_commands(language_code="id")] == ["start", "bantuan"]
    assert await bot.get_my_commands() == ()
    stored = await client.commands()
    assert stored["default"]["id"][1] == {"command": "bantuan", "description": "Bantuan"}
    assert stored["chat:-1001234"][""][0]["command"] == "start"
    await raises(BadRequest, "BOT_COMMAND_INVALID", bot.set_my_commands([telegram.BotCommand("Mulai!", "x")]))
    assert await bot.delete_my_commands(language_code="id")
    assert "default" not in await client.commands()
    assert await bot.set_my_description("Helpdesk koperasi")
    assert (await bot.get_my_description()).description == "Helpdesk koperasi"


# ---- webhook ------------------------------------------------------------------------------------


async def test_webhook_delivery(sandbox: Sandbox, bot: telegram.Bot, client: SandboxClient) -> None:
    received: asyncio.Queue[tuple[dict[str, Any], str | None]] = asyncio.Queue()
    failures = {"left": 1}

    async def receive(request: web.Request) -> web.Response:
        if failures["left"]:
            failures["left"] -= 1
            return web.Response(status=500)  # the sandbox must retry
        await received.put((await request.json(), request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    try:
        assert await bot.set_webhook(url, secret_token="rahasia_123")
        info = await bot.get_webhook_info()
        assert info.url == url and info.pending_update_count == 0
        await raises(Conflict, "can't use getUpdates method while webhook is active", bot.get_updates())
        await client.send_text(USER, "pertama")
        await client.send_text(USER, "kedua")
        first = await asyncio.wait_for(received.get(), 5)
        second = await asyncio.wait_for(received.get(), 5)
        assert [first[0]["message"]["text"], second[0]["message"]["text"]] == ["pertama", "kedua"]
        assert first[1] == second[1] == "rahasia_123"
        assert second[0]["update_id"] == first[0]["update_id"] + 1
        state = sandbox.state
        assert await state.notifier.wait_until(lambda: not state.pending, 5)
        deliveries = (await client.webhook())["deliveries"]
        assert [d["status"] for d in deliveries[:2]] == [500, 200]
        assert await bot.delete_webhook()
        await client.send_text(USER, "ketiga")
        assert [u.message.text for u in await bot.get_updates()] == ["ketiga"]
    finally:
        await runner.cleanup()


# ---- faults -------------------------------------------------------------------------------------


async def test_fault_script(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    await client.set_faults(script=["429:3", "500", "drop", "slow:0.3", "ok", "502"], flood_wait=False)
    error = await raises(RetryAfter, "flood control exceeded", bot.send_message(USER, "1"))
    assert seconds(error) == 3
    await raises(NetworkError, "internal server error", bot.send_message(USER, "2"))
    dropped = await raises(NetworkError, "", bot.send_message(USER, "3"))
    assert isinstance(dropped, NetworkError)
    assert await bot.get_updates()  # getUpdates is not faulted by default and keeps the script
    started = time.monotonic()
    await bot.send_message(USER, "4")
    assert time.monotonic() - started >= 0.3
    await bot.send_message(USER, "5")
    await raises(NetworkError, "bad gateway", bot.send_message(USER, "6"))
    assert [m["text"] for m in await client.messages(USER)] == ["4", "5"]  # faulted calls did nothing
    calls = await client.calls("sendMessage")
    assert [c["fault"] for c in calls] == ["429", "5xx", "drop", "slow", None, "5xx"]
    assert [c["status"] for c in calls] == [429, 500, None, 200, 200, 502]


async def test_random_faults_are_seeded(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")

    async def outcomes() -> list[str]:
        result = []
        for _ in range(30):
            try:
                await bot.send_chat_action(USER, "typing")
                result.append("ok")
            except RetryAfter:
                result.append("429")
            except NetworkError:
                result.append("err")
        return result

    config = {"rate_429": 0.2, "rate_5xx": 0.2, "rate_drop": 0.1, "seed": 7, "flood_wait": False}
    await client.set_faults(**config)
    first = await outcomes()
    await client.set_faults(**config)
    assert await outcomes() == first
    assert {"ok", "429", "err"} <= set(first)
    await client.set_faults(rate_5xx=1.0, methods=["sendMessage"])
    assert await bot.send_chat_action(USER, "typing")  # not in the faulted methods
    await raises(NetworkError, "", bot.send_message(USER, "x"))
    await client.clear_faults()
    await bot.send_message(USER, "x")


async def test_flood_wait(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    await client.set_faults(script=["429:1"])
    first = await raises(RetryAfter, "", bot.send_message(USER, "1"))
    assert seconds(first) == 1
    second = await raises(RetryAfter, "", bot.send_message(USER, "2"))  # still in force
    assert seconds(second) == 1
    assert (await bot.get_me()).id == 123456  # unfaulted methods are unaffected
    await asyncio.sleep(1.05)  # let retry_after elapse
    await bot.send_message(USER, "3")
    assert [m["text"] for m in await client.messages(USER)] == ["3"]


async def test_drop_and_slow_surface_as_network_error_and_timed_out(
    sandbox: Sandbox, client: SandboxClient
) -> None:
    await client.send_text(USER, "/start")
    await client.set_faults(script=["drop", "slow:2"])
    request = telegram.request.HTTPXRequest(read_timeout=0.5)
    async with telegram.Bot(sandbox.bot_token, base_url=sandbox.base_url, request=request) as b:
        await raises(NetworkError, "", b.send_message(USER, "x"))
        await raises(TimedOut, "", b.send_message(USER, "y"))


# ---- control API helpers ------------------------------------------------------------------------


async def test_wait_for_messages(bot: telegram.Bot, client: SandboxClient) -> None:
    update = await client.send_text(USER, "/start")
    after = update["message"]["message_id"]
    waiter = asyncio.create_task(client.wait_for_messages(USER, after_id=after, count=2, timeout=5))
    await bot.send_message(USER, "satu")
    await bot.send_message(USER, "dua")
    started = time.monotonic()
    messages = await waiter
    assert [m["text"] for m in messages] == ["satu", "dua"]
    assert time.monotonic() - started < 2
    with pytest.raises(TimeoutError, match="satu"):
        await client.wait_for_messages(USER, after_id=messages[-1]["message_id"], timeout=0.3)


async def test_events_follow_edits_and_reset(bot: telegram.Bot, client: SandboxClient) -> None:
    await client.send_text(USER, "/start")
    sent = await bot.send_message(USER, "Menunggu")
    (event,) = await client.wait_for_events(USER)
    waiter = asyncio.create_task(client.wait_for_events(USER, after_seq=event["seq"]))
    await bot.edit_message_text("Selesai", USER, sent.message_id)
    (edit,) = await waiter
    assert edit["kind"] == "edited" and edit["message"]["text"] == "Selesai"
    await client.reset()
    assert await client.messages(USER) == [] and await client.calls() == []
    await raises(BadRequest, "chat not found", bot.send_message(USER, "x"))


async def test_events_with_the_users_own_messages(bot: telegram.Bot, client: SandboxClient) -> None:
    """incoming=1 interleaves what the user wrote ("received"); by default only the bot's side."""
    await client.send_text(USER, "halo")
    await bot.send_message(USER, "Selamat datang")
    await client.send_text(USER, "/laporan")
    both = await client.events(USER, incoming=True)
    assert [(e["kind"], e["message"]["text"], e["message"]["outgoing"]) for e in both] == [
        ("received", "halo", False), ("sent", "Selamat datang", True), ("received", "/laporan", False)]
    assert [e["kind"] for e in await client.events(USER)] == ["sent"]
    waiter = asyncio.create_task(client.wait_for_events(USER, after_seq=both[-1]["seq"]))
    await client.send_text(USER, "lagi")
    await bot.send_message(USER, "Ya?")
    (reply,) = await waiter  # a user's message alone does not wake a bot-side waiter
    assert reply["message"]["text"] == "Ya?"


async def test_ptb_application_polling_with_rate_limiter(sandbox: Sandbox, client: SandboxClient) -> None:
    """A real PTB Application (Updater + AIORateLimiter) works against the sandbox."""
    from telegram.ext import AIORateLimiter, ApplicationBuilder, CallbackQueryHandler, CommandHandler

    async def start(update: telegram.Update, context: Any) -> None:
        await update.message.reply_text("Selamat datang", reply_markup=markup(("Tiket", "t")))

    async def pressed(update: telegram.Update, context: Any) -> None:
        await update.callback_query.answer("ok")
        await update.callback_query.edit_message_text("Tiket dibuat")

    app = (
        ApplicationBuilder()
        .token(sandbox.bot_token)
        .base_url(sandbox.base_url)
        .base_file_url(sandbox.file_base_url)
        .rate_limiter(AIORateLimiter(max_retries=3))
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    await client.set_faults(script=["429:1"], methods=["sendMessage"])
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=2)
        try:
            update = await client.send_text(USER, "/start")
            (welcome,) = await client.wait_for_messages(USER, after_id=update["message"]["message_id"])
            assert welcome["text"] == "Selamat datang"
            (sent,) = await client.events(USER)
            query = await client.press(USER, welcome["message_id"], "t")
            assert (await client.callback_answer(query["id"]))["text"] == "ok"
            (edit,) = await client.wait_for_events(USER, after_seq=sent["seq"])
            assert edit["kind"] == "edited" and edit["message"]["text"] == "Tiket dibuat"
        finally:
            await app.updater.stop()
            await app.stop()
    sends = await client.calls("sendMessage")
    assert [c["status"] for c in sends] == [429, 200]
    assert sends[1]["t"] - sends[0]["t"] >= 1.0  # the limiter honoured retry_after
    assert await client.pending_updates() == 0  # the updater confirmed what it handled


# ---- terminal chat ------------------------------------------------------------------------------


class _Output(io.StringIO):
    """Captures the terminal's output and wakes the test when a fragment shows up."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = asyncio.Event()

    def write(self, text: str) -> int:
        self.changed.set()
        return super().write(text)

    async def wait_for(self, fragment: str, timeout: float = 5.0) -> None:
        async with asyncio.timeout(timeout):
            while fragment not in self.getvalue():
                self.changed.clear()
                await self.changed.wait()


async def test_terminal_chat(bot: telegram.Bot, client: SandboxClient) -> None:
    lines: queue.Queue[str] = queue.Queue()

    def read() -> str:
        try:
            return lines.get(timeout=10)
        except queue.Empty:
            raise EOFError from None

    async def fake_bot() -> None:
        offset = None
        while True:
            for update in await bot.get_updates(offset=offset, timeout=5):
                offset = update.update_id + 1
                if update.message:
                    await bot.send_message(
                        update.message.chat_id,
                        f"Halo {update.message.from_user.first_name}! Pilih layanan:",
                        reply_markup=markup(("Simpan pinjam", "sp"), ("Pengaduan", "adu")),
                    )
                elif update.callback_query:
                    await update.callback_query.answer()
                    await update.callback_query.edit_message_text(f"Dipilih: {update.callback_query.data}")

    output = _Output()
    bot_task = asyncio.create_task(fake_bot())
    chat = asyncio.create_task(run_terminal_chat(client, user_id=USER, input_func=read, output=output))
    try:
        lines.put("halo")
        await output.wait_for("[2] Pengaduan")
        assert "KopDesk: Halo Demo! Pilih layanan:" in output.getvalue()
        assert "[1] Simpan pinjam  [2] Pengaduan" in output.getvalue()
        lines.put("#2")
        await output.wait_for("KopDesk (diubah): Dipilih: adu")
        lines.put("/keluar")
        await asyncio.wait_for(chat, 5)
    finally:
        bot_task.cancel()
        chat.cancel()
        await asyncio.gather(bot_task, chat, return_exceptions=True)
    (update,) = [u for u in await client.messages(USER)]
    assert update["edit_count"] == 1
    sent = (await client.calls("sendMessage"))[0]
    assert sent["chat_id"] == USER
