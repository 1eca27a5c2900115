"""Conversation states live in the database: a restart in the middle of /bahasa loses nothing."""

from __future__ import annotations

import json

from bot.i18n import t
from bot.runtime import Runtime
from handlers.basics import CHOOSING_LANGUAGE
from storage.models import PersistedConversation, Person
from tests.support.harness import fetch, running_bot
from tests.support.updates import message_update

USER = 42


async def test_conversation_survives_restart(runtime: Runtime) -> None:
    """/bahasa in one application, "English" to a new one on the same database: language set."""
    async with running_bot(runtime) as first:
        await first.feed(message_update(first.app.bot, USER, "/bahasa"))
        assert first.request.texts(USER) == [t("id", "lang.prompt")]

    (row,) = await fetch(runtime.db, PersistedConversation)
    assert row.name == "language"
    assert json.loads(row.key) == [USER, USER]
    assert row.state == CHOOSING_LANGUAGE

    restarted = Runtime.create(runtime.settings)
    try:
        async with running_bot(restarted) as second:
            await second.feed(message_update(second.app.bot, USER, "English"))
            assert second.request.texts(USER) == [t("en", "lang.set")]
    finally:
        await restarted.db.dispose()

    (person,) = await fetch(runtime.db, Person)
    assert person.language == "en"
    assert await fetch(runtime.db, PersistedConversation) == []


async def test_cancel_ends_the_conversation(runtime: Runtime) -> None:
    """/batal inside /bahasa ends it: its row goes, and a later "English" is not a language choice."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bahasa"))
        assert len(await fetch(runtime.db, PersistedConversation)) == 1

        await bot.feed(message_update(bot.app.bot, USER, "/batal"))
        assert bot.request.texts(USER)[-1] == t("id", "cancel.done")
        assert await fetch(runtime.db, PersistedConversation) == []

        await bot.feed(message_update(bot.app.bot, USER, "English"))
        assert bot.request.texts(USER)[-1] == t("id", "unknown.text")

    (person,) = await fetch(runtime.db, Person)
    assert person.language is None


async def test_cancelled_conversation_stays_ended_after_restart(runtime: Runtime) -> None:
    """A conversation ended with /batal is not revived by a restart."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bahasa"))
        await bot.feed(message_update(bot.app.bot, USER, "/cancel"))
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "English"))
        assert bot.request.texts(USER) == [t("id", "unknown.text")]
    (person,) = await fetch(runtime.db, Person)
    assert person.language is None
