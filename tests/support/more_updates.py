"""More update builders on top of `tests.support.updates`."""

from __future__ import annotations

from telegram import Bot, Update

from tests.support.updates import _update_ids, message_update, private_chat, user


def voice_update(bot: Bot, user_id: int) -> Update:
    """A voice note."""
    voice = {"file_id": "AwACAgIAAxk", "file_unique_id": "AgADvoice", "duration": 3}
    return message_update(bot, user_id, None, voice=voice)


def inline_callback_update(bot: Bot, user_id: int, data: str) -> Update:
    """A button press on an inline message: `inline_message_id`, no `message`, no chat."""
    raw = {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)), "from": user(user_id), "chat_instance": "2",
            "inline_message_id": "AgAAAN1xAQBfAAAAAQ", "data": data,
        },
    }
    return Update.de_json(raw, bot)


def inaccessible_callback_update(bot: Bot, user_id: int, data: str, *, message_id: int = 1) -> Update:
    """A button press on a message Telegram no longer shows the bot (InaccessibleMessage, date 0)."""
    raw = {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": str(next(_update_ids)), "from": user(user_id), "chat_instance": "1", "data": data,
            "message": {"message_id": message_id, "date": 0, "chat": private_chat(user_id)},
        },
    }
    return Update.de_json(raw, bot)
