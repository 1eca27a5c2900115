"""What the message log records of an update or an outbound call, from plain dicts.

No `telegram` import: the request layer and the application hand in the update's JSON (as
Telegram sent it, or `Update.to_dict()`) and the Bot API parameters, so this stays testable
without Telegram objects.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from storage.db import Database, current_uow
from storage.repositories import message_log as repo

_LOG = logging.getLogger(__name__)

# Methods that send, edit or delete content, plus the answer to a button press.
_CONTENT_PREFIXES = ("send", "edit", "copymessage", "forwardmessage", "deletemessage")
_NOT_CONTENT = {"sendchataction"}


def is_content_method(method: str) -> bool:
    """True for Bot API methods whose calls go to the outbound log."""
    name = method.lower()
    if name in _NOT_CONTENT:
        return False
    return name.startswith(_CONTENT_PREFIXES) or name == "answercallbackquery"


# The key under which an update's JSON, exactly as Telegram sent it, rides into `Update.de_json`
# beside its fields (PTB keeps unknown keys in `api_kwargs`): the inbound log stores that copy
# instead of rebuilding it with `Update.to_dict()`. Telegram's own keys never start with "_".
RAW_KEY = "_kopdesk_raw"


def carrying_raw(data: dict[str, Any], raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """`data` for `Update.de_json`, carrying `raw` (by default `data` itself, which is then not
    to be changed) for the inbound log."""
    return {**data, RAW_KEY: data if raw is None else raw}


def json_safe(raw: dict[str, Any]) -> dict[str, Any]:
    """`Update.to_dict()` made storable as JSON.

    python-telegram-bot leaves a datetime in the dict where a message carries an inaccessible
    message (a `pinned_message` or `reply_to_message` of date 0): such dates become the epoch
    seconds Telegram sent.
    """
    return json.loads(json.dumps(raw, default=_json_default, ensure_ascii=False))


def _json_default(value: Any) -> Any:
    timestamp = getattr(value, "timestamp", None)
    if callable(timestamp):
        return int(timestamp())
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


@dataclass(frozen=True)
class UpdateSummary:
    """The searchable columns of an inbound update."""

    kind: str
    user_id: int | None
    chat_id: int | None
    text: str | None


def summarize_update(raw: dict[str, Any]) -> UpdateSummary:
    """Kind, sender, chat and text of a raw update dict (as Telegram sends it)."""
    if "callback_query" in raw:
        query = raw["callback_query"]
        chat = (query.get("message") or {}).get("chat") or {}
        return UpdateSummary(
            "callback", query.get("from", {}).get("id"), chat.get("id"), query.get("data")
        )
    for field in ("message", "edited_message", "channel_post", "edited_channel_post"):
        if field in raw:
            message = raw[field]
            text = message.get("text")
            kind = _message_kind(message)
            if field.startswith("edited"):
                kind = f"edited_{kind}"
            return UpdateSummary(
                kind,
                (message.get("from") or {}).get("id"),
                (message.get("chat") or {}).get("id"),
                text if text is not None else message.get("caption"),
            )
    kind = next((k for k in raw if k != "update_id"), "unknown")
    body = raw.get(kind) if isinstance(raw.get(kind), dict) else {}
    user = (body or {}).get("from") or (body or {}).get("user") or {}
    chat = (body or {}).get("chat") or {}
    return UpdateSummary(kind, user.get("id"), chat.get("id"), None)


def _message_kind(message: dict[str, Any]) -> str:
    text = message.get("text")
    if text is not None:
        return "command" if text.startswith("/") else "text"
    for kind in ("photo", "document", "sticker", "voice", "video", "audio", "location", "contact"):
        if kind in message:
            return kind
    return "other"


def _buttons(params: dict[str, Any]) -> Any:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        try:
            markup = json.loads(markup)
        except ValueError:
            return None
    return markup


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class OutboundLog:
    """Writes outbound calls with the current update's transaction, or in one of its own."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        *,
        method: str,
        params: dict[str, Any],
        result: Any,
        error: str | None,
        attempts: int,
        duration_ms: int,
    ) -> None:
        """Store one call; never raises, since the message went out whatever the log does."""
        message_id = result.get("message_id") if isinstance(result, dict) else None
        uow = current_uow()
        row = repo.outbound_row(**{
            "method": method,
            "chat_id": _int_or_none(params.get("chat_id")),
            "text": params.get("text") or params.get("caption"),
            "buttons": _buttons(params),
            "message_id": _int_or_none(message_id or params.get("message_id")),
            "ok": error is None,
            "error": error,
            "attempts": attempts,
            "duration_ms": duration_ms,
            "update_id": uow.update_id if uow else None,
        })
        try:
            pending = self._db.log_outbound(row)
            if pending is not None:
                await pending
        except Exception:  # the database may be what failed; the send itself stands
            _LOG.exception("could not log outbound %s to chat %s", method, row["chat_id"])
