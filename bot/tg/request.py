"""The request layer: every Bot API call passes here, so the outbound log cannot be bypassed.

`LoggedRequest` wraps another `BaseRequest` (aiohttp for real use, an offline one in tests). For
content methods it retries transient failures (5xx, timeouts, dropped connections) with
exponential backoff and records each call's outcome in the outbound log. A 429 is not retried
here: the rate limiter one layer up (`bot.tg.ratelimit`, the process's send budget) pauses
every lane for its retry_after and tries again.

Two refusals are logged and then answered as success, for every caller at once: an expired
callback query (answering it only stops a spinner), and "message is not modified" from an edit
(a double tap on a slow connection asks for the edit the first tap already made; Telegram
refuses an edit that changes nothing, but the message already says what it should).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from bot.message_log import OutboundLog, carrying_raw, is_content_method

_LOG = logging.getLogger(__name__)


def file_url_for(base_url: str) -> str:
    """Telegram's file URL beside a Bot API base URL (``…/bot`` → ``…/file/bot``)."""
    head, sep, _ = base_url.rstrip("/").rpartition("/bot")
    return f"{head}/file/bot" if sep else base_url.rstrip("/") + "/file/bot"
_STALE_QUERY = "query is too old"
_NOT_MODIFIED = "message is not modified"
_TRUE = b'{"ok":true,"result":true}'


class WrappingRequest(BaseRequest):
    """A `BaseRequest` around another: everything goes to the inner one unless overridden."""

    def __init__(self, inner: BaseRequest) -> None:
        self._inner = inner

    @property
    def read_timeout(self) -> float | None:
        """The inner request's default read timeout."""
        return self._inner.read_timeout

    async def initialize(self) -> None:
        """Initialise the inner request."""
        await self._inner.initialize()

    async def shutdown(self) -> None:
        """Shut the inner request down."""
        await self._inner.shutdown()

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:
        """The inner request parses the answers it fetched (AiohttpRequest: with orjson)."""
        return self._inner.parse_json_payload(payload)

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        **timeouts: Any,
    ) -> tuple[int, bytes]:
        """Through the inner request."""
        return await self._inner.do_request(url, method, request_data, **timeouts)


class LoggedRequest(WrappingRequest):
    """A `BaseRequest` that logs content calls and retries their transient failures."""

    def __init__(
        self,
        inner: BaseRequest,
        outbound: OutboundLog | None,
        *,
        max_attempts: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 8.0,
    ) -> None:
        super().__init__(inner)
        self._outbound = outbound
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._max_backoff = max_backoff

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        **timeouts: Any,
    ) -> tuple[int, bytes]:
        """Send one Bot API call; for content methods, retry transient failures and log it."""
        api_method = url.rsplit("/", 1)[-1]
        if not is_content_method(api_method):
            return await self._inner.do_request(url, method, request_data, **timeouts)

        started = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            try:
                code, payload = await self._inner.do_request(url, method, request_data, **timeouts)
            except NetworkError as exc:  # dropped connection, timeout
                if attempts < self._max_attempts:
                    await self._pause(api_method, attempts, str(exc))
                    continue
                await self._log(api_method, request_data, None, str(exc), attempts, started)
                raise
            if code >= 500 and attempts < self._max_attempts:
                await self._pause(api_method, attempts, f"HTTP {code}")
                continue
            result, error = _outcome(code, payload)
            await self._log(api_method, request_data, result, error, attempts, started)
            if code == 400 and api_method == "answerCallbackQuery" and _STALE_QUERY in (error or "").lower():
                # Answering a button only stops its spinner. A query that expired (an update
                # replayed after a restart, a slow network) must not abort the work the press
                # asked for, so this refusal is logged above and then treated as done.
                _LOG.info("callback query expired before it was answered; carrying on")
                return 200, _TRUE
            if code == 400 and api_method.startswith("editMessage") and _NOT_MODIFIED in (error or "").lower():
                _LOG.info("%s changed nothing (the message already says it); carrying on", api_method)
                return 200, _TRUE
            return code, payload

    async def _pause(self, api_method: str, attempts: int, reason: str) -> None:
        delay = min(self._backoff * 2 ** (attempts - 1), self._max_backoff)
        _LOG.warning("%s failed (%s); retry %d in %.1fs", api_method, reason, attempts, delay)
        await asyncio.sleep(delay)

    async def _log(
        self,
        api_method: str,
        request_data: RequestData | None,
        result: Any,
        error: str | None,
        attempts: int,
        started: float,
    ) -> None:
        if self._outbound is None:
            return
        params = request_data.parameters if request_data else {}
        await self._outbound.record(
            method=api_method,
            params=params,
            result=result,
            error=error,
            attempts=attempts,
            duration_ms=int((time.perf_counter() - started) * 1000),
        )


class UpdatesRequest(WrappingRequest):
    """The request of `getUpdates`: hands each update on with the JSON Telegram sent for it.

    PTB builds the `Update` objects from the parsed answer; each result also carries its own
    untouched copy (`message_log.carrying_raw`), which the inbound log stores as it is instead
    of rebuilding it from the objects with `Update.to_dict()` and a JSON round trip (with the
    menu keyboard built once, ~4 % of the CPU of a /bantuan; docs/PERFORMANCE.md).
    """

    def parse_json_payload(self, payload: bytes) -> dict[str, Any]:
        """The answer as the inner request parses it, each update carrying a copy of its JSON."""
        data = self._inner.parse_json_payload(payload)
        results = data.get("result") if isinstance(data, dict) else None
        if not isinstance(results, list) or not results:
            return data
        try:
            copies = orjson.loads(payload)["result"]  # a second, untouched parse
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return data
        if len(copies) == len(results):
            data["result"] = [carrying_raw(result, copy) if isinstance(result, dict) else result
                              for result, copy in zip(results, copies, strict=True)]
        return data


def _outcome(code: int, payload: bytes) -> tuple[Any, str | None]:
    try:
        body = orjson.loads(payload)
    except ValueError:  # orjson.JSONDecodeError is one
        return None, f"HTTP {code}: unreadable answer"
    if 200 <= code < 300 and body.get("ok"):
        return body.get("result"), None
    return None, f"{body.get('error_code', code)}: {body.get('description', 'error')}"
