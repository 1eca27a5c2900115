"""More update builders on top of `tests.support.updates`."""

from __future__ import annotations

from telegram import Bot, Update

from tests.support.updates import message_update


def voice_update(bot: Bot, user_id: int) -> Update:
    """A voice note."""
    voice = {"file_id": "AwACAgIAAxk", "file_unique_id": "AgADvoice", "duration": 3}
    return message_update(bot, user_id, None, voice=voice)
