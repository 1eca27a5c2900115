"""The facts of a sender are remembered between his updates (storage/sender_cache.py): no query
while they are fresh, and every change this process commits is seen by the next update."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from bot import clock
from bot.i18n import t
from bot.runtime import Runtime
from storage.models import Person
from storage.repositories import officers, people
from storage.sender_cache import TTL
from tests.support.harness import RunningBot, engine_events, fetch, running_bot
from tests.support.updates import message_update

USER = 4242


@contextmanager
def reads_of_people(runtime: Runtime) -> Iterator[list[str]]:
    """The SQL statements that read the people table while the block runs."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and re.search(r"\b(FROM|JOIN) people\b", statement):
            seen.append(statement)

    with engine_events(runtime, "before_cursor_execute", note):
        yield seen


def _help(bot: RunningBot) -> str:
    return bot.request.sent(USER)[-1]["text"]


async def test_a_known_sender_is_read_once_per_ttl(runtime: Runtime, manual_clock: clock.ManualClock) -> None:
    """His second and third messages run no query on people; after TTL the database is asked again."""
    async with running_bot(runtime) as bot:
        with reads_of_people(runtime) as reads:  # a new person: his row comes from its INSERT
            await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        assert len(reads) == 1  # the facts, nothing more
        first = _help(bot)
        with reads_of_people(runtime) as reads:
            await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
            await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        assert reads == []
        assert _help(bot) == first
        manual_clock.advance(TTL + timedelta(seconds=1))
        with reads_of_people(runtime) as reads:
            await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        assert len(reads) == 1
    (person,) = await fetch(runtime.db, Person, Person.telegram_id == USER)
    assert person.last_seen_at is not None


async def test_a_role_given_meanwhile_is_seen_by_the_next_message(runtime: Runtime) -> None:
    """Made an officer between two messages (well within TTL): the second answer is an officer's."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))  # remembered as a guest
        as_guest = _help(bot)
        async with runtime.db.session() as session:
            await officers.add_officer(session, telegram_id=USER, name="Petugas Baru")
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        as_officer = _help(bot)
        async with runtime.db.session() as session:
            await officers.remove_officer(session, USER)
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        again = _help(bot)
    assert as_officer != as_guest
    assert "/statistik" in as_officer and "/statistik" not in as_guest
    assert again == as_guest


async def test_a_language_chosen_meanwhile_is_seen_by_the_next_message(runtime: Runtime) -> None:
    """A Core UPDATE of his row (as /bahasa writes it) forgets what was remembered of him."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        async with runtime.db.session() as session:
            await people.set_language(session, USER, "en")
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
    assert bot.request.sent(USER)[-1]["reply_markup"]["input_field_placeholder"] == t("en", "menu.placeholder")


async def test_the_flood_window_counts_remembered_messages_and_ends(
    runtime: Runtime, manual_clock: clock.ManualClock
) -> None:
    """Messages answered from memory count towards the limit; a minute later he is heard again."""
    limit = runtime.settings.flood_limit_per_minute
    async with running_bot(runtime) as bot:
        for _ in range(limit + 3):
            await bot.feed(message_update(bot.app.bot, USER, "halo"))
            manual_clock.advance(timedelta(milliseconds=100))
        sent = [m["text"] for m in bot.request.sent(USER)]
        assert sent.count(t("id", "flood.warning")) == 1
        assert len(sent) == limit + 1
        manual_clock.advance(timedelta(minutes=1, seconds=1))
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        assert len(bot.request.sent(USER)) == limit + 2
        assert bot.request.sent(USER)[-1]["text"] != t("id", "flood.warning")


