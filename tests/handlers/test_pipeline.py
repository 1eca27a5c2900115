"""The deployment's pipeline pieces in-process: the webhook receiver and the workers' queue."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update
from telegram import Bot

from bot.pipeline.ingress import SECRET_HEADER, Receiver
from bot.runtime import Runtime
from storage.models import InboundUpdate
from storage.repositories import inbound_queue as queue
from storage.types import utcnow
from tests.conftest import TEST_TOKEN

SECRET = "the-secret_1"


def _update(update_id: int, user: int, text: str, chat: int | None = None) -> dict:
    chat_id = chat if chat is not None else user
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_780_000_000, "text": text,
        "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group", "title": "G"},
        "from": {"id": user, "is_bot": False, "first_name": "Yosef"}}}


@pytest.fixture
async def web(runtime: Runtime) -> AsyncIterator[TestClient]:
    receiver = Receiver(runtime, Bot(TEST_TOKEN), path="/telegram/hook", secret=SECRET)
    async with TestClient(TestServer(receiver.app())) as client:
        yield client


async def _rows(runtime: Runtime) -> list[InboundUpdate]:
    async with runtime.db.session() as session:
        return list((await session.execute(select(InboundUpdate).order_by(InboundUpdate.id))).scalars())


async def test_the_receiver_logs_each_update_once_for_the_workers(web: TestClient, runtime: Runtime) -> None:
    headers = {SECRET_HEADER: SECRET}
    first = await web.post("/telegram/hook", json=_update(10, 501, "/bantuan"), headers=headers)
    again = await web.post("/telegram/hook", json=_update(10, 501, "/bantuan"), headers=headers)
    group = await web.post("/telegram/hook", json=_update(11, 502, "halo", chat=-100777), headers=headers)
    assert (first.status, again.status, group.status) == (200, 200, 200)
    rows = await _rows(runtime)
    assert [(r.update_id, r.queue_key, r.text, r.handled_at, r.attempts) for r in rows] == [
        (10, 501, "/bantuan", None, 0), (11, -100777, "halo", None, 0)]


@pytest.mark.parametrize(("headers", "body", "status"), [
    ({}, _update(1, 1, "x"), 403),
    ({SECRET_HEADER: "wrong"}, _update(1, 1, "x"), 403),
    ({SECRET_HEADER: SECRET}, "not json", 400),
    ({SECRET_HEADER: SECRET}, {"message": {}}, 400),
    ({SECRET_HEADER: SECRET}, [1, 2], 400),
])
async def test_the_receiver_refuses_without_storing(web: TestClient, runtime: Runtime, headers: dict,
                                                   body: object, status: int) -> None:
    if isinstance(body, str):
        response = await web.post("/telegram/hook", data=body, headers=headers)
    else:
        response = await web.post("/telegram/hook", json=body, headers=headers)
    assert response.status == status
    assert await _rows(runtime) == []


async def test_health(web: TestClient) -> None:
    response = await web.get("/healthz")
    assert response.status == 200 and await response.text() == "ok"


async def test_one_worker_per_chat_in_order_and_a_dead_worker_lets_go(
    web: TestClient, runtime: Runtime
) -> None:
    """Two workers' lock connections: a chat held by one is skipped by the other; its updates
    come oldest first; when the holder's connection dies the other takes the same update."""
    if runtime.db.is_sqlite:
        pytest.skip("the workers' queue uses PostgreSQL's advisory locks; SQLite runs `kopdesk run`")
    headers = {SECRET_HEADER: SECRET}
    for update_id, user in ((1, 601), (2, 602), (3, 601), (4, 603)):
        assert (await web.post("/telegram/hook", json=_update(update_id, user, f"m{update_id}"),
                               headers=headers)).status == 200
    engine = runtime.db.engine
    a = await (await engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
    b = await (await engine.connect()).execution_options(isolation_level="AUTOCOMMIT")
    try:
        assert await queue.heads(a, limit=10) == [601, 602, 603]
        assert await queue.try_lock(a, 601)
        taken = await queue.take(a, 601)
        assert taken is not None and (taken.update_id, taken.attempts) == (1, 1)
        assert not await queue.try_lock(b, 601), "a chat is held by one worker at a time"
        assert await queue.heads(b, limit=10, skip={602}) == [603], "held chats are not offered"
        # The holder dies mid-update: its connection, and so its lock, is gone.
        await a.invalidate()
        assert await queue.try_lock(b, 601)
        again = await queue.take(b, 601)
        assert again is not None and (again.update_id, again.attempts) == (1, 2)
        async with runtime.db.session() as session:  # handled, as its transaction would
            await session.execute(update(InboundUpdate).where(InboundUpdate.id == again.id)
                                  .values(handled_at=utcnow()))
        nxt = await queue.take(b, 601)
        assert nxt is not None and nxt.update_id == 3, "the chat's next update, in order"
        await queue.settle(b, nxt.id, utcnow())
        assert await queue.take(b, 601) is None
        await queue.unlock(b, 601)
        assert await queue.depth(b) == 2
        # Two receivers may commit one chat's updates in the other order: Telegram's numbering wins.
        for update_id in (9, 8):
            assert (await web.post("/telegram/hook", json=_update(update_id, 604, f"m{update_id}"),
                                   headers=headers)).status == 200
        assert await queue.try_lock(b, 604)
        first = await queue.take(b, 604)
        assert first is not None and first.update_id == 8
        await queue.unlock(b, 604)
    finally:
        await b.close()
        await a.close()
