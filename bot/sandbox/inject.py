"""Control routes that inject raw updates of any kind (under /_sandbox/updates).

The user routes (`/users/{id}/message`, `/users/{id}/callback`) build the common updates from a
few fields. Everything else Telegram can send — edited messages, channel posts, member updates,
reactions, polls, inline queries, payments, business messages, messages from bots or without
`from`, callbacks from inline messages — is written by the caller as the Bot API object and
queued as it is. The sandbox only keeps its world consistent with it:

- a message-like update (message, channel_post, business_message) is stored in its chat (the
  chat is registered from the object, a missing `message_id` is taken from the chat's sequence),
  so the bot can reply to it and edit near it;
- an edit (edited_message, edited_channel_post, edited_business_message) changes the stored
  message's text or caption;
- a callback_query gets an `id` if it has none and is recorded, so that answerCallbackQuery
  works and `GET /callbacks` can tell whether it was answered.

`update_id` in the body queues the update with that id (a redelivery: the sequence does not
move); `POST /updates/next_id` restarts the numbering, as Telegram does after a quiet week.
"""

from __future__ import annotations

import copy
from typing import Any

from aiohttp import web

# control.py imports this module only inside ControlApi.register, so this import is not circular.
from .control import CHAT_TYPES, ControlApi, ControlError, _body, _int, _ok
from .state import Chat

NEW_MESSAGE_KINDS = ("message", "channel_post", "business_message", "guest_message")
EDIT_KINDS = ("edited_message", "edited_channel_post", "edited_business_message")


class RawUpdates:
    """The raw-update routes of one sandbox's control API."""

    def __init__(self, control: ControlApi) -> None:
        self.control = control
        self.state = control.state

    def register(self, router: web.UrlDispatcher, prefix: str) -> None:
        """Add the routes under ``prefix``."""
        router.add_route("POST", prefix + "/updates", self.inject)
        router.add_route("POST", prefix + "/updates/next_id", self.next_id)
        router.add_route("GET", prefix + "/callbacks", self.callbacks)

    async def inject(self, request: web.Request) -> web.Response:
        """Queue ``{"update": {kind: object}, "update_id"?: int}`` as Telegram would send it."""
        body = await _body(request)
        update = body.get("update")
        if not isinstance(update, dict):
            raise ControlError(400, 'update must be an object like {"message": {...}}')
        kinds = [k for k in update if k != "update_id"]
        if len(kinds) != 1 or not isinstance(update[kinds[0]], dict):
            raise ControlError(400, "update must hold exactly one object field")
        kind = kinds[0]
        payload = copy.deepcopy(update[kind])
        update_id = _int(body["update_id"], "update_id") if body.get("update_id") is not None else None
        if kind in NEW_MESSAGE_KINDS:
            self._store_new(payload)
        elif kind in EDIT_KINDS:
            self._apply_edit(payload)
        elif kind == "callback_query":
            self._record_callback(payload)
        queued = self.state.add_update(kind, payload, update_id=update_id)
        return _ok({"update_id": queued["update_id"], "update": queued})

    async def next_id(self, request: web.Request) -> web.Response:
        """``{"next_update_id": N}``: the next new update is numbered N."""
        body = await _body(request)
        self.state.restart_update_ids(_int(body.get("next_update_id"), "next_update_id"))
        return _ok({"next_update_id": self.state.next_update_id})

    async def callbacks(self, request: web.Request) -> web.Response:
        """Every callback query the sandbox created, with whether and how it was answered."""
        return _ok({"callbacks": copy.deepcopy(self.state.callbacks)})

    # ---- keeping the world consistent ----------------------------------------------------

    def _chat(self, spec: Any) -> Chat:
        if not isinstance(spec, dict) or "id" not in spec:
            raise ControlError(400, 'a message needs a "chat" object with "id"')
        chat_id = _int(spec["id"], "chat.id")
        chat_type = spec.get("type") or ("private" if chat_id > 0 else "group")
        if chat_type not in CHAT_TYPES:
            raise ControlError(400, f"chat.type must be one of {CHAT_TYPES}")
        if chat_type == "private":
            fields = {k: spec.get(k) for k in ("first_name", "last_name", "username")}
            self.state.update_user(chat_id, fields)
            chat = self.state.private_chat(chat_id)
            chat.blocked = False  # writing to the bot unblocks it
            return chat
        return self.state.register_chat(chat_id, chat_type, spec.get("title"), spec.get("username"))

    def _store_new(self, message: dict[str, Any]) -> None:
        chat = self._chat(message.get("chat"))
        if message.get("message_id") is None:
            message["message_id"] = chat.take_message_id()
        else:
            chat.next_message_id = max(chat.next_message_id, int(message["message_id"]) + 1)
        message.setdefault("date", self.state.now())
        self.state.add_message(chat, copy.deepcopy(message), outgoing=False, method="user")

    def _apply_edit(self, message: dict[str, Any]) -> None:
        chat = self._chat(message.get("chat"))
        message.setdefault("date", self.state.now())
        message.setdefault("edit_date", self.state.now())
        stored = chat.live(message.get("message_id"))
        if stored is not None and not stored.outgoing:
            for key in ("text", "entities", "caption", "caption_entities", "edit_date"):
                if key in message:
                    stored.message[key] = copy.deepcopy(message[key])

    def _record_callback(self, query: dict[str, Any]) -> None:
        state = self.state
        if str(query.get("id")) in state.callbacks:
            return  # a redelivery: the query is the same, answered or not
        query.setdefault("id", str(state.rng.getrandbits(62)))
        query.setdefault("chat_instance", str(state.rng.getrandbits(62)))
        message = query.get("message") or {}
        state.callbacks[str(query["id"])] = {
            "answered": False,
            "answer": None,
            "chat_id": (message.get("chat") or {}).get("id"),
            "message_id": message.get("message_id"),
            "inline_message_id": query.get("inline_message_id"),
            "data": query.get("data"),
            "user_id": (query.get("from") or {}).get("id"),
        }
