"""Updates whose handlers only read have their outbound log and "handled" mark written by a group
commit (storage/db.py::GroupCommit): few transactions for many updates, each mark durable
before its update is done, and the fence against a second handling kept."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy.exc import IntegrityError

from bot.runtime import Runtime
from bot.settings import Settings
from storage.models import InboundUpdate, OutboundCall, Person
from storage.repositories import message_log
from storage.repositories.message_log import InboundRow
from tests.support.harness import engine_events, fetch, running_bot
from tests.support.updates import message_update


@contextmanager
def commits(runtime: Runtime) -> Iterator[list[int]]:
    """Counts the transactions committed while the block runs."""
    count = [0]

    def note(_conn) -> None:  # type: ignore[no-untyped-def]
        count[0] += 1

    with engine_events(runtime, "commit", note):
        yield count


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The send limit lifted, so that the replies of a burst do not leave one by one."""
    return settings.model_copy(update={"send_rate": 1000, "paid_broadcasts": True})


async def test_read_only_updates_share_their_commits(runtime: Runtime) -> None:
    """40 people known to the bot ask /bantuan at once: a few commits, not one each."""
    users = range(7000, 7040)
    async with running_bot(runtime) as bot:
        app = bot.app
        for user in users:  # first messages: each creates a person, in its own transaction
            await bot.feed(message_update(app.bot, user, "/start"))
        burst = [message_update(app.bot, user, "/bantuan") for user in users]
        with commits(runtime) as count:
            await asyncio.gather(*(app.update_processor.process_update(u, app.process_update(u))
                                   for u in burst))
        # The inbound batch and a few group commits (4 to 9 seen), not one per update (41
        # without the group commit); how many updates finish together depends on timing.
        assert count[0] <= len(burst) // 2, count[0]
        rows = {r.update_id: r for r in await fetch(runtime.db, InboundUpdate)}
        assert all(rows[u.update_id].handled_at is not None for u in burst)
        logged = [c for c in await fetch(runtime.db, OutboundCall)
                  if c.update_id in {u.update_id for u in burst}]
        assert sorted(c.chat_id for c in logged) == list(users)
        assert all(c.ok and c.method == "sendMessage" for c in logged)


async def test_an_update_that_writes_commits_its_log_in_its_own_transaction(runtime: Runtime) -> None:
    """A first message creates the person: mark, log and person commit together, not in a group."""
    async with running_bot(runtime) as bot:
        group = runtime.db.results
        before = group.commits - group.inbound_batches
        update = message_update(bot.app.bot, 7100, "/start")
        await bot.feed(update)
        assert group.commits - group.inbound_batches == before  # its inbound row only went there
    (row,) = await fetch(runtime.db, InboundUpdate, InboundUpdate.update_id == update.update_id)
    assert row.handled_at is not None
    assert await fetch(runtime.db, Person, Person.telegram_id == 7100)
    assert [c.update_id for c in await fetch(runtime.db, OutboundCall)] == [update.update_id]


def _row(update_id: int) -> InboundRow:
    return InboundRow(update_id=update_id, digest=f"d{update_id}", user_id=1, chat_id=1,
                      kind="message", text="x", raw={"update_id": update_id})


def _outbound(update_id: int) -> dict[str, object]:
    return message_log.outbound_row(method="sendMessage", chat_id=1, text="ok", buttons=None,
                                    message_id=None, ok=True, error=None, attempts=1,
                                    duration_ms=1, update_id=update_id)


async def test_a_mark_set_elsewhere_is_reported_and_the_rest_commits(runtime: Runtime) -> None:
    """Two updates in one group; another process marked the first meanwhile (the fence)."""
    async with runtime.db.session() as session:
        await message_log.record_inbound_many(session, [_row(1), _row(2)])
        await message_log.mark_handled(session, 1, "d1")
    results = runtime.db.results
    before = results.commits
    fenced = await asyncio.gather(results.write([_outbound(1)], (1, "d1")),
                                  results.write([_outbound(2)], (2, "d2")))
    assert fenced == [True, False]
    assert results.commits == before + 1
    rows = {r.update_id: r for r in await fetch(runtime.db, InboundUpdate)}
    assert rows[2].handled_at is not None
    # What was sent happened: both replies stay in the log.
    assert sorted(c.update_id for c in await fetch(runtime.db, OutboundCall)) == [1, 2]


