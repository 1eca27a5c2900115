"""An offline request class: answers the Bot API locally and refuses anything it does not know.

Handler tests run python-telegram-bot for real (`Application.process_update`) with this request
class underneath, so no test can reach the network: any call it does not implement raises.
A text Telegram would refuse (bad HTML, too long, empty) is refused here too, with Telegram's
description (`tests.support.telegram_text`).
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

from tests.support.telegram_text import refusal

BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "KopDesk",
    "username": "kopdesk_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


class NetworkRefused(AssertionError):
    """A test tried a Bot API call the offline request does not answer."""


@dataclass
class Call:
    """One Bot API call the bot made."""

    method: str
    params: dict[str, Any]


@dataclass
class OfflineRequest(BaseRequest):
    """Answers getMe, sends, edits, deletes and command lists from memory; raises otherwise."""

    calls: list[Call] = field(default_factory=list)
    fail_with: dict[str, tuple[int, str]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1000))

    @property
    def read_timeout(self) -> float | None:
        """Unused offline."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Parameters of every sendMessage, optionally to one chat."""
        return [
            c.params for c in self.calls
            if c.method == "sendMessage" and (chat_id is None or int(c.params["chat_id"]) == chat_id)
        ]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """The texts sent, in order."""
        return [p["text"] for p in self.sent(chat_id)]

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **_: Any
    ) -> tuple[int, bytes]:
        """Answer one Bot API call from memory."""
        api = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append(Call(api, params))
        if api in self.fail_with:
            code, description = self.fail_with[api]
            return code, json.dumps({"ok": False, "error_code": code, "description": description}).encode()
        if (refused := refusal(api, params)) is not None:
            return 400, json.dumps({"ok": False, "error_code": 400, "description": refused}).encode()
        result = self._answer(api, params)
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer(self, api: str, params: dict[str, Any]) -> Any:
        chat = {"id": int(params.get("chat_id", 0) or 0), "type": "private", "first_name": "U"}
        if api == "getMe":
            return BOT_USER
        if api in {"sendMessage", "sendPhoto", "sendDocument", "editMessageText",
                   "editMessageReplyMarkup", "editMessageCaption", "forwardMessage"}:
            message: dict[str, Any] = {
                "message_id": int(params.get("message_id") or next(self._ids)),
                "date": int(time.time()),
                "chat": chat,
                "from": BOT_USER,
            }
            if "text" in params:
                message["text"] = params["text"]
            if isinstance(params.get("reply_markup"), dict) and "inline_keyboard" in params["reply_markup"]:
                message["reply_markup"] = params["reply_markup"]
            return message
        if api == "copyMessage":
            return {"message_id": next(self._ids)}
        if api in {"answerCallbackQuery", "deleteMessage", "setMyCommands", "deleteMyCommands",
                   "sendChatAction", "deleteWebhook"}:
            return True
        raise NetworkRefused(f"offline: no answer for Bot API method {api!r}; tests never reach the network")
