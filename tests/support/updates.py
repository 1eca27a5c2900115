"""Builders of realistic updates, as Telegram would send them."""

from __future__ import annotations

import itertools
import time
from typing import Any

from telegram import Bot, Update

_update_ids = itertools.count(10_000)
_message_ids = itertools.count(1)


def user(user_id: int, *, first_name: str = "Budi", language_code: str | None = "id") -> dict[str, Any]:
    """A Telegram user dict."""
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    if language_code:
        data["language_code"] = language_code
    return data


def private_chat(user_id: int) -> dict[str, Any]:
    """The private chat of a user."""
    return {"id": user_id, "type": "private", "first_name": "Budi"}


def message_update(
    bot: Bot,
    user_id: int,
    text: str | None = None,
    *,
    language_code: str | None = "id",
    chat: dict[str, Any] | None = None,
    update_id: int | None = None,
    **extra: Any,
) -> Update:
    """A message update; text starting with / becomes a command with its entity."""
    message: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat or private_chat(user_id),
        "from": user(user_id, language_code=language_code),
        **extra,
    }
    if text is not None:
        message["text"] = text
        if text.startswith("/"):
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
            ]
    raw = {"update_id": update_id if update_id is not None else next(_update_ids), "message": message}
    return Update.de_json(raw, bot)


def sticker_update(bot: Bot, user_id: int) -> Update:
    """A sticker message."""
    sticker = {
        "file_id": "CAACAgIAAxk", "file_unique_id": "AgAD", "width": 512, "height": 512,
        "is_animated": False, "is_video": False, "type": "regular",
    }
    return message_update(bot, user_id, None, sticker=sticker)


def callback_update(
    bot: Bot, user_id: int, data: str, *, message_id: int = 1, language_code: str | None = "id"
) -> Update:
    """A button press on one of the bot's messages."""
    raw = {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)),
            "from": user(user_id, language_code=language_code),
            "chat_instance": "1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": private_chat(user_id),
                "from": {"id": 123456, "is_bot": True, "first_name": "KopDesk"},
                "text": "…",
            },
        },
    }
    return Update.de_json(raw, bot)