async def test_a_failed_group_write_fails_its_updates_and_marks_nothing(runtime: Runtime) -> None:
    """The transaction fails (a row the table refuses): every waiter gets the error; nothing is
    marked, so the updates are replayed at the next start."""
    async with runtime.db.session() as session:
        await message_log.record_inbound_many(session, [_row(3), _row(4)])
    bad = {**_outbound(3), "duration_ms": None}  # NOT NULL
    outcome = await asyncio.gather(runtime.db.results.write([bad], (3, "d3")),
                                   runtime.db.results.write([_outbound(4)], (4, "d4")),
                                   return_exceptions=True)
    assert all(isinstance(o, IntegrityError) for o in outcome)
    assert all(r.handled_at is None for r in await fetch(runtime.db, InboundUpdate))
    assert await fetch(runtime.db, OutboundCall) == []


async def test_a_send_outside_any_update_is_logged(runtime: Runtime) -> None:
    """A job's send has no update: its log row goes through a group commit of its own."""
    pending = runtime.db.log_outbound(_outbound(None))  # type: ignore[arg-type]
    assert pending is not None
    await pending
    (call,) = await fetch(runtime.db, OutboundCall)
    assert call.update_id is None


async def test_a_busy_bot_gathers_a_small_batch_a_quiet_one_commits_at_once(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two logs written a moment apart: in one commit while the bot is busy (the first waits
    LINGER for company), in two when it is quiet (nobody waits for nothing)."""
    monkeypatch.setattr(type(runtime.db.results), "LINGER", 0.5)  # the second surely comes in time
    group = runtime.db.results

    async def two_writes() -> int:
        before = group.commits
        first = asyncio.ensure_future(group.write([_outbound(1)], None))
        for _ in range(3):  # the first one's flush has begun (or is waiting for company)
            await asyncio.sleep(0)
        await asyncio.gather(first, group.write([_outbound(2)], None))
        return group.commits - before

    assert await two_writes() == 2  # quiet: the first committed alone, at once
    assert await two_writes() == 1  # busy (a commit just ended): the second joined the first
    monkeypatch.setattr(type(group), "BUSY", 0.0)
    assert await two_writes() == 2


async def test_new_updates_and_finished_ones_share_one_transaction(runtime: Runtime) -> None:
    """A getUpdates batch arriving while others finish: their inbound rows and the others'
    outbound logs go in one commit, not one each."""
    group = runtime.db.results
    with commits(runtime) as count:
        *stored, fenced = await asyncio.gather(*(group.log_inbound(_row(n)) for n in (901, 902, 903)),
                                               group.write([_outbound(7)], None))
    assert count[0] == 1 and fenced is False
    assert [status for status, _ in stored] == [message_log.InboundStatus.NEW] * 3
    assert sorted(r.update_id for r in await fetch(runtime.db, InboundUpdate)) == [901, 902, 903]
    assert [c.update_id for c in await fetch(runtime.db, OutboundCall)] == [7]


async def test_a_failed_inbound_batch_does_not_fail_the_logs_it_shared_a_transaction_with(
        runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    """The inbound rows could not be written: their updates are told so (each is then logged
    alone), and the outbound log written with them is written again on its own."""
    async def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the inbound insert failed")

    monkeypatch.setattr(message_log, "record_inbound_many", broken)
    group = runtime.db.results
    stored, fenced = await asyncio.gather(group.log_inbound(_row(904)), group.write([_outbound(8)], None))
    assert stored is None and fenced is False
    assert [c.update_id for c in await fetch(runtime.db, OutboundCall)] == [8]
    assert await fetch(runtime.db, InboundUpdate) == []
