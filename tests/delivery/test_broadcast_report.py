"""Broadcasts through the engine and their reporter: progress edits, final report, bad HTML."""

from __future__ import annotations

import itertools

from telegram import Bot

from bot.i18n import t
from bot.runtime import Runtime
from bot.sandbox import Sandbox, SandboxClient
from bot.services import broadcasts
from bot.services.audience import Audience
from bot.services.roles import Identity, Role
from storage.models_delivery import BroadcastStatus, OutboxState
from storage.types import utcnow
from tests.conftest import ADMIN_ID
from tests.delivery.conftest import add_cooperative, add_people, rows_of, running_engine
from tests.e2e.conftest import wait_until

OFFICER = ADMIN_ID


async def _broadcast(runtime: Runtime, sandbox: Sandbox, text: str, managers: range) -> tuple[int, int, int]:
    """A broadcast to all, queued as /siaran's Kirim leaves it: (broadcast, batch, progress msg)."""
    db = runtime.db
    people = await add_people(db, sandbox, managers)
    await add_cooperative(db, "Amarasi", "BH-9", managers=[p.person_id for p in people])
    sandbox.state.register_chat(OFFICER, "private", None, None)
    async with Bot(runtime.settings.bot_token.get_secret_value(), base_url=sandbox.base_url) as bot:
        progress_message = await bot.send_message(OFFICER, "📤")
    async with db.session() as session:
        draft = await broadcasts.save_draft(session, officer_id=OFFICER, chat_id=OFFICER, text=text)
        broadcasts.choose(draft, Audience.everyone())
        await broadcasts.send(session, draft, identity=Identity(Role.ADMIN), language="id", now=utcnow())
        draft.progress_message_id = progress_message.message_id
        return draft.id, draft.batch_id, progress_message.message_id


async def _done(runtime: Runtime, broadcast_id: int) -> bool:
    async with runtime.db.session() as session:
        return (await broadcasts.get(session, broadcast_id)).status == BroadcastStatus.DONE


async def test_bad_formatting_fails_every_row_at_once_and_the_officer_is_told(
    delivery_runtime: Runtime, sandbox: Sandbox, client: SandboxClient
) -> None:
    """Unclosed HTML: each row fails on its first attempt with Telegram's description, and the
    final report in the officer's chat gives that reason with its count."""
    broadcast_id, batch, progress_id = await _broadcast(delivery_runtime, sandbox, "<b>Rapat besok", range(8001, 8004))
    async with running_engine(delivery_runtime):
        await wait_until(lambda: _done(delivery_runtime, broadcast_id), timeout=30, what="the final report")
    rows = await rows_of(delivery_runtime.db, batch)
    assert {(r.state, r.attempts) for r in rows} == {(OutboxState.FAILED, 1)}
    assert all(r.last_error.startswith("400: Can't parse entities") for r in rows)
    assert len([c for c in sandbox.calls if c["method"] == "sendMessage" and c["chat_id"] in range(8001, 8004)]) == 3
    messages = await client.messages(OFFICER)
    progress = next(m for m in messages if m["message_id"] == progress_id)
    assert progress["text"] == t("id", "siaran.progress_done", id=broadcast_id, sent=0, total=3, failed=3, blocked=0)
    report = messages[-1]["text"]
    assert "Gagal: 3" in report and "Can't parse entities" in report and "(3)" in report


async def test_progress_is_edited_at_most_every_two_seconds(
    delivery_runtime: Runtime, sandbox: Sandbox, client: SandboxClient
) -> None:
    """40 recipients at 10/s: the progress message is edited as delivery goes, the edits at
    least two seconds apart, and the final report says all were sent."""
    delivery_runtime.settings.send_rate = 10
    broadcast_id, batch, _progress_id = await _broadcast(delivery_runtime, sandbox, "Rapat <b>Senin</b>", range(8101, 8141))
    async with running_engine(delivery_runtime):
        await wait_until(lambda: _done(delivery_runtime, broadcast_id), timeout=40, what="the final report")
    edits = [c["t"] for c in sandbox.calls if c["method"] == "editMessageText" and c["chat_id"] == OFFICER]
    assert len(edits) >= 2
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(edits))
    texts = [e["message"]["text"] for e in await client.events(OFFICER) if e["kind"] == "edited"]
    assert any("Terkirim " in x and "/40" in x and "Terkirim 40/40" not in x for x in texts)
    messages = await client.messages(OFFICER)
    assert "✅ Terkirim: 40" in messages[-1]["text"]
    assert {r.state for r in await rows_of(delivery_runtime.db, batch)} == {OutboxState.SENT}
