"""An update carrying an inaccessible message (date 0) is logged like any other.

Found by the fuzz run: python-telegram-bot leaves a datetime in `Update.to_dict()` for a
`pinned_message` that the bot cannot access, and the inbound log failed to store it as JSON
(the update was lost and the error handler ran).
"""

from __future__ import annotations

from storage.models import AuditEntry, InboundUpdate
from tests.support.harness import fetch, running_bot
from tests.support.updates import message_update

USER = 42
GROUP = {"id": -100321, "type": "supergroup", "title": "Warga"}


async def test_pin_of_an_inaccessible_message_is_stored(runtime) -> None:
    async with running_bot(runtime) as bot:
        pin = message_update(
            bot.app.bot, USER, chat=GROUP,
            pinned_message={"chat": GROUP, "message_id": 7, "date": 0},
        )
        await bot.feed(pin)
    (inbound,) = await fetch(runtime.db, InboundUpdate)
    assert inbound.update_id == pin.update_id and inbound.handled_at is not None
    assert inbound.raw["message"]["pinned_message"] == {"chat": {**GROUP}, "message_id": 7, "date": 0}
    assert await fetch(runtime.db, AuditEntry, AuditEntry.action == "error") == []
