"""Parse Bot API parameters the three ways clients send them.

python-telegram-bot sends ``application/x-www-form-urlencoded`` (or ``multipart/form-data``
with uploads) where every non-string value is a JSON-encoded string; other clients send a
JSON body. Values are kept raw and decoded per parameter type on access, because a blanket
``json.loads`` would turn a message text such as ``"123"`` or ``"true"`` into a number or bool.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .errors import bad_request

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


class Params:
    """Raw parameters plus uploaded files, with typed accessors."""

    def __init__(self, values: dict[str, Any], files: dict[str, Upload]):
        self.values = values
        self.files = files

    def has(self, name: str) -> bool:
        """True if the parameter was sent (even empty)."""
        return name in self.values or name in self.files

    def raw(self, name: str) -> Any:
        """The value as received (str for form fields, any JSON type for JSON bodies)."""
        return self.values.get(name)

    def text(self, name: str) -> str | None:
        """The parameter as a string, or None if absent."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(value)
        return json.dumps(value, ensure_ascii=False)

    def integer(self, name: str, *, error: str | None = None) -> int | None:
        """The parameter as an integer; a non-integer raises ``error`` (or a generic 400)."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad_request(error or f"invalid {name} specified") from None

    def number(self, name: str) -> float | None:
        """The parameter as a float, or None if absent."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f"invalid {name} specified") from None

    def flag(self, name: str, default: bool = False) -> bool:
        """The parameter as a bool (JSON true/false, or 1/0)."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise bad_request(f"invalid {name} specified")

    def decoded(self, name: str, *, error: str | None = None) -> Any:
        """The parameter decoded as JSON (objects/arrays arrive JSON-encoded in forms)."""
        value = self.values.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            if value.strip() == "":
                return None
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(error or f"can't parse {name} JSON object") from None
        return value

    def file(self, name: str) -> Upload | str | None:
        """An uploaded file, an ``attach://`` reference resolved to its part, or a file_id/URL."""
        if name in self.files:
            return self.files[name]
        value = self.text(name)
        if value is None or value == "":
            return None
        if value.startswith("attach://"):
            return self.files.get(value[len("attach://"):])
        return value


async def parse_request(request: web.Request) -> Params:
    """Collect query string, form/multipart fields, uploads and JSON body into Params."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if request.method in ("POST", "PUT") and request.can_read_body:
        ctype = request.content_type
        if ctype == "application/json":
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if isinstance(body, dict):
                values.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    files[key] = Upload(value.filename, value.content_type, value.file.read())
                elif isinstance(value, (bytes, bytearray)):
                    # A non-text part without a filename: keep it usable both ways.
                    files[key] = Upload(None, None, bytes(value))
                    values[key] = bytes(value).decode("utf-8", "replace")
                else:
                    values[key] = value
        else:
            await request.read()
    return Params(values, files)
