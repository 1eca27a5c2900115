"""`AiohttpRequest`: the HTTP layer under the delivery engine's `LoggedRequest`.

Why not PTB's `HTTPXRequest`: at broadcast rates its connection pool costs about a millisecond
of CPU per request. Measured on a 2-core machine against the sandbox: ~880 sends/s with httpx
(at its best concurrency) against ~4,900/s through this class, and the engine needs room for
its own database work to reach the paid-broadcast rates (1000/s). aiohttp is already a
dependency (the sandbox and PTB's webhook server use it).

Request bodies are one JSON document and responses are parsed with orjson: every reply and
every getUpdates batch passes here, and the standard library's json took a few per cent of an
update's CPU (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import aiohttp
import orjson
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

_DEFAULT = type(BaseRequest.DEFAULT_NONE)  # "not given by the caller": use our default
_JSON = {"Content-Type": "application/json"}

# Set by a caller that must know whether its request went on the wire (the delivery engine's
# send ledger): called with "left" once the request's headers are written to the connection,
# with the body right behind them (before that moment a killed process has sent nothing), and
# with "answered" once an HTTP answer came back (after "left" without "answered", Telegram may
# or may not have the message).
ON_WIRE: contextvars.ContextVar[Callable[[str], None] | None] = contextvars.ContextVar(
    "kopdesk_on_wire", default=None)


async def _headers_sent(_session: Any, context: SimpleNamespace, _params: Any) -> None:
    hook = (context.trace_request_ctx or {}).get("on_wire")
    if hook is not None:
        hook("left")


class AiohttpRequest(BaseRequest):
    """A PTB `BaseRequest` on one aiohttp session with a bounded connection pool."""

    def __init__(
        self,
        *,
        connections: int = 32,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        trace_wire: bool = False,
    ) -> None:
        self._trace_wire = trace_wire  # call ON_WIRE's hook when a request leaves
        self._connections = connections
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._session: aiohttp.ClientSession | None = None

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (idempotent)."""
        if self._session is None or self._session.closed:
            traces = []
            if self._trace_wire:
                trace = aiohttp.TraceConfig()
                trace.on_request_headers_sent.append(_headers_sent)
                traces.append(trace)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
                trace_configs=traces or None,
            )

    async def shutdown(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:
        """The Bot API's answer, parsed with orjson (PTB's contract: TelegramError if invalid)."""
        try:
            return orjson.loads(payload)  # type: ignore[no-any-return]
        except orjson.JSONDecodeError as exc:
            raise TelegramError("Invalid server response") from exc

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """One HTTP request; network failures become PTB's `TimedOut` / `NetworkError`."""
        if self._session is None:
            raise RuntimeError("AiohttpRequest is not initialized")
        read = self._read_timeout if isinstance(read_timeout, _DEFAULT) else read_timeout
        connect = self._connect_timeout if isinstance(connect_timeout, _DEFAULT) else connect_timeout
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_read=read)
        data: Any = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            files = request_data.multipart_data
            if files:
                form = aiohttp.FormData()
                for name, value in request_data.json_parameters.items():
                    form.add_field(name, value)
                for name, (filename, content, mime) in files.items():
                    form.add_field(name, content, filename=filename, content_type=mime)
                data = form
            else:  # one JSON body, as the Bot API accepts: no form encoding per field
                data, headers = orjson.dumps(request_data.parameters), _JSON
        hook = ON_WIRE.get() if self._trace_wire else None
        extra = {"trace_request_ctx": {"on_wire": hook}} if hook is not None else {}
        try:
            async with self._session.request(method, url, data=data, headers=headers, timeout=timeout,
                                             **extra) as response:
                body = await response.read()
                if hook is not None:
                    hook("answered")
                return response.status, body
        except TimeoutError as exc:
            raise TimedOut(f"aiohttp: timed out ({exc.__class__.__name__})") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc
