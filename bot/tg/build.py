"""`build_application`: the one place where KopDesk's python-telegram-bot Application is made."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes
from telegram.request import BaseRequest

from bot.delivery.http import AiohttpRequest
from bot.delivery.runner import start_delivery, stop_delivery
from bot.runtime import Runtime
from bot.pipeline.application import KopDeskApplication, PerChatUpdateProcessor
from bot.tg import jobs
from bot.tg.command_lists import publish_commands, staff_chats
from bot.tg.context import KopContext
from bot.tg.ratelimit import BudgetRateLimiter
from bot.tg.request import LoggedRequest, UpdatesRequest, file_url_for
from bot.tg.ticks import give_up_lease
from handlers import register_all
from handlers.one_conversation import load_states
from storage.persistence import SQLPersistence
from storage.repositories import registry

_LOG = logging.getLogger(__name__)
MAX_CONCURRENT_UPDATES = 32
# SQLite has one writer, but a transaction takes the write lock only at its first write (see
# storage/db.py), usually at the very end of an update, and most updates write nothing but
# their log, which goes to a group commit (storage/db.py::GroupCommit): as many updates of
# different chats can wait on the network at once as on PostgreSQL. When one holds the lock
# across a slow Telegram call, the others wait for it rather than fail (`committed`).
SQLITE_CONCURRENT_UPDATES = 32
SANDBOX_TOKEN = "123456:SANDBOX-TOKEN"


def build_application(
    runtime: Runtime,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    with_updater: bool = True,
) -> KopDeskApplication:
    """A fully wired Application: request layer, persistence, rate limiter, handlers."""
    settings = runtime.settings
    secret = token or (settings.bot_token.get_secret_value() if settings.bot_token else None)
    if not secret:
        raise ValueError("BOT_TOKEN is required")
    # aiohttp rather than PTB's default httpx: about a millisecond less CPU per call
    # (bot/delivery/http.py), and every reply is a call.
    inner = request or AiohttpRequest(connections=MAX_CONCURRENT_UPDATES + 8)
    builder = (
        Application.builder()
        .application_class(KopDeskApplication, kwargs={"runtime": runtime})
        .token(secret)
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url_for(settings.telegram_api_url))
        .request(LoggedRequest(inner, runtime.outbound))
        .get_updates_request(UpdatesRequest(get_updates_request or AiohttpRequest(connections=2)))
        .persistence(SQLPersistence(runtime.db))
        .context_types(ContextTypes(context=KopContext))
        .rate_limiter(BudgetRateLimiter(runtime.budget))
        .post_init(on_startup)
        .post_shutdown(on_shutdown)
    )
    if not with_updater:  # a queue worker: its updates come from the database
        builder = builder.updater(None)
    else:  # this process sees every update of the bot: its senders can be remembered
        runtime.db.remember_senders()
    # One chat in order, different chats concurrently (fewer at once on SQLite).
    concurrency = SQLITE_CONCURRENT_UPDATES if runtime.db.is_sqlite else MAX_CONCURRENT_UPDATES
    builder = builder.concurrent_updates(PerChatUpdateProcessor(concurrency))
    app: KopDeskApplication = builder.build()  # type: ignore[assignment]
    register_all(app)
    if not with_updater:  # queue workers share the deployment's chats
        app.conversation_loader = load_states
    return app


async def on_startup(app: Any) -> None:
    """After initialize: publish the command lists, replay unfinished updates, start delivery."""
    async with app.runtime.db.session() as session:
        officers = await registry.list_officers(session)
    await publish_commands(app.bot, staff_chats(app.runtime.settings.admin_ids, officers))
    replayed = await app.replay_unfinished()
    if replayed:
        _LOG.warning("replayed %d unfinished update(s)", replayed)
    jobs.schedule(app)
    await start_delivery(app)


async def on_shutdown(app: Any) -> None:
    """At shutdown: stop the delivery engine; the rows it held go back to the outbox."""
    await stop_delivery(app)
    await give_up_lease(app)


ALLOWED_UPDATES = Update.ALL_TYPES
