"""Starting and stopping the deployment's processes (`kopdesk web`, `kopdesk worker`)."""

from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web
from telegram import Bot

from bot.delivery.http import AiohttpRequest
from bot.pipeline.ingress import Receiver
from bot.pipeline.worker import QueueWorker
from bot.runtime import Runtime
from bot.tg.build import ALLOWED_UPDATES, build_application
from bot.tg.request import file_url_for

_LOG = logging.getLogger(__name__)


def _on_stop_signal(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


async def run_receiver(runtime: Runtime, *, listen: str, port: int, path: str,
                       set_webhook: bool) -> None:
    """`kopdesk web`: serve the webhook path until SIGTERM or SIGINT."""
    settings = runtime.settings
    assert settings.bot_token is not None and settings.webhook_url
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    bot = Bot(settings.bot_token.get_secret_value(), base_url=settings.telegram_api_url,
              base_file_url=file_url_for(settings.telegram_api_url),
              request=AiohttpRequest(connections=2), get_updates_request=AiohttpRequest(connections=1))
    stop = asyncio.Event()
    _on_stop_signal(stop)
    runner: web.AppRunner | None = None
    try:
        async with bot:
            receiver = Receiver(runtime, bot, path=path, secret=secret)
            runner = web.AppRunner(receiver.app(), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, listen, port).start()
            if set_webhook:
                await bot.set_webhook(settings.webhook_url, secret_token=secret,
                                      allowed_updates=ALLOWED_UPDATES, max_connections=100)
            _LOG.info("receiving updates on %s:%d%s", listen, port, receiver.path)
            await stop.wait()
            _LOG.info("receiver stopping (%d update(s) received)", receiver.received)
    finally:
        if runner is not None:
            await runner.cleanup()
        await runtime.db.dispose()


async def run_queue_worker(runtime: Runtime, *, concurrency: int) -> None:
    """`kopdesk worker` on PostgreSQL: handle queued updates, run the delivery engine and the
    scheduled jobs (the lease decides which worker runs them), until SIGTERM or SIGINT."""
    app = build_application(runtime, with_updater=False)
    worker = QueueWorker(app, concurrency=concurrency)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    try:
        async with app:
            await app.post_init(app)  # type: ignore[misc]
            await app.start()
            _LOG.info("worker %s handling queued updates (%d chats at once)",
                      runtime.instance_id, concurrency)
            await worker.run()
            _LOG.info("worker %s stopping (%d update(s) handled)", runtime.instance_id, worker.handled)
            await app.stop()
            if app.post_shutdown:
                await app.post_shutdown(app)
    finally:
        await runtime.db.dispose()
