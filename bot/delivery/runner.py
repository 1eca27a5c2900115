"""Wiring the delivery engine into a process: `kopdesk run` (background task) or `kopdesk worker`.

The engine's bot is a plain `telegram.Bot` whose request is KopDesk's `LoggedRequest` (every
send in the outbound log, written by the engine's journal) with `max_attempts=1` and no
AIORateLimiter: the engine paces itself, retries through the outbox, and must see every 429.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any

from telegram import Bot

from bot.delivery.engine import DeliveryEngine, EngineConfig
from bot.delivery.http import AiohttpRequest
from bot.delivery.journal import Journal, JournalLog
from bot.delivery.reports import Reporter
from bot.runtime import Runtime
from bot.tg.request import LoggedRequest
from storage.db import Database

_LOG = logging.getLogger(__name__)
_APP_KEY = "_delivery_engine"


def default_worker_id(db: Database) -> str:
    """SQLite: one id per host, so a restart reclaims what it left; PostgreSQL: host and pid."""
    host = socket.gethostname()
    return f"sqlite@{host}" if db.is_sqlite else f"{host}:{os.getpid()}"


def reporters() -> dict[str, Reporter]:
    """The reporters of the features that send through the outbox, by source kind."""
    from handlers.broadcast_report import report_broadcast

    return {"broadcast": report_broadcast}


def create_engine(runtime: Runtime, *, worker_id: str | None = None, **overrides: Any) -> DeliveryEngine:
    """A delivery engine for this runtime's settings and database (not started)."""
    from bot.tg.build import file_url_for

    settings = runtime.settings
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is required for the delivery engine")
    config = EngineConfig(
        worker_id=worker_id or default_worker_id(runtime.db),
        send_rate=settings.send_rate,
        lease=settings.delivery_lease_seconds,
        release_own_on_start=True,
        **overrides,
    )
    journal = Journal(runtime.db, config.worker_id)
    request = LoggedRequest(
        AiohttpRequest(connections=config.senders + 4), JournalLog(journal), max_attempts=1
    )
    bot = Bot(
        settings.bot_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        base_file_url=file_url_for(settings.telegram_api_url),
        request=request,
        get_updates_request=request,  # never polls; avoids a second, idle HTTP client
    )
    return DeliveryEngine(runtime.db, bot, config, reporters=reporters(), journal=journal)


async def start_delivery(app: Any) -> DeliveryEngine:
    """Start the engine as a background task of a running Application."""
    engine = create_engine(app.runtime)
    task = asyncio.create_task(engine.run(), name="delivery-engine")
    app.bot_data[_APP_KEY] = (engine, task)
    return engine


async def stop_delivery(app: Any) -> None:
    """Stop the Application's engine, if it runs, and wait for it to give its rows back."""
    found = app.bot_data.pop(_APP_KEY, None)
    if found is None:
        return
    engine, task = found
    engine.stop()
    try:
        await asyncio.wait_for(task, 30)
    except Exception:
        _LOG.exception("delivery engine did not stop cleanly")


async def run_worker(runtime: Runtime, worker_id: str | None = None) -> None:
    """`kopdesk worker`: run one engine until SIGTERM or SIGINT."""
    import signal

    engine = create_engine(runtime, worker_id=worker_id)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, engine.stop)
    try:
        await engine.run()
    finally:
        await runtime.db.dispose()
