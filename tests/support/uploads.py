"""A recording request that also keeps the files the bot uploads (sendPhoto, sendDocument)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from telegram.request import RequestData

from tests.support.requests import RecordingRequest


@dataclass(frozen=True)
class Upload:
    """One uploaded file of one call."""

    method: str
    field: str  # "photo", "document"
    filename: str
    data: bytes
    params: dict[str, Any]


@dataclass
class UploadRecorder(RecordingRequest):
    """`RecordingRequest` plus the bytes of every uploaded file, in order."""

    uploads: list[Upload] = field(default_factory=list)

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **kwargs: Any
    ) -> tuple[int, bytes]:
        """Keep the uploaded files, then answer like `RecordingRequest`."""
        if request_data is not None and request_data.contains_files:
            api = url.rsplit("/", 1)[-1]
            for name, part in request_data.multipart_data.items():
                filename, content = part[0], part[1]
                data = content if isinstance(content, bytes) else content.read()
                self.uploads.append(Upload(api, name, filename, data, dict(request_data.parameters)))
        return await super().do_request(url, method, request_data, **kwargs)

    def files(self, method: str) -> list[Upload]:
        """The uploads of one Bot API method."""
        return [u for u in self.uploads if u.method == method]
