"""Notices to the officers' chat, sent through the outbox (the delivery engine).

They are queued in the update's own transaction, so a notice exists exactly when the work it
reports on committed, and no handler waits inside its transaction for Telegram's group limit
(20 messages a minute): a burst of submissions must not hold the database for the others.
"""

from __future__ import annotations

from typing import Any

from bot.delivery.limits import Lane
from bot.delivery.outbox import Content, enqueue
from bot.tg.context import KopContext

NOTICE_SOURCE = "officer_notice"


def officers_chat(context: KopContext) -> int | None:
    """Where officers' notices go: OFFICERS_CHAT_ID, else the first admin's private chat."""
    settings = context.runtime.settings
    return settings.officers_chat_id or (settings.admin_ids[0] if settings.admin_ids else None)


async def tell_officers(
    context: KopContext, text: str, *, buttons: list[list[dict[str, Any]]] | None = None
) -> bool:
    """Queue an HTML notice (optionally with inline buttons) for the officers; False if nowhere to send."""
    chat_id = officers_chat(context)
    if chat_id is None:
        return False
    await enqueue(
        context.session,
        Content(text=text, parse_mode="HTML", buttons=buttons),
        [chat_id],
        source=(NOTICE_SOURCE, context.runtime.settings.officers_chat_id),
        lane=Lane.NOTICE,
    )
    return True