async def test_an_entry_forgotten_while_it_was_loading_is_not_stored(runtime: Runtime) -> None:
    """Loaded before another session's write about him committed: not remembered (epochs)."""
    cache = runtime.db.remember_senders()
    async with runtime.db.session() as session:
        person = await people.seen(session, telegram_id=USER, first_name="A", last_name=None,
                                   username=None, telegram_language="id")
    async with runtime.db.sessionmaker() as session:
        epoch = cache.epoch()
        loaded = await people.get_by_telegram_id(session, USER)
        assert loaded is not None
        cache.expect(session, USER, loaded, "identity", 1, epoch=epoch, now=person.last_seen_at)
        cache.forget(USER)  # someone else's commit about him, meanwhile
    assert cache.get(USER, person.last_seen_at) is None
    async with runtime.db.sessionmaker() as session:
        loaded = await people.get_by_telegram_id(session, USER)
        assert loaded is not None
        cache.expect(session, USER, loaded, "identity", 1, epoch=cache.epoch(), now=person.last_seen_at)
    entry = cache.get(USER, person.last_seen_at)
    assert entry is not None and entry.identity == "identity" and entry.person["telegram_id"] == USER


async def test_queue_workers_do_not_remember(runtime: Runtime) -> None:
    """A worker shares a chat's updates with other processes: it asks the database every time."""
    from bot.tg.build import build_application

    build_application(runtime, token="1:x", with_updater=False)
    assert runtime.db.senders is None


async def test_a_failed_update_does_not_spoil_the_remembered_person(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The remembered row was lent to an update whose handler failed (its transaction rolled
    back, its objects expired): the next message is answered normally."""
    from handlers import basics

    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))  # remembered
        expected = _help(bot)

        def broken(context: object) -> str:
            context.person.phone = "+6281234"  # type: ignore[attr-defined]
            raise RuntimeError("handler failed")

        with monkeypatch.context() as patch:
            patch.setattr(basics, "help_text", broken)
            await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        assert _help(bot) == t("id", "error.apology")
        await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
        assert _help(bot) == expected
    (person,) = await fetch(runtime.db, Person, Person.telegram_id == USER)
    assert person.phone is None


async def test_senders_who_do_not_come_back_are_not_kept(runtime: Runtime) -> None:
    """A national bot meets many people once: expired entries are swept as new ones arrive."""
    from datetime import UTC, datetime

    cache = runtime.db.remember_senders()
    start = datetime(2027, 3, 1, tzinfo=UTC)
    async with runtime.db.session() as session:
        for i in range(3 * cache.SWEEP_FROM):
            person = Person(telegram_id=10_000 + i, first_name="P", last_seen_at=start, created_at=start)
            session.add(person)
        await session.flush()
        people_rows = list((await session.execute(select(Person))).scalars())
    for i, person in enumerate(people_rows):
        moment = start + i * TTL / 100  # a hundred new senders per TTL
        async with runtime.db.sessionmaker() as session:
            session.add(person)
            cache.expect(session, person.telegram_id, person, "guest", 1, epoch=cache.epoch(), now=moment)
    assert len(cache) < 2 * cache.SWEEP_FROM
    last = people_rows[-1]
    assert cache.get(last.telegram_id, start + (len(people_rows) - 1) * TTL / 100) is not None


async def test_a_remembered_sender_joins_a_session_only_when_a_handler_asks_for_him(runtime: Runtime) -> None:
    """/bantuan needs his role and language, not his row: no session is opened for him. /start
    greets him by his row, which is then put into the update's session (no query either way)."""
    attached: list[int] = []

    def note(_session, instance) -> None:  # type: ignore[no-untyped-def]
        if isinstance(instance, Person):
            attached.append(instance.telegram_id)

    event.listen(runtime.db.session_class, "detached_to_persistent", note)
    try:
        async with running_bot(runtime) as bot:
            await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))  # loaded, then remembered
            first = _help(bot)
            attached.clear()
            with reads_of_people(runtime) as reads:
                await bot.feed(message_update(bot.app.bot, USER, "/bantuan"))
                assert attached == [] and _help(bot) == first
                await bot.feed(message_update(bot.app.bot, USER, "/start"))
            assert attached == [USER] and reads == []
            assert len(bot.request.sent(USER)) == 3
    finally:
        event.remove(runtime.db.session_class, "detached_to_persistent", note)
