"""Sending a text that may be longer than one Telegram message."""

from __future__ import annotations

from typing import Any

from telegram import Bot, Message

from bot.textsplit import split_text


async def send_long(bot: Bot, chat_id: int, text: str, *, reply_markup: Any = None, **kwargs: Any) -> Message:
    """Send `text` in as many messages as it needs; buttons go on the last one."""
    parts = [p for p in split_text(text) if p.strip()] or [text]
    message = None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        message = await bot.send_message(chat_id, part, reply_markup=reply_markup if last else None, **kwargs)
    assert message is not None
    return message
