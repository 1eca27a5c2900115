"""More update builders (voice, photo, edited messages) on top of `tests.support.updates`."""

from __future__ import annotations

import time
from typing import Any

from telegram import Bot, Update

from tests.support.updates import _update_ids, message_update, private_chat, user


def voice_update(bot: Bot, user_id: int) -> Update:
    """A voice note."""
    voice = {"file_id": "AwACAgIAAxk", "file_unique_id": "AgADvoice", "duration": 3}
    return message_update(bot, user_id, None, voice=voice)


def photo_update(bot: Bot, user_id: int, caption: str | None = None) -> Update:
    """A photo, optionally with a caption."""
    photo = [{"file_id": "AgACAgIAAxk", "file_unique_id": "AgADphoto", "width": 90, "height": 90}]
    extra: dict[str, Any] = {"photo": photo}
    if caption is not None:
        extra["caption"] = caption
    return message_update(bot, user_id, None, **extra)


def edited_message_update(bot: Bot, user_id: int, text: str) -> Update:
    """An edit of an earlier text message."""
    now = int(time.time())
    raw = {
        "update_id": next(_update_ids),
        "edited_message": {
            "message_id": 1,
            "date": now - 60,
            "edit_date": now,
            "chat": private_chat(user_id),
            "from": user(user_id),
            "text": text,
        },
    }
    return Update.de_json(raw, bot)
