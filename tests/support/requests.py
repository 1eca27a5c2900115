"""Request classes for tests, built on `OfflineRequest`: one that keeps every answer, and one
that fails a method a given number of times before letting it through."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from tests.support.offline import OfflineRequest


@dataclass
class RecordingRequest(OfflineRequest):
    """An `OfflineRequest` that also keeps the decoded answer of every call, in order."""

    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **kwargs: Any
    ) -> tuple[int, bytes]:
        """Answer like `OfflineRequest` and remember the answer."""
        code, payload = await super().do_request(url, method, request_data, **kwargs)
        self.answers.append((url.rsplit("/", 1)[-1], json.loads(payload)))
        return code, payload

    def results(self, api: str) -> list[Any]:
        """The `result` of every successful call of one Bot API method."""
        return [body["result"] for name, body in self.answers if name == api and body.get("ok")]


class FlakyRequest(BaseRequest):
    """Fails `method` the first `failures` times (HTTP `code`, or a dropped connection), then
    passes every call to `inner`."""

    def __init__(
        self,
        inner: BaseRequest,
        *,
        method: str,
        failures: int,
        code: int = 502,
        network_error: bool = False,
    ) -> None:
        self.inner = inner
        self.method = method
        self.remaining = failures
        self.code = code
        self.network_error = network_error
        self.attempts = 0  # calls of `method` that reached this request

    @property
    def read_timeout(self) -> float | None:
        """Unused offline."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **kwargs: Any
    ) -> tuple[int, bytes]:
        """Fail while failures remain for `method`, else answer through `inner`."""
        api = url.rsplit("/", 1)[-1]
        if api == self.method:
            self.attempts += 1
            if self.remaining > 0:
                self.remaining -= 1
                if self.network_error:
                    raise NetworkError("httpx.ConnectError: connection dropped (test)")
                body = {"ok": False, "error_code": self.code, "description": "Bad Gateway (test)"}
                return self.code, json.dumps(body).encode()
        return await self.inner.do_request(url, method, request_data, **kwargs)
