"""A conversation begun in one process continues in another (several workers, one database)."""

from __future__ import annotations

from bot.i18n import t
from bot.runtime import Runtime
from handlers.one_conversation import load_states
from tests.support.harness import running_bot
from tests.support.updates import callback_update, message_update

GUEST = 7710


async def test_a_registration_moves_between_two_processes(runtime: Runtime) -> None:
    """/daftar in the first process, "no code" in the second, a typed name in the first again:
    each process reads the conversation's state the other one stored."""
    other = Runtime(settings=runtime.settings, db=runtime.db, outbound=runtime.outbound,
                    instance_id="second")
    async with running_bot(runtime) as first, running_bot(other) as second:
        for bot in (first, second):
            bot.app.conversation_loader = load_states  # what PostgreSQL gets by default
        await first.feed(message_update(first.app.bot, GUEST, "/daftar"))
        await second.feed(callback_update(second.app.bot, GUEST, "reg:nocode"))
        assert second.calls("editMessageText"), "the second process did not take the button"
        await first.feed(message_update(first.app.bot, GUEST, "Koperasi Tak Ada"))
        assert first.request.texts(GUEST)[-1].startswith("Tidak ada koperasi yang cocok")
        # /batal in the second process ends it for both.
        await second.feed(message_update(second.app.bot, GUEST, "/batal"))
        await first.feed(message_update(first.app.bot, GUEST, "Koperasi Tak Ada"))
        assert not first.request.texts(GUEST)[-1].startswith("Tidak ada koperasi yang cocok")
    assert t("id", "error.apology") not in first.request.texts(GUEST) + second.request.texts(GUEST)


async def test_queue_workers_read_states_per_update_and_kopdesk_run_keeps_them(runtime: Runtime) -> None:
    """A queue worker shares the deployment's chats with other workers; `kopdesk run` sees every
    update of its bot, on either database, so its states in memory are the database's."""
    from bot.tg.build import build_application

    async with running_bot(runtime) as bot:
        assert bot.app.conversation_loader is None
    worker = build_application(runtime, token="1:x", with_updater=False)
    assert worker.conversation_loader is load_states
