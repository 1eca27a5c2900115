"""Notices to the officers' chat that must never undo the work they report on."""

from __future__ import annotations

import logging
from typing import Any

from telegram.error import TelegramError

from bot.tg.context import KopContext

_LOG = logging.getLogger(__name__)


async def tell_officers(context: KopContext, text: str, **kwargs: Any) -> bool:
    """Send a notice to OFFICERS_CHAT_ID; a failure is logged (and in the outbound log), not raised."""
    chat_id = context.runtime.settings.officers_chat_id
    if chat_id is None:
        return False
    try:
        await context.bot.send_message(chat_id, text, **kwargs)
    except TelegramError as exc:
        _LOG.warning("could not notify the officers' chat %s: %s", chat_id, exc)
        return False
    return True
