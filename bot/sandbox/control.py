"""Control API (under /_sandbox): act as Telegram users and inspect what the bot did."""

from __future__ import annotations

import base64
import binascii
import copy
import json
import mimetypes
from functools import partial
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .botapi import document_object, webhook_info
from .faults import FaultConfigError
from .media import PLACEHOLDER_OGG, PLACEHOLDER_WEBP, image_size, make_png
from .state import Chat, reply_snapshot
from .validation import MAX_CAPTION, MAX_TEXT, detect_entities, utf16_len

if TYPE_CHECKING:
    from .server import Sandbox

MAX_WAIT = 120.0
CHAT_TYPES = ("private", "group", "supergroup", "channel")
_dumps = partial(json.dumps, ensure_ascii=False)


class ControlError(Exception):
    """Answered as ``{"ok": false, "error": ...}`` with an HTTP status."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _ok(payload: dict[str, Any]) -> web.Response:
    return web.json_response({"ok": True, **payload}, dumps=_dumps)


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ControlError(400, f"{name} must be an integer") from None


def _num(request: web.Request, name: str, default: float) -> float:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ControlError(400, f"{name} must be a number") from None


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise ControlError(400, "body must be JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "body must be a JSON object")
    return body


def _b64(value: Any, name: str) -> bytes:
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError):
        raise ControlError(400, f"{name} must be base64") from None


@web.middleware
async def control_errors(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        return await handler(request)
    except ControlError as exc:
        return web.json_response({"ok": False, "error": exc.message}, status=exc.status)


class ControlApi:
    """Routes of the control API bound to one Sandbox (errors via ``control_errors``)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.state = sandbox.state

    def register(self, router: web.UrlDispatcher, prefix: str = "/_sandbox") -> None:
        """Add the control routes under ``prefix``."""
        routes = [
            ("GET", "", self.info),
            ("GET", "/", self.info),
            ("POST", "/users/{user_id}", self.set_user),
            ("POST", "/users/{user_id}/message", self.user_message),
            ("POST", "/users/{user_id}/callback", self.user_callback),
            ("POST", "/chats/{chat_id}", self.register_chat),
            ("GET", "/chats/{chat_id}", self.get_chat),
            ("GET", "/chats/{chat_id}/messages", self.chat_messages),
            ("GET", "/chats/{chat_id}/events", self.chat_events),
            ("POST", "/chats/{chat_id}/block", self.block),
            ("GET", "/callback_answers/{query_id}", self.callback_answer),
            ("GET", "/calls", self.calls),
            ("GET", "/updates/pending", self.pending),
            ("GET", "/commands", self.commands),
            ("GET", "/webhook", self.webhook),
            ("GET", "/faults", self.get_faults),
            ("POST", "/faults", self.set_faults),
            ("DELETE", "/faults", self.clear_faults),
            ("POST", "/reset", self.reset),
        ]
        for method, path, handler in routes:
            router.add_route(method, prefix + path, handler)

    async def _wait(self, predicate: Any, wait: float) -> None:
        if wait > 0:
            state = self.state
            await state.notifier.wait_until(lambda: state.closing or predicate(), min(wait, MAX_WAIT))

    # ---- identity / users / chats ----------------------------------------------------------

    async def info(self, request: web.Request) -> web.Response:
        """Where the sandbox listens and who the bot is."""
        sb = self.sandbox
        return _ok(
            {
                "base_url": sb.base_url,
                "file_base_url": sb.file_base_url,
                "control_url": sb.control_url,
                "bot_token": sb.bot_token,
                "bot_username": sb.bot_username,
                "bot_first_name": sb.bot_first_name,
            }
        )

    async def set_user(self, request: web.Request) -> web.Response:
        """Set a user's profile for later updates."""
        user_id = _int(request.match_info["user_id"], "user_id")
        self.state.update_user(user_id, await _body(request))
        return _ok({"user": self.state.user_object(user_id)})

    async def register_chat(self, request: web.Request) -> web.Response:
        """Make a chat known (e.g. the officers' group) without creating an update."""
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        body = await _body(request)
        chat_type = body.get("type") or ("private" if chat_id > 0 else "group")
        if chat_type not in CHAT_TYPES:
            raise ControlError(400, f"type must be one of {CHAT_TYPES}")
        chat = self.state.register_chat(chat_id, chat_type, body.get("title"), body.get("username"))
        self.state.notifier.notify()
        return _ok({"chat": chat.as_chat()})

    async def get_chat(self, request: web.Request) -> web.Response:
        """A known chat and whether it blocked the bot."""
        chat = self._known_chat(request)
        return _ok({"chat": chat.as_chat(), "blocked": chat.blocked})

    def _known_chat(self, request: web.Request) -> Chat:
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise ControlError(404, f"chat {chat_id} is not known")
        return chat

    async def block(self, request: web.Request) -> web.Response:
        """Make the chat refuse the bot (403) or accept it again."""
        chat = self._known_chat(request)
        chat.blocked = bool((await _body(request)).get("blocked", True))
        self.state.notifier.notify()
        return _ok({"chat_id": chat.id, "blocked": chat.blocked})

    # ---- acting as a user ----------------------------------------------------------------

    def _chat_for(self, user_id: int, spec: Any) -> Chat:
        if spec is None:
            return self.state.private_chat(user_id)
        if not isinstance(spec, dict) or "id" not in spec:
            raise ControlError(400, 'chat must be an object with "id"')
        chat_id = _int(spec["id"], "chat.id")
        chat_type = spec.get("type") or ("private" if chat_id > 0 else "group")
        if chat_type not in CHAT_TYPES:
            raise ControlError(400, f"chat.type must be one of {CHAT_TYPES}")
        if chat_type == "private" and chat_id != user_id:
            raise ControlError(400, "a private chat's id is the user's id")
        return self.state.register_chat(chat_id, chat_type, spec.get("title"), spec.get("username"))

    async def user_message(self, request: web.Request) -> web.Response:
        """The user sends a message (text, photo, document, sticker or voice) to the bot."""
        state = self.state
        user_id = _int(request.match_info["user_id"], "user_id")
        body = await _body(request)
        state.update_user(user_id, body)
        content = self._content(body)
        chat = self._chat_for(user_id, body.get("chat"))
        if chat.type == "private":
            # A user can only write to a bot they have not blocked: writing unblocks it.
            chat.blocked = False
        reply = None
        if body.get("reply_to_message_id") is not None:
            reply = chat.live(_int(body["reply_to_message_id"], "reply_to_message_id"))
            if reply is None:
                raise ControlError(400, "reply_to_message_id is not a message of this chat")
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": state.user_object(user_id),
            "chat": chat.as_chat(),
            "date": state.now(),
        }
        if reply is not None:
            message["reply_to_message"] = reply_snapshot(reply)
        message.update(content)
        state.add_message(chat, message, outgoing=False, method="user")
        update = state.add_update("message", message)
        return _ok({"update_id": update["update_id"], "update": update, "message": message})

    def _content(self, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        content: dict[str, Any] = {}
        text = body.get("text")
        if text is not None:
            text = str(text)
            if not text.strip() or utf16_len(text) > MAX_TEXT:
                raise ControlError(400, "text must be 1-4096 characters")
            content["text"] = text
            entities = detect_entities(text, [])
            if entities:
                content["entities"] = entities
        media = 0
        if body.get("photo"):
            media += 1
            content["photo"] = self._photo(body["photo"])
        if body.get("document"):
            media += 1
            content["document"] = self._document(body["document"])
        if body.get("sticker"):
            media += 1
            spec = body["sticker"] if isinstance(body["sticker"], dict) else {}
            stored = state.add_file("sticker", PLACEHOLDER_WEBP, extension="webp", mime_type="image/webp")
            content["sticker"] = {
                "width": 512, "height": 512, "emoji": spec.get("emoji", "👍"),
                "set_name": spec.get("set_name", "SandboxStickers"), "is_animated": False,
                "is_video": False, "type": "regular", "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id, "file_size": len(stored.data),
            }
        if body.get("voice"):
            media += 1
            spec = body["voice"] if isinstance(body["voice"], dict) else {}
            stored = state.add_file("voice", PLACEHOLDER_OGG, extension="oga", mime_type="audio/ogg")
            content["voice"] = {
                "duration": int(spec.get("duration", 2)), "mime_type": "audio/ogg",
                "file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": len(stored.data),
            }
        if media > 1 or (media and text is not None):
            raise ControlError(400, "one message carries text or one kind of media")
        if not content:
            raise ControlError(400, "message needs text, photo, document, sticker or voice")
        caption = body.get("caption")
        if caption and media and "sticker" not in content:
            caption = str(caption)
            if utf16_len(caption) > MAX_CAPTION:
                raise ControlError(400, "caption must be at most 1024 characters")
            content["caption"] = caption
            entities = detect_entities(caption, [])
            if entities:
                content["caption_entities"] = entities
        return content

    def _photo(self, spec: Any) -> list[dict[str, Any]]:
        spec = spec if isinstance(spec, dict) else {}
        if spec.get("content_b64"):
            data = _b64(spec["content_b64"], "photo.content_b64")
            size = image_size(data)
            if size is None:
                raise ControlError(400, "photo.content_b64 is not a PNG/JPEG/GIF/WebP/BMP image")
            width, height, ext = size
        else:
            width = _int(spec.get("width", 1280), "photo.width")
            height = _int(spec.get("height", 960), "photo.height")
            if not (1 <= width <= 10000 and 1 <= height <= 10000):
                raise ControlError(400, "photo width/height must be 1-10000")
            data, ext = make_png(width, height), "png"
        return self.state.store_photo(data, width, height, ext)

    def _document(self, spec: Any) -> dict[str, Any]:
        spec = spec if isinstance(spec, dict) else {}
        name = str(spec.get("file_name") or "document.txt")
        data = b"sandbox document\n"
        if spec.get("content_b64"):
            data = _b64(spec["content_b64"], "document.content_b64")
        mime = spec.get("mime_type") or mimetypes.guess_type(name)[0] or "application/octet-stream"
        ext = name.rsplit(".", 1)[1] if "." in name else "bin"
        stored = self.state.add_file("document", data, extension=ext, mime_type=mime, file_name=name)
        return document_object(stored)

    async def user_callback(self, request: web.Request) -> web.Response:
        """The user presses an inline button: a callback_query update."""
        state = self.state
        user_id = _int(request.match_info["user_id"], "user_id")
        body = await _body(request)
        state.update_user(user_id, body)
        message_id = _int(body.get("message_id"), "message_id")
        data = body.get("data")
        if not isinstance(data, str):
            raise ControlError(400, "data must be a string")
        chat_id = _int(body.get("chat_id", user_id), "chat_id")
        chat = state.chats.get(chat_id)
        if chat is None:
            if chat_id != user_id:
                raise ControlError(404, f"chat {chat_id} is not known")
            chat = state.private_chat(user_id)
        stored = chat.live(message_id)
        if stored is not None:
            message = copy.deepcopy(stored.message)
        else:
            # Telegram's InaccessibleMessage (date 0) lets tests forge stale buttons.
            message = {"chat": chat.as_chat(), "message_id": message_id, "date": 0}
        query_id = str(state.rng.getrandbits(62))
        query = {
            "id": query_id,
            "from": state.user_object(user_id),
            "message": message,
            "chat_instance": chat.chat_instance,
            "data": data,
        }
        state.callbacks[query_id] = {
            "answered": False, "answer": None, "chat_id": chat.id,
            "message_id": message_id, "data": data, "user_id": user_id,
        }
        update = state.add_update("callback_query", query)
        return _ok({"update_id": update["update_id"], "callback_query_id": query_id, "update": update})

    # ---- observing the bot ---------------------------------------------------------------

    async def chat_messages(self, request: web.Request) -> web.Response:
        """Messages the bot sent to a chat (current state); long-polls with ``wait``."""
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        after_id = int(_num(request, "after_id", 0))
        min_count = int(_num(request, "min_count", 1))
        wait = _num(request, "wait", 0.0)
        state = self.state
        await self._wait(lambda: len(state.bot_messages(chat_id, after_id)) >= min_count, wait)
        return _ok({"messages": [m.record() for m in state.bot_messages(chat_id, after_id)]})

    async def chat_events(self, request: web.Request) -> web.Response:
        """The chat's sent/edited/deleted events after ``after_seq``; long-polls with ``wait``.

        ``incoming=1`` adds the users' own messages ("received"): the browser chat replays them
        to rebuild both sides of the conversation after a reload.
        """
        chat_id = _int(request.match_info["chat_id"], "chat_id")
        after_seq = int(_num(request, "after_seq", 0))
        min_count = int(_num(request, "min_count", 1))
        wait = _num(request, "wait", 0.0)
        incoming = request.query.get("incoming", "").lower() in ("1", "true", "yes")
        state = self.state

        def found() -> list[dict[str, Any]]:
            return state.chat_events(chat_id, after_seq, incoming=incoming)

        # A reset numbers events from 0 again: answer at once, so that a follower starts over.
        await self._wait(lambda: len(found()) >= min_count or state.event_seq < after_seq, wait)
        return _ok({"events": found(), "last_seq": state.event_seq})

    async def callback_answer(self, request: web.Request) -> web.Response:
        """The answerCallbackQuery parameters once answered; long-polls with ``wait``."""
        query_id = request.match_info["query_id"]
        record = self.state.callbacks.get(query_id)
        if record is None:
            raise ControlError(404, f"unknown callback_query_id {query_id}")
        await self._wait(lambda: record["answered"], _num(request, "wait", 0.0))
        return _ok({"answered": record["answered"], "answer": record["answer"]})

    async def calls(self, request: web.Request) -> web.Response:
        """Every Bot API call received (optionally one method, after a seq)."""
        method = (request.query.get("method") or "").lower()
        since = int(_num(request, "since_seq", 0))
        calls = [
            dict(c)
            for c in self.sandbox.calls
            if c["seq"] > since and (not method or c["method"].lower() == method)
        ]
        return _ok({"calls": calls})

    async def pending(self, request: web.Request) -> web.Response:
        """How many updates were not confirmed yet."""
        return _ok({"pending": len(self.state.pending)})

    async def commands(self, request: web.Request) -> web.Response:
        """Stored bot commands: ``{"commands": {scope: {language_code: [...]}}}``."""
        by_scope: dict[str, dict[str, Any]] = {}
        for (scope, language), commands in sorted(self.state.commands.items()):
            by_scope.setdefault(scope, {})[language] = copy.deepcopy(commands)
        return _ok({"commands": by_scope})

    async def webhook(self, request: web.Request) -> web.Response:
        """The webhook configuration, WebhookInfo and the delivery log."""
        return _ok(
            {
                "webhook": copy.deepcopy(self.state.webhook),
                "info": webhook_info(self.state),
                "deliveries": list(self.sandbox.webhooks.deliveries),
            }
        )

    # ---- faults and reset ----------------------------------------------------------------

    async def get_faults(self, request: web.Request) -> web.Response:
        """Current fault configuration."""
        return _ok({"faults": self.sandbox.faults.describe()})

    async def set_faults(self, request: web.Request) -> web.Response:
        """Replace the fault configuration."""
        try:
            faults = self.sandbox.faults.configure(await _body(request))
        except FaultConfigError as exc:
            raise ControlError(400, str(exc)) from None
        return _ok({"faults": faults})

    async def clear_faults(self, request: web.Request) -> web.Response:
        """Remove all faults."""
        self.sandbox.faults.clear()
        return _ok({"faults": self.sandbox.faults.describe()})

    async def reset(self, request: web.Request) -> web.Response:
        """Forget everything but the bot identity."""
        self.sandbox.reset()
        return _ok({})
