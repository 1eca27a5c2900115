"""A terminal chat with the bot through the sandbox: type as a user, read the bot's replies."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
from typing import Any, Callable, TextIO

import httpx

from .client import SandboxClient

_PRESS = re.compile(r"^#(\d+)$")
_POLL_SECONDS = 25.0
# After each line, wait this long at most for the bot's answer before reading the next one, so
# that a transcript (or input pasted or piped in) reads in order.
_REPLY_WAIT_SECONDS = 10.0
# ...and until the bot has been quiet this long (an answer is often an edit plus a message).
_QUIET_SECONDS = 0.4


class _ChatView:
    """Renders bot messages and remembers the inline buttons that ``#N`` refers to."""

    def __init__(self, output: TextIO, bot_name: str) -> None:
        self.output = output
        self.bot_name = bot_name
        self.buttons: dict[int, list[dict[str, Any]]] = {}

    def say(self, line: str) -> None:
        self.output.write(line + "\n")
        with contextlib.suppress(AttributeError, ValueError):
            self.output.flush()

    def latest_buttons(self) -> tuple[int, list[dict[str, Any]]] | None:
        """The newest message that still has inline buttons."""
        if not self.buttons:
            return None
        message_id = max(self.buttons)
        return message_id, self.buttons[message_id]

    def show(self, event: dict[str, Any]) -> None:
        message = event["message"]
        if not message.get("outgoing", True):
            return  # the bot deleted one of the user's messages: nothing to render
        message_id = message["message_id"]
        if event["kind"] == "deleted":
            self.buttons.pop(message_id, None)
            self.say(f"({self.bot_name} menghapus sebuah pesan)")
            return
        label = self.bot_name + (" (diubah)" if event["kind"] == "edited" else "")
        self.say(f"{label}: {self._body(message)}")
        markup = message.get("reply_markup") or {}
        inline = [b for row in markup.get("inline_keyboard", []) for b in row]
        if inline:
            self.buttons[message_id] = inline
            self.say("   " + "  ".join(f"[{i}] {b.get('text', '')}" for i, b in enumerate(inline, 1)))
        else:
            self.buttons.pop(message_id, None)
        keyboard = markup.get("keyboard")
        if keyboard:
            labels = [
                b.get("text", "") if isinstance(b, dict) else str(b) for row in keyboard for b in row
            ]
            self.say("   Tombol: " + " | ".join(labels))

    @staticmethod
    def _body(message: dict[str, Any]) -> str:
        if message.get("text") is not None:
            return message["text"]
        caption = message.get("caption") or ""
        if message.get("photo"):
            biggest = message["photo"][-1]
            return f"[foto {biggest['width']}x{biggest['height']}] {caption}".rstrip()
        if message.get("document"):
            name = message["document"].get("file_name", "dokumen")
            return f"[dokumen: {name}] {caption}".rstrip()
        return f"[{message.get('method', 'pesan')}] {caption}".rstrip()


async def run_terminal_chat(
    client: SandboxClient,
    *,
    user_id: int = 1001,
    first_name: str = "Demo",
    language_code: str = "id",
    input_func: Callable[[], str] | None = None,
    output: TextIO = sys.stdout,
    bot_name: str | None = None,
) -> None:
    """Chat with the bot as ``user_id``: lines become messages, ``#N`` presses button N."""
    read = input_func or input
    if bot_name is None:
        bot_name = (await client.info()).get("bot_first_name") or "Bot"
    view = _ChatView(output, bot_name)
    await client.set_user(user_id, first_name=first_name, language_code=language_code)
    # Follow only what happens from now on; earlier history is not replayed.
    existing = await client.events(user_id)
    last_seq = max((e["seq"] for e in existing), default=0)

    answered = asyncio.Event()
    loop = asyncio.get_running_loop()
    last_event_at = 0.0

    async def follow() -> None:
        nonlocal last_seq, last_event_at
        try:
            while True:
                for event in await client.events(user_id, after_seq=last_seq, wait=_POLL_SECONDS):
                    last_seq = max(last_seq, event["seq"])
                    view.show(event)
                    last_event_at = loop.time()
                    answered.set()
        except (httpx.HTTPError, RuntimeError) as exc:
            view.say(f"(koneksi ke sandbox terputus: {exc})")

    view.say(
        f"Chat sebagai {first_name} (id {user_id}). "
        "Ketik pesan; #N menekan tombol N; /keluar untuk keluar."
    )
    follower = asyncio.create_task(follow(), name="sandbox-terminal-follow")
    try:
        while True:
            try:
                # input() blocks, so it runs in a thread and the event loop keeps printing replies.
                line = await asyncio.to_thread(read)
            except EOFError:
                break
            line = line.strip()
            if not line:
                continue
            if line == "/keluar":
                break
            answered.clear()
            press = _PRESS.match(line)
            if press:
                if not await _press(client, view, user_id, int(press.group(1))):
                    continue
            else:
                await client.send_text(user_id, line, first_name=first_name, language_code=language_code)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(answered.wait(), _REPLY_WAIT_SECONDS)
                while (quiet_for := loop.time() - last_event_at) < _QUIET_SECONDS:
                    await asyncio.sleep(_QUIET_SECONDS - quiet_for)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
        view.say("Sampai jumpa.")


async def _press(client: SandboxClient, view: _ChatView, user_id: int, number: int) -> bool:
    """Press inline button N of the latest message with buttons; True if a press was sent."""
    latest = view.latest_buttons()
    if latest is None:
        view.say("(tidak ada tombol untuk ditekan)")
        return False
    message_id, buttons = latest
    if not 1 <= number <= len(buttons):
        view.say(f"(tombol {number} tidak ada; pilih 1-{len(buttons)})")
        return False
    button = buttons[number - 1]
    if "callback_data" in button:
        view.say(f"(menekan: {button.get('text', '')})")
        await client.press(user_id, message_id, button["callback_data"])
        return True
    if "url" in button:
        view.say(f"(tautan: {button['url']})")
    else:
        view.say("(tombol ini tidak bisa ditekan di terminal)")
    return False
