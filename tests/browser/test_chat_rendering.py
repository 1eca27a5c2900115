"""The browser chat against the sandbox alone: the test plays the bot with python-telegram-bot
and a headless Chromium plays the user, so every kind of entity, toast and alert is produced
on purpose rather than hoped for from the real bot's flows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup

from bot.sandbox import Sandbox, SandboxClient
from tests.browser.conftest import DESKTOP, Shots

USER = 1001  # the page's default user, as in `kopdesk demo`
RICH = (
    "<b>tebal</b> <i>miring</i> <u>garis</u> <s>coret</s> <code>kode</code>\n"
    '<pre><code class="language-python">print(1)</code></pre>'
    '<a href="https://example.org/x">tautan</a> <tg-spoiler>rahasia</tg-spoiler>\n'
    "<blockquote>kutipan</blockquote>"
    "&lt;script&gt;alert(1)&lt;/script&gt; <b>tebal <i>dan miring</i></b> /laporan"
)


@pytest.fixture
async def tg(sandbox: Sandbox) -> AsyncIterator[telegram.Bot]:
    """The test's side of the bot."""
    bot = telegram.Bot(sandbox.bot_token, base_url=sandbox.base_url)
    async with bot:
        yield bot


class Updates:
    """getUpdates with an offset, as a bot would poll."""

    def __init__(self, bot: telegram.Bot) -> None:
        self.bot, self.offset = bot, 0

    async def next(self, kind: str) -> Any:
        for _ in range(20):
            for update in await self.bot.get_updates(offset=self.offset, timeout=1):
                self.offset = update.update_id + 1
                found = getattr(update, kind)
                if found is not None:
                    return found
        raise AssertionError(f"no {kind} update")


async def user_texts(client: SandboxClient) -> list[str]:
    events = await client.events(USER, incoming=True)
    return [e["message"]["text"] for e in events if e["kind"] == "received"]


