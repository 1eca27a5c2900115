"""Wiring the delivery engine into a process: `kopdesk run` (background task) or `kopdesk worker`.

The engine's bot is a plain `telegram.Bot` whose request is KopDesk's `LoggedRequest` (every
send in the outbound log, written by the engine's journal) with `max_attempts=1` and no rate
limiter of its own: the engine waits in the process's one `SendBudget` (`runtime.budget`, which
the handlers' replies share through `bot.tg.ratelimit`), retries through the outbox, and must
see every 429.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from pathlib import Path
from typing import Any

from telegram import Bot

from bot.delivery.engine import DeliveryEngine, EngineConfig
from bot.delivery.http import AiohttpRequest
from bot.delivery.journal import Journal, JournalLog
from bot.delivery.ledger import SendLedger
from bot.delivery.reports import Reporter
from bot.runtime import Runtime
from bot.tg.request import LoggedRequest, file_url_for

_LOG = logging.getLogger(__name__)
_APP_KEY = "_delivery_engine"


def reporters() -> dict[str, Reporter]:
    """The reporters of the features that send through the outbox, by source kind."""
    from handlers.broadcast_report import report_broadcast

    return {"broadcast": report_broadcast}


def at_most_once_sources() -> frozenset[str]:
    """Source kinds never sent twice across a crash, at the risk of one missed copy: scheduled
    reminders, which are followed by the next reminder anyway."""
    from bot.services.campaign import SOURCE as CAMPAIGN
    from bot.services.meetings import SOURCE_REMINDER

    return frozenset({SOURCE_REMINDER, CAMPAIGN})


def create_engine(runtime: Runtime, *, worker_id: str | None = None, **overrides: Any) -> DeliveryEngine:
    """A delivery engine for this runtime's settings and database (not started)."""
    settings = runtime.settings
    if settings.bot_token is None:
        raise ValueError("BOT_TOKEN is required for the delivery engine")
    config = EngineConfig(
        worker_id=worker_id or runtime.instance_id,
        send_rate=settings.send_rate,
        lease=settings.delivery_lease_seconds,
        release_own_on_start=True,
        at_most_once=at_most_once_sources(),
        **overrides,
    )
    journal = Journal(runtime.db, config.worker_id)
    request = LoggedRequest(
        AiohttpRequest(connections=config.senders + 4, trace_wire=True), JournalLog(journal),
        max_attempts=1
    )
    bot = Bot(
        settings.bot_token.get_secret_value(),
        base_url=settings.telegram_api_url,
        base_file_url=file_url_for(settings.telegram_api_url),
        request=request,
        get_updates_request=request,  # never polls; avoids a second, idle HTTP client
    )
    return DeliveryEngine(runtime.db, bot, config, reporters=reporters(), journal=journal,
                          budget=runtime.budget,
                          ledger=SendLedger(ledger_dir(settings), config.worker_id))


def ledger_dir(settings: Any) -> Path | None:
    """This database's send ledgers: one directory per database, so that two bots of one
    machine (a demo and a real one, say) never read each other's."""
    if settings.send_ledger_dir is None:
        return None
    key = hashlib.sha256(settings.database_url.encode()).hexdigest()[:12]
    return Path(settings.send_ledger_dir) / key


async def stop_delivery(app: Any) -> None:
    """Stop the Application's engine, if it runs, and wait for it to give its rows back."""
    found = app.bot_data.pop(_APP_KEY, None)
    if found is None:
        return
    engine, task = found
    if engine is None:  # only the budget share
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return
    engine.stop()
    try:
        await asyncio.wait_for(task, 30)
    except Exception:
        _LOG.exception("delivery engine did not stop cleanly")


async def keep_budget_share(runtime: Runtime, member_id: str, interval: float = 2.0) -> None:
    """For a process that sends replies but runs no engine: hold its share of SEND_RATE.

    The deployment's processes split SEND_RATE in equal, fixed shares: each registers in
    `delivery_workers` every `interval` seconds (the engine does so in its housekeeping) and
    sets its budget to SEND_RATE / live members, so the sum over the deployment never exceeds
    SEND_RATE. Runs until cancelled; the registration is removed on the way out.
    """
    from datetime import timedelta

    from storage.repositories import outbox as repo
    from storage.types import utcnow

    try:
        while True:
            try:
                async with runtime.db.session() as session:
                    live = await repo.heartbeat(session, member_id, utcnow(),
                                                timedelta(seconds=interval * 3))
                runtime.budget.set_rate(runtime.settings.send_rate / live)
            except Exception:
                _LOG.exception("could not renew this process's share of the send budget")
            await asyncio.sleep(interval)
    finally:
        try:
            async with runtime.db.session() as session:
                await repo.remove_worker(session, member_id)
        except Exception:
            _LOG.warning("could not leave the send budget; the entry expires by itself")


async def start_delivery(app: Any) -> DeliveryEngine | None:
    """Start the engine as a background task of a running Application, or, when separate
    `kopdesk worker` processes deliver, only take this process's share of the send budget."""
    if not app.runtime.settings.run_delivery_worker:
        member = f"{app.runtime.instance_id}:replies"
        task = asyncio.create_task(keep_budget_share(app.runtime, member), name="budget-share")
        app.bot_data[_APP_KEY] = (None, task)
        return None
    engine = create_engine(app.runtime)
    task = asyncio.create_task(engine.run(), name="delivery-engine")
    app.bot_data[_APP_KEY] = (engine, task)
    return engine


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
