"""`kopdesk web`: the webhook receiver. Receiving an update is one write; nothing else happens.

Telegram POSTs each update to WEBHOOK_URL with the secret token in a header. The receiver
checks the token (constant-time), parses the update, inserts it into the inbound log with its
chat as the queue key, commits, wakes the workers and answers 200. Telegram delivers again what
was not answered with 2xx, and a redelivery is a no-op (the log is unique on update id and
payload), so a receiver restarted mid-request loses nothing. Run any number behind a load
balancer; they share nothing but the database.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import replace

from aiohttp import web
from sqlalchemy import text
from telegram import Bot, Update

from bot.runtime import Runtime
from bot.message_log import carrying_raw
from bot.pipeline.application import chat_key, inbound_row
from storage.repositories import message_log as log_repo

_LOG = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CHANNEL = "kopdesk_inbound"  # the workers LISTEN here
MAX_BODY = 1 << 20  # Telegram's updates are far smaller


class Receiver:
    """The aiohttp application of one receiver."""

    def __init__(self, runtime: Runtime, bot: Bot, *, path: str, secret: str | None) -> None:
        self.runtime = runtime
        self.bot = bot
        self.path = "/" + path.lstrip("/")
        self._secret = secret.encode() if secret else None
        self.received = 0

    def app(self) -> web.Application:
        """The web application: the webhook path and a health check."""
        application = web.Application(client_max_size=MAX_BODY)
        application.router.add_post(self.path, self.receive)
        application.router.add_get("/healthz", self.health)
        return application

    async def health(self, request: web.Request) -> web.Response:
        """200 while the database answers (for the load balancer)."""
        try:
            async with self.runtime.db.session() as session:
                await session.execute(text("SELECT 1"))
        except Exception:
            return web.Response(status=503, text="database unreachable")
        return web.Response(text="ok")

    async def receive(self, request: web.Request) -> web.Response:
        """One update: check, store, commit, notify, answer."""
        if self._secret is not None:
            given = request.headers.get(SECRET_HEADER, "").encode()
            if not hmac.compare_digest(given, self._secret):
                _LOG.warning("webhook call without the right secret token from %s", request.remote)
                return web.Response(status=403)
        try:
            data = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return web.Response(status=400, text="not an update")
        try:
            update = Update.de_json(carrying_raw(data), self.bot)
        except Exception:
            _LOG.warning("webhook body is not an update PTB can read; dropped", exc_info=True)
            return web.Response(status=400, text="not an update")
        row = replace(inbound_row(update), queue_key=chat_key(update))
        db = self.runtime.db
        try:
            async with db.session() as session:
                await log_repo.record_inbound_many(session, [row])
                if not db.is_sqlite:  # delivered to the listeners when this commits
                    await session.execute(text(f"NOTIFY {CHANNEL}"))
        except Exception:
            # Telegram delivers it again later: nothing is lost by refusing now.
            _LOG.exception("could not store update %s; Telegram will deliver it again",
                           update.update_id)
            return web.Response(status=503)
        self.received += 1
        return web.Response()