async def test_entities_toasts_alerts_edits_and_reload(
    browser: Any, sandbox: Sandbox, client: SandboxClient, tg: telegram.Bot, shots: Shots
) -> None:
    from playwright.async_api import expect

    updates = Updates(tg)
    context = await browser.new_context(**DESKTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(sandbox.url + "/")
    await expect(page.locator("#status")).to_have_text("bot")

    # A multi-line message: Shift+Enter is a new line, Enter sends; the box is a textarea.
    box = page.locator("#text")
    assert await box.evaluate("el => el.tagName") == "TEXTAREA"
    await box.click()
    await page.keyboard.type("baris satu")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("baris dua")
    await page.keyboard.press("Enter")
    await expect(page.locator(".row.out .text")).to_have_text("baris satu\nbaris dua")
    await expect(box).to_have_value("")
    message = await updates.next("message")
    assert message.text == "baris satu\nbaris dua"

    # Every entity kind becomes its element; the hostile text stays text.
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton("Simpan", callback_data="toast"),
        InlineKeyboardButton("Terlarang", callback_data="alert"),
    ]])
    rich = await tg.send_message(USER, RICH, parse_mode="HTML", reply_markup=keyboard)
    bubble = page.locator(".row.in .bubble").last
    await expect(bubble.locator("b").first).to_have_text("tebal")
    for selector, text in [
        ("i", "miring"), ("u", "garis"), ("s", "coret"), ("code >> nth=0", "kode"),
        ("pre code[data-language=python]", "print(1)"), ("a[href='https://example.org/x']", "tautan"),
        (".spoiler", "rahasia"), ("blockquote", "kutipan"), ("b i", "dan miring"),
    ]:
        await expect(bubble.locator(selector).first).to_have_text(text)
    await expect(bubble.locator("a.command").last).to_have_text("/laporan")
    await expect(bubble.locator(".text")).to_contain_text("<script>alert(1)</script>")
    assert await page.locator("#log script").count() == 0
    assert await bubble.locator("a[href='https://example.org/x']").get_attribute("rel") == "noopener noreferrer"
    await shots.take(page, "entities")

    # A callback answer with text is a toast that fades; with show_alert a dialog to dismiss.
    await page.get_by_role("button", name="Simpan").click()
    query = await updates.next("callback_query")
    assert query.data == "toast"
    await query.answer("Jabatan disimpan")
    toast = page.locator("#toast")
    await expect(toast).to_be_visible()
    await expect(toast).to_have_text("Jabatan disimpan")
    await shots.take(page, "toast")
    await expect(toast).to_be_hidden(timeout=8000)

    await page.get_by_role("button", name="Terlarang").click()
    query = await updates.next("callback_query")
    await query.answer("Tombol ini sudah tidak berlaku.", show_alert=True)
    dialog = page.locator("#alert")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("Tombol ini sudah tidak berlaku.")
    await shots.take(page, "alert")
    await dialog.get_by_role("button", name="OK").click()
    await expect(dialog).to_be_hidden()

    # A tapped command is sent as the user's message.
    await bubble.locator("a.command").last.click()
    assert (await updates.next("message")).text == "/laporan"

    # Edits show in place, marked; deleted messages disappear; a reply keyboard brings its
    # placeholder.
    row = page.locator(f".row[data-mid='{rich.message_id}']")
    await tg.edit_message_reply_markup(USER, rich.message_id, reply_markup=None)
    await expect(row.locator(".ikb")).to_have_count(0)
    await expect(row.locator(".meta")).not_to_contain_text("diubah")  # only the keyboard went
    await tg.edit_message_text("<b>diubah</b> saja", USER, rich.message_id, parse_mode="HTML")
    await expect(page.locator(f".row[data-mid='{rich.message_id}'] .text")).to_have_text("diubah saja")
    await expect(page.locator(f".row[data-mid='{rich.message_id}'] .meta")).to_contain_text("diubah")
    doomed = await tg.send_message(USER, "sebentar lagi hilang")
    await expect(page.locator(f".row[data-mid='{doomed.message_id}']")).to_be_visible()
    await tg.delete_message(USER, doomed.message_id)
    await expect(page.locator(f".row[data-mid='{doomed.message_id}']")).to_have_count(0)
    menu = ReplyKeyboardMarkup([[KeyboardButton("📝 Laporan"), KeyboardButton("ℹ️ Bantuan")]],
                               resize_keyboard=True, input_field_placeholder="Pilih dari menu…")
    await tg.send_message(USER, "Menu utama", reply_markup=menu)
    await expect(page.locator("#reply button")).to_have_count(2)
    await expect(box).to_have_attribute("placeholder", "Pilih dari menu…")

    # Reload: both sides again, from the sandbox, in the same order.
    before = await page.locator(".row").all_inner_texts()
    await page.reload()
    await expect(page.locator(".row")).to_have_count(len(before))
    assert await page.locator(".row").all_inner_texts() == before
    assert "baris satu\nbaris dua" in await user_texts(client)
    await expect(page.locator("#reply button")).to_have_count(2)

    # A reset sandbox (or a restarted demo) starts the page over instead of leaving it deaf.
    await client.reset()
    await expect(page.locator(".row")).to_have_count(0)
    await expect(page.locator("#empty")).to_be_visible()
    await page.locator("#empty button").click()
    assert (await updates.next("message")).text == "/start"
    await expect(page.locator(".row.out .text")).to_have_text("/start")
    assert errors == []
    await context.close()


async def test_long_message_is_split_and_never_lost(
    browser: Any, sandbox: Sandbox, client: SandboxClient, shots: Shots
) -> None:
    from playwright.async_api import expect

    context = await browser.new_context(**DESKTOP)
    page = await context.new_page()
    await page.goto(sandbox.url + "/")
    await expect(page.locator("#status")).to_have_text("bot")
    words = " ".join(f"kata{i:04d}" for i in range(700))[:5000].rstrip()
    box = page.locator("#text")

    # The second part fails to reach the sandbox: it stays in the box, with the reason.
    calls = {"n": 0}

    async def second_fails(route: Any) -> None:
        calls["n"] += 1
        await (route.abort() if calls["n"] == 2 else route.continue_())

    await page.route("**/_sandbox/users/*/message", second_fails)
    await box.fill(words)
    await expect(page.locator("#notice")).to_contain_text("2 pesan")
    await shots.take(page, "long")
    await page.locator("#send").click()
    await expect(page.locator(".row.out")).to_have_count(1)
    first = await page.locator(".row.out .text").first.inner_text()
    assert len(first) <= 4096
    await expect(box).not_to_have_value("")
    await expect(page.locator("#notice")).to_contain_text("Gagal mengirim")
    assert first + " " + await box.input_value() == words

    # Sent again, the rest arrives; nothing was lost on the way.
    await page.unroute("**/_sandbox/users/*/message")
    await page.locator("#send").click()
    await expect(page.locator(".row.out")).to_have_count(2)
    await expect(box).to_have_value("")
    await expect(page.locator("#notice")).to_be_hidden()
    parts = await user_texts(client)
    assert len(parts) == 2 and " ".join(parts) == words
    await context.close()
