"""The sandbox HTTP server: Bot API at /bot<token>/<method>, files, and the control API."""

from __future__ import annotations

import json
import logging
import re
import time
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from .botapi import BotApi, CallContext, Described
from .control import ControlApi, control_errors
from .errors import ApiError, not_found, too_many_requests, unauthorized
from .faults import FaultInjector
from .params import Params, parse_request
from .state import State
from .webhook import WebhookDeliverer

log = logging.getLogger(__name__)

TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES = frozenset({"chat.css", "chat.js", "chat-text.js"})
MAX_UPLOAD = 60 * 1024 * 1024  # Telegram accepts 50 MB bot uploads; leave room for form overhead
_STATUS_PHRASE = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
_dumps = partial(json.dumps, ensure_ascii=False)


def _chat_id_of(params: Params) -> int | str | None:
    value = params.raw("chat_id")
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


class Sandbox:
    """An in-memory stand-in for api.telegram.org plus a control API to act as users."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_token: str = "123456:SANDBOX-TOKEN",
        bot_username: str = "kopdesk_bot",
        bot_first_name: str = "KopDesk",
        seed: int = 0,
        first_update_id: int | None = None,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.bot_token = bot_token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.seed = seed
        self.state = State(seed, bot_username, bot_first_name, first_update_id)
        self.faults = FaultInjector(seed)
        self.api = BotApi(self.state)
        self.control = ControlApi(self)
        self.webhooks = WebhookDeliverer(self.state)
        self.calls: list[dict[str, Any]] = []
        self._call_seq = 0
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ---- addresses -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (only after start)."""
        if self._port is None:
            raise RuntimeError("Sandbox is not started")
        return self._port

    @property
    def url(self) -> str:
        """Root URL of the server."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """PTB's ``base_url`` (PTB appends the token and ``/method``)."""
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        """PTB's ``base_file_url`` for downloading files returned by getFile."""
        return f"{self.url}/file/bot"

    @property
    def control_url(self) -> str:
        """Root of the control API."""
        return f"{self.url}/_sandbox"

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Bind and serve."""
        if self._runner is not None:
            raise RuntimeError("Sandbox already started")
        self.state.closing = False
        app = web.Application(client_max_size=MAX_UPLOAD, middlewares=[control_errors])
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_get("/", self._handle_index)
        app.router.add_get("/static/{name}", self._handle_static)
        self.control.register(app.router)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self._port = int(runner.addresses[0][1])
        await self.webhooks.start()

    async def stop(self) -> None:
        """Finish long polls and shut the server down."""
        if self._runner is None:
            return
        self.state.closing = True
        self.state.notifier.notify()
        await self.webhooks.stop()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def reset(self) -> None:
        """Forget everything but the bot identity (chats, updates, faults, calls, webhook)."""
        self.state.reset()
        self.faults.clear()
        self.webhooks.reset()
        self.calls.clear()

    # ---- handlers --------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        received = time.monotonic()
        self._call_seq += 1
        call: dict[str, Any] = {
            "seq": self._call_seq,
            "t": received,
            "wall": time.time(),
            "method": request.match_info["method"],
            "chat_id": None,
            "status": None,
            "fault": None,
            "error": None,
        }
        self.calls.append(call)
        try:
            token = request.match_info["token"]
            if not TOKEN_RE.match(token):
                raise unauthorized()
            found = self.api.lookup(call["method"])
            if found is None:
                raise not_found()
            call["method"], handler = found
            params = await parse_request(request)
            call["chat_id"] = _chat_id_of(params)
            bot_id = int(token.split(":", 1)[0])
            fault = self.faults.decide(call["method"], bot_id, received)
            if fault is not None:
                call["fault"] = fault.kind
                if fault.kind == "drop":
                    call["error"] = "connection dropped"
                    if request.transport is not None:
                        request.transport.close()
                    return web.Response(status=500)  # never reaches the closed socket
                if fault.kind == "429":
                    raise too_many_requests(fault.retry_after)
                if fault.kind == "5xx":
                    raise ApiError(fault.status, _STATUS_PHRASE.get(fault.status, "Server Error"))
                # "slow": answer late, then handle normally (stop() cuts the delay short).
                state = self.state
                await state.notifier.wait_until(lambda: state.closing, fault.delay)
            result = await handler(CallContext(bot_id, token), params)
            body: dict[str, Any] = {"ok": True}
            if isinstance(result, Described):
                body.update(result=result.result, description=result.description)
            else:
                body["result"] = result
            call["status"] = 200
            return web.json_response(body, dumps=_dumps)
        except ApiError as exc:
            return self._error(call, exc)
        except Exception as exc:  # a sandbox bug: answer like Telegram's 500, keep serving
            log.exception("sandbox failed handling %s", call["method"])
            return self._error(call, ApiError(500, f"Internal Server Error: {type(exc).__name__}: {exc}"))

    @staticmethod
    def _error(call: dict[str, Any], exc: ApiError) -> web.Response:
        call["status"] = exc.code
        call["error"] = exc.description
        return web.json_response(exc.body(), status=exc.code, dumps=_dumps)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if not TOKEN_RE.match(request.match_info["token"]):
            exc = unauthorized()
            return web.json_response(exc.body(), status=exc.code)
        stored = self.state.files_by_path.get(request.match_info["file_path"])
        if stored is None:
            exc = not_found()
            return web.json_response(exc.body(), status=exc.code)
        return web.Response(body=stored.data, content_type=stored.mime_type or "application/octet-stream")

    async def _handle_index(self, request: web.Request) -> web.StreamResponse:
        page = STATIC_DIR / "chat.html"
        if not page.exists():
            raise web.HTTPNotFound()
        return web.FileResponse(page)

    async def _handle_static(self, request: web.Request) -> web.StreamResponse:
        """The browser chat's scripts and style sheet: only files directly in static/."""
        name = request.match_info["name"]
        if name not in STATIC_FILES:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC_DIR / name)
