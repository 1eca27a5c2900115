"""A double tap on a slow connection (issue 8): the real process against the sandbox, whose
Bot API refuses an edit that changes nothing ("message is not modified") as Telegram does."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.i18n import t
from bot.sandbox import SandboxClient
from storage.db import Database
from storage.models import AuditEntry
from tests.e2e.conftest import BotProcess, settled, wait_until

pytestmark = pytest.mark.e2e
USER = 7301


async def test_language_button_pressed_twice_is_answered_twice(
    bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """The second press edits nothing; the user still gets the confirmation, never the apology."""
    await client.send_text(USER, "/bahasa")
    [prompt] = await client.wait_for_messages(USER, count=1)
    first = await client.press(USER, prompt["message_id"], "lang:en")
    await client.callback_answer(first["id"])
    [done] = await client.wait_for_messages(USER, after_id=prompt["message_id"], count=1)
    second = await client.press(USER, prompt["message_id"], "lang:en")
    await client.callback_answer(second["id"])
    [again] = await client.wait_for_messages(USER, after_id=done["message_id"], count=1)
    assert done["text"] == again["text"] == t("en", "lang.set")

    edits = await client.calls("editMessageReplyMarkup")
    assert [e["error"] is not None and "not modified" in e["error"] for e in edits] == [False, True]
    await wait_until(lambda: settled(db, USER), what="both presses handled")
    async with db.session() as session:
        errors = (await session.execute(select(func.count()).where(AuditEntry.action == "error"))).scalar_one()
    assert errors == 0
    assert t("en", "error.apology") not in [m.get("text") for m in await client.messages(USER)]
