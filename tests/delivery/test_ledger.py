"""The send ledger: a worker killed mid-send neither repeats what Telegram took nor loses the rest."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select, update
from telegram.error import NetworkError

from bot.delivery import ledger as ledgers
from bot.delivery.engine import UNCERTAIN
from bot.delivery.http import ON_WIRE, AiohttpRequest
from bot.delivery.ledger import SendLedger
from bot.delivery.outbox import Content, enqueue
from bot.delivery.runner import create_engine, ledger_dir
from bot.runtime import Runtime
from bot.sandbox import Sandbox, SandboxClient
from bot.services.meetings import SOURCE_REMINDER
from storage.models import OutboundCall
from storage.models_delivery import OutboxMessage, OutboxState
from tests.conftest import TEST_TOKEN
from tests.delivery.conftest import add_people, batch_done, rows_of, running_engine
from tests.e2e.conftest import wait_until

WORKER = "test-worker"


def test_the_last_record_of_a_row_wins_and_torn_lines_are_ignored(tmp_path: Path) -> None:
    ledger = SendLedger(tmp_path, WORKER)
    ledger.open()
    ledger.attempt(1)
    ledger.sent(1, 501)
    ledger.attempt(2)
    ledger.attempt(3)
    ledger.unsent(3)
    ledger.attempt(4)
    ledger.unsent(4)
    ledger.attempt(4)  # tried again after a 429: on the wire once more
    with (tmp_path / f"{WORKER}.1.ledger").open("a") as f:
        f.write("a 9\nzz\nq 7\ns x\ns")  # foreign and cut-off lines are skipped
    state = ledgers.read(tmp_path, WORKER)
    assert state.sent == {1: 501}
    assert state.uncertain == {2, 4, 9}
    assert state.unsent == {3}


def test_segments_rotate_and_go_once_their_rows_are_committed(tmp_path: Path) -> None:
    ledger = SendLedger(tmp_path, WORKER, rotate_records=4)
    ledger.open()
    for row in (1, 2):
        ledger.attempt(row)
        ledger.sent(row, row)
    # segment 1 is full (4 records); row 3 starts segment 2 and ends in segment 3.
    ledger.attempt(3)
    ledger.attempt(4)
    ledger.sent(4, 4)
    ledger.unsent(4)
    ledger.sent(3, 3)
    names = lambda: sorted(p.name for p in tmp_path.iterdir())  # noqa: E731
    assert names() == [f"{WORKER}.1.ledger", f"{WORKER}.2.ledger", f"{WORKER}.3.ledger"]
    ledger.committed([1])
    assert len(names()) == 3, "row 2 still needs segment 1"
    ledger.committed([2, 4])
    assert names() == [f"{WORKER}.2.ledger", f"{WORKER}.3.ledger"], "row 3 still needs segment 2"
    ledger.committed([3])
    assert names() == [f"{WORKER}.3.ledger"], "the current segment stays while open"
    assert ledger.unsettled() == []
    ledger.close(clean=True)
    assert names() == []


def test_a_running_ledger_is_in_use_and_a_closed_one_is_not(tmp_path: Path) -> None:
    ledger = SendLedger(tmp_path, WORKER)
    ledger.open()
    ledger.attempt(1)
    assert ledgers.in_use(tmp_path, WORKER), "the running worker holds its segment"
    ledger.close(clean=False)
    assert not ledgers.in_use(tmp_path, WORKER)
    assert ledgers.read(tmp_path, WORKER).uncertain == {1}


def test_a_clean_close_keeps_a_ledger_with_unwritten_results(tmp_path: Path) -> None:
    ledger = SendLedger(tmp_path, WORKER)
    ledger.open()
    ledger.attempt(1)
    ledger.sent(1, 10)
    ledger.close(clean=True)
    assert ledgers.read(tmp_path, WORKER).sent == {1: 10}
    # The next run starts a new segment after the old one, so records keep their order.
    again = SendLedger(tmp_path, WORKER)
    again.open()
    again.attempt(1)
    assert ledgers.read(tmp_path, WORKER).uncertain == {1}


async def test_a_restart_settles_what_the_killed_run_left_in_sending(
    delivery_runtime: Runtime, sandbox: Sandbox
) -> None:
    """Rows a killed run left in `sending`: the one Telegram took is recorded as sent and not sent
    again; one on the wire at the kill is failed as uncertain if its source is at-most-once
    (a reminder) and sent again otherwise (a broadcast); the rest go out once."""
    db = delivery_runtime.db
    people = await add_people(db, sandbox, range(7001, 7007))
    async with db.session() as session:
        broadcast = await enqueue(session, Content("Pengumuman"), people[:4], source=("broadcast", 1))
        reminder = await enqueue(session, Content("Pengingat rapat"), people[4:], source=(SOURCE_REMINDER, 1))
        await session.execute(update(OutboxMessage).values(state=OutboxState.SENDING, claimed_by=WORKER))
    rows = {r.chat_id: r.id for b in (broadcast, reminder) for r in await rows_of(db, b)}
    directory = ledger_dir(delivery_runtime.settings)
    assert directory is not None
    killed = SendLedger(directory, WORKER)
    killed.open()
    killed.attempt(rows[7001])
    killed.sent(rows[7001], 4242)  # Telegram took it; the journal never wrote it
    killed.attempt(rows[7002])  # on the wire at the kill (a broadcast)
    killed.attempt(rows[7003])
    killed.unsent(rows[7003])  # a 429: not taken
    # 7004: claimed, never tried.
    killed.attempt(rows[7005])  # on the wire at the kill (a reminder)
    killed.attempt(rows[7006])
    killed.sent(rows[7006], 4243)  # a reminder Telegram took
    killed.close(clean=False)  # the kill: its file stays, its lock goes with the process

    async with running_engine(delivery_runtime, worker_id=WORKER):
        await wait_until(lambda: batch_done(db, broadcast), what="the broadcast to finish")
        await wait_until(lambda: batch_done(db, reminder), what="the reminders to settle")

    sent_to = sorted(c["chat_id"] for c in sandbox.calls if c["method"] == "sendMessage")
    assert sent_to == [7002, 7003, 7004], "only what Telegram had not surely taken goes out"
    states = {r.chat_id: r for b in (broadcast, reminder) for r in await rows_of(db, b)}
    assert states[7001].state == OutboxState.SENT and states[7001].telegram_message_id == 4242
    assert states[7006].state == OutboxState.SENT and states[7006].telegram_message_id == 4243
    assert states[7005].state == OutboxState.FAILED and states[7005].last_error == UNCERTAIN
    assert all(states[c].state == OutboxState.SENT for c in (7002, 7003, 7004))
    async with db.session() as session:
        logged = (await session.execute(
            select(OutboundCall.chat_id, OutboundCall.message_id, OutboundCall.text)
            .where(OutboundCall.chat_id.in_([7001, 7006]))
        )).all()
    assert sorted(logged) == [(7001, 4242, "Pengumuman"), (7006, 4243, "Pengingat rapat")]
    assert list(directory.iterdir()) == [], "a clean stop leaves no ledger behind"


async def test_without_a_ledger_rows_left_in_sending_are_sent_again(
    delivery_runtime: Runtime, sandbox: Sandbox
) -> None:
    """SEND_LEDGER_DIR empty: nothing is known of the killed run's sends, so its rows go out
    again (at least once), as before the ledger."""
    delivery_runtime.settings.send_ledger_dir = None
    db = delivery_runtime.db
    people = await add_people(db, sandbox, [7101])
    async with db.session() as session:
        batch = await enqueue(session, Content("Pengumuman"), people, source=("broadcast", 2))
        await session.execute(update(OutboxMessage).values(state=OutboxState.SENDING, claimed_by=WORKER))
    async with running_engine(delivery_runtime, worker_id=WORKER):
        await wait_until(lambda: batch_done(db, batch), what="the broadcast to finish")
    assert [c["chat_id"] for c in sandbox.calls if c["method"] == "sendMessage"] == [7101]


async def test_the_attempt_is_recorded_when_the_request_leaves(sandbox: Sandbox, tmp_path: Path) -> None:
    """The HTTP layer tells the hook when a request left and when its answer came, once per
    request, and only for the request that set the hook."""
    request = AiohttpRequest(trace_wire=True)
    await request.initialize()
    events: list[str] = []
    try:
        url = f"{sandbox.base_url}{TEST_TOKEN}/getMe"
        token = ON_WIRE.set(events.append)
        try:
            status, _ = await request.do_request(url, "POST")
        finally:
            ON_WIRE.reset(token)
        assert status == 200 and events == ["left", "answered"]
        await request.do_request(url, "POST")  # no hook set: nothing recorded
        assert events == ["left", "answered"]
        dead = AiohttpRequest(trace_wire=True, connect_timeout=1)
        await dead.initialize()
        token = ON_WIRE.set(events.append)
        try:
            with pytest.raises(NetworkError):
                await dead.do_request(f"http://127.0.0.1:{_closed_port()}/x", "POST")
        finally:
            ON_WIRE.reset(token)
            await dead.shutdown()
        assert events == ["left", "answered"], "a request that never reached a server never left"
    finally:
        await request.shutdown()


async def test_a_reminder_whose_answer_never_came_is_not_sent_again(
    delivery_runtime: Runtime, sandbox: Sandbox, client: SandboxClient
) -> None:
    """The request left, Telegram was slow, the read timed out — and Telegram did take it. A
    reminder (at most once) is failed as uncertain; a broadcast is sent again (at least once)."""
    db = delivery_runtime.db
    people = await add_people(db, sandbox, [7201, 7202])
    async with db.session() as session:
        reminder = await enqueue(session, Content("Pengingat rapat"), people[:1], source=(SOURCE_REMINDER, 2))
        broadcast = await enqueue(session, Content("Pengumuman"), people[1:], source=("broadcast", 3))
    await client.set_faults(script=["slow:1.5", "slow:1.5"], methods=["sendMessage"])
    engine = create_engine(delivery_runtime, worker_id=WORKER)
    engine.bot._request[1]._inner._read_timeout = 0.5  # answers slower than this time out
    task = asyncio.create_task(engine.run())
    try:
        await wait_until(lambda: batch_done(db, reminder), timeout=30, what="the reminder to settle")
        await wait_until(lambda: batch_done(db, broadcast), timeout=30, what="the broadcast to settle")
    finally:
        engine.stop()
        await asyncio.wait_for(task, 30)
    taken = [c["chat_id"] for c in sandbox.calls if c["method"] == "sendMessage" and c["status"] == 200]
    [row] = await rows_of(db, reminder)
    assert (row.state, row.last_error) == (OutboxState.FAILED, UNCERTAIN)
    assert taken.count(7201) == 1, "the slow reminder arrived once and was not sent again"
    [row] = await rows_of(db, broadcast)
    assert row.state == OutboxState.SENT
    assert taken.count(7202) == 2, "a broadcast is sent again: at least once"


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
