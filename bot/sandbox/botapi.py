"""The Bot API methods the sandbox implements, with Telegram's results and refusals."""

from __future__ import annotations

import mimetypes
import re
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from .errors import bad_request, conflict, forbidden
from .media import image_size
from .params import Params, Upload
from .state import DEFAULT_ALLOWED_UPDATES, Chat, State, StoredFile, StoredMessage, reply_snapshot
from .validation import format_text, inline_keyboard, validate_reply_markup

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_TOO_OLD = "query is too old and response timeout expired or query ID is invalid"
CHAT_ACTIONS = frozenset(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note".split()
)
SCOPE_TYPES = frozenset(
    "default all_private_chats all_group_chats all_chat_administrators chat "
    "chat_administrators chat_member".split()
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_CONTENT_KEYS = ("text", "entities", "caption", "caption_entities", "photo", "document", "sticker", "voice")
MAX_LONG_POLL = 300.0
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API serves files up to 20 MB


@dataclass(frozen=True)
class CallContext:
    """Who is calling: the bot id is the number before the token's colon."""

    bot_id: int
    token: str


@dataclass(frozen=True)
class Described:
    """A result that Telegram accompanies with a ``description`` (e.g. setWebhook)."""

    result: Any
    description: str


Handler = Callable[[CallContext, Params], Awaitable[Any]]


class BotApi:
    """Implements each Bot API method as ``api_<methodName>``; names are case-insensitive."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.methods: dict[str, tuple[str, Handler]] = {
            name[4:].lower(): (name[4:], getattr(self, name))
            for name in dir(type(self))
            if name.startswith("api_")
        }

    def lookup(self, method: str) -> tuple[str, Handler] | None:
        """(canonical name, handler) for a method name in any letter case."""
        return self.methods.get(method.lower())

    # ---- helpers -------------------------------------------------------------------------

    def _chat(self, p: Params, name: str = "chat_id") -> Chat:
        value = p.raw(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise bad_request(f"{name} is empty")
        return self.state.find_chat(value)

    def _writable_chat(self, p: Params) -> Chat:
        """The target chat, refusing chats that blocked (or removed) the bot."""
        chat = self._chat(p)
        if chat.blocked:
            if chat.type == "private":
                raise forbidden("bot was blocked by the user")
            raise forbidden(f"bot was kicked from the {chat.type} chat")
        return chat

    def _markup(self, p: Params) -> dict[str, Any] | None:
        return validate_reply_markup(
            p.decoded("reply_markup", error="can't parse reply keyboard markup JSON object")
        )

    def _inline_markup(self, p: Params) -> dict[str, Any] | None:
        markup = self._markup(p)
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("can't parse inline keyboard markup JSON object")
        return markup

    def _reply_target(self, chat: Chat, p: Params) -> StoredMessage | None:
        params = p.decoded("reply_parameters")
        if isinstance(params, dict):
            message_id = params.get("message_id")
            allow = bool(params.get("allow_sending_without_reply"))
            if params.get("chat_id") not in (None, chat.id, str(chat.id)):
                chat = self.state.find_chat(params["chat_id"])
        else:
            message_id = p.integer("reply_to_message_id")
            allow = p.flag("allow_sending_without_reply")
        if not message_id:
            return None
        target = chat.live(int(message_id))
        if target is None and not allow:
            raise bad_request("message to be replied not found")
        return target

    def _new_message(
        self, ctx: CallContext, chat: Chat, reply: StoredMessage | None
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": chat.take_message_id(),
            "from": self.state.bot_object(ctx.bot_id),
            "chat": chat.as_chat(),
            "date": self.state.now(),
        }
        if reply is not None:
            message["reply_to_message"] = reply_snapshot(reply)
        return message

    def _caption(self, p: Params) -> tuple[str, list[dict[str, Any]]]:
        caption = p.text("caption")
        if not caption:
            return "", []
        return format_text(caption, p.text("parse_mode"), p.decoded("caption_entities"), caption=True)

    def _send(
        self,
        ctx: CallContext,
        chat: Chat,
        reply: StoredMessage | None,
        content: dict[str, Any],
        markup: dict[str, Any] | None,
        *,
        method: str,
        parse_mode: str | None,
    ) -> StoredMessage:
        """Create and store an outgoing message (validation must be finished by now)."""
        message = self._new_message(ctx, chat, reply)
        message.update({k: v for k, v in content.items() if v not in (None, "", [])})
        inline = inline_keyboard(markup)
        if inline:
            message["reply_markup"] = inline
        return self.state.add_message(
            chat, message, outgoing=True, method=method, reply_markup=markup, parse_mode=parse_mode
        )

    def _edit_target(self, p: Params) -> tuple[Chat, StoredMessage]:
        if p.text("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._writable_chat(p)
        message_id = p.integer("message_id", error="message identifier is not specified")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        stored = chat.live(message_id)
        if stored is None:
            raise bad_request("message to edit not found")
        if not stored.outgoing:
            raise bad_request("message can't be edited")
        return chat, stored

    def _apply_edit(
        self,
        stored: StoredMessage,
        changes: dict[str, Any],
        markup: dict[str, Any] | None,
        parse_mode: str | None,
    ) -> dict[str, Any]:
        message = stored.message
        inline = inline_keyboard(markup)
        same = all((message.get(k) or None) == (v or None) for k, v in changes.items())
        if same and message.get("reply_markup") == inline:
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            if value:
                message[key] = value
            else:
                message.pop(key, None)
        # Editing without reply_markup removes the inline keyboard, as in Telegram.
        if inline:
            message["reply_markup"] = inline
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = self.state.now()
        stored.edit_count += 1
        stored.reply_markup = markup
        if parse_mode is not None:
            stored.parse_mode = parse_mode
        self.state.add_event(stored, "edited")
        return message

    def _photo_sizes(self, photo: Upload | str) -> list[dict[str, Any]]:
        if isinstance(photo, Upload):
            if not photo.data:
                raise bad_request("file must be non-empty")
            size = image_size(photo.data)
            if size is None or size[0] <= 0 or size[1] <= 0:
                raise bad_request("IMAGE_PROCESS_FAILED")
            width, height, ext = size
            return self.state.store_photo(photo.data, width, height, ext)
        stored = self._known_file(photo, "photo")
        return self.state.photo_sets[stored.file_id]

    def _known_file(self, value: str, kind: str) -> StoredFile:
        if urlsplit(value).scheme in ("http", "https"):
            # The sandbox cannot fetch URLs; Telegram answers this when a URL is unreachable.
            raise bad_request("failed to get HTTP URL content")
        stored = self.state.files.get(value)
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if stored.kind != kind:
            raise bad_request("type of file mismatch")
        return stored

    def _document(self, document: Upload | str) -> dict[str, Any]:
        if isinstance(document, Upload):
            if not document.data:
                raise bad_request("file must be non-empty")
            name = document.filename or "document"
            mime = mimetypes.guess_type(name)[0] or document.content_type or "application/octet-stream"
            ext = name.rsplit(".", 1)[1] if "." in name else "bin"
            stored = self.state.add_file(
                "document", document.data, extension=ext, mime_type=mime, file_name=name
            )
        else:
            stored = self._known_file(document, "document")
        return document_object(stored)

    # ---- identity ------------------------------------------------------------------------

    async def api_getMe(self, ctx: CallContext, p: Params) -> Any:
        """The bot's User with the bot-only capability flags."""
        return {
            **self.state.bot_object(ctx.bot_id),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def api_close(self, ctx: CallContext, p: Params) -> Any:
        """Accepted; nothing to close in the sandbox."""
        return True

    async def api_logOut(self, ctx: CallContext, p: Params) -> Any:
        """Accepted; nothing to log out of in the sandbox."""
        return True

    # ---- updates -------------------------------------------------------------------------

    async def api_getUpdates(self, ctx: CallContext, p: Params) -> Any:
        """Long polling with Telegram's offset, limit and conflict semantics."""
        state = self.state
        if state.webhook:
            raise conflict(
                "can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first"
            )
        offset = p.integer("offset")
        limit = p.integer("limit") or 100
        limit = min(max(limit, 1), 100)
        timeout = min(max(p.number("timeout") or 0.0, 0.0), MAX_LONG_POLL)
        allowed = p.decoded("allowed_updates")
        if isinstance(allowed, list):
            state.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if offset is not None:
            state.confirm(offset)
        # A newer getUpdates ends the one still waiting, which gets 409 (as on Telegram).
        state.poll_generation += 1
        generation = state.poll_generation
        state.notifier.notify()
        if not state.deliverable() and timeout > 0:
            await state.notifier.wait_until(
                lambda: state.closing
                or state.poll_generation != generation
                or state.webhook is not None
                or bool(state.deliverable()),
                timeout,
            )
        if state.poll_generation != generation:
            raise conflict(
                "terminated by other getUpdates request; "
                "make sure that only one bot instance is running"
            )
        if state.webhook:
            raise conflict(
                "can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first"
            )
        batch = state.deliverable()[:limit]
        state.mark_delivered(batch)
        return batch

    async def api_setWebhook(self, ctx: CallContext, p: Params) -> Any:
        """Switch to webhook delivery (empty url removes the webhook)."""
        state = self.state
        url = (p.text("url") or "").strip()
        if not url:
            return await self.api_deleteWebhook(ctx, p)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p.text("secret_token")
        if secret is not None and secret != "" and not _SECRET_RE.match(secret):
            raise bad_request("bad webhook: Secret token contains unallowed characters")
        allowed = p.decoded("allowed_updates")
        if isinstance(allowed, list):
            state.allowed_updates = frozenset(allowed) if allowed else DEFAULT_ALLOWED_UPDATES
        if p.flag("drop_pending_updates"):
            state.pending.clear()
        config = {
            "url": url,
            "secret_token": secret or None,
            "max_connections": p.integer("max_connections") or 40,
            "has_custom_certificate": p.has("certificate"),
            "ip_address": p.text("ip_address") or "127.0.0.1",
        }
        already = state.webhook == config
        state.webhook = config
        state.webhook_error = None
        state.notifier.notify()
        return Described(True, "Webhook is already set" if already else "Webhook was set")

    async def api_deleteWebhook(self, ctx: CallContext, p: Params) -> Any:
        """Back to getUpdates; optionally drop what is pending."""
        state = self.state
        was_set = state.webhook is not None
        state.webhook = None
        state.webhook_error = None
        if p.flag("drop_pending_updates"):
            state.pending.clear()
        state.notifier.notify()
        return Described(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    async def api_getWebhookInfo(self, ctx: CallContext, p: Params) -> Any:
        """WebhookInfo, including the last delivery error."""
        return webhook_info(self.state)

    # ---- sending -------------------------------------------------------------------------

    async def api_sendMessage(self, ctx: CallContext, p: Params) -> Any:
        """Send a text message."""
        chat = self._writable_chat(p)
        parse_mode = p.text("parse_mode")
        text, entities = format_text(p.text("text") or "", parse_mode, p.decoded("entities"))
        markup = self._markup(p)
        reply = self._reply_target(chat, p)
        stored = self._send(
            ctx, chat, reply, {"text": text, "entities": entities}, markup,
            method="sendMessage", parse_mode=parse_mode,
        )
        return stored.message

    async def api_sendPhoto(self, ctx: CallContext, p: Params) -> Any:
        """Send a photo (upload or known file_id)."""
        chat = self._writable_chat(p)
        photo = p.file("photo")
        if photo is None:
            raise bad_request("there is no photo in the request")
        caption, entities = self._caption(p)
        markup = self._markup(p)
        reply = self._reply_target(chat, p)
        sizes = self._photo_sizes(photo)
        stored = self._send(
            ctx, chat, reply, {"photo": sizes, "caption": caption, "caption_entities": entities},
            markup, method="sendPhoto", parse_mode=p.text("parse_mode"),
        )
        return stored.message

    async def api_sendDocument(self, ctx: CallContext, p: Params) -> Any:
        """Send a document (upload or known file_id)."""
        chat = self._writable_chat(p)
        document = p.file("document")
        if document is None:
            raise bad_request("there is no document in the request")
        caption, entities = self._caption(p)
        markup = self._markup(p)
        reply = self._reply_target(chat, p)
        doc = self._document(document)
        stored = self._send(
            ctx, chat, reply, {"document": doc, "caption": caption, "caption_entities": entities},
            markup, method="sendDocument", parse_mode=p.text("parse_mode"),
        )
        return stored.message

    def _source(self, p: Params, what: str) -> StoredMessage:
        source_chat = self._chat(p, "from_chat_id")
        message_id = p.integer("message_id", error="message identifier is not specified")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        source = source_chat.live(message_id)
        if source is None:
            raise bad_request(f"message to {what} not found")
        return source

    async def api_copyMessage(self, ctx: CallContext, p: Params) -> Any:
        """Copy a message without a link to the original; returns only the MessageId."""
        chat = self._writable_chat(p)
        source = self._source(p, "copy")
        content = {k: source.message[k] for k in _CONTENT_KEYS if k in source.message}
        parse_mode = p.text("parse_mode")
        if p.has("caption") and "text" not in content:
            caption, entities = self._caption(p)
            content["caption"], content["caption_entities"] = caption, entities
        markup = self._markup(p)
        reply = self._reply_target(chat, p)
        stored = self._send(ctx, chat, reply, content, markup, method="copyMessage", parse_mode=parse_mode)
        return {"message_id": stored.message_id}

    async def api_forwardMessage(self, ctx: CallContext, p: Params) -> Any:
        """Forward a message; the copy carries forward_origin."""
        chat = self._writable_chat(p)
        source = self._source(p, "forward")
        content: dict[str, Any] = {k: source.message[k] for k in _CONTENT_KEYS if k in source.message}
        original = source.message
        content["forward_origin"] = {
            "type": "user",
            "sender_user": original.get("from") or self.state.bot_object(ctx.bot_id),
            "date": original.get("date"),
        }
        stored = self._send(ctx, chat, None, content, None, method="forwardMessage", parse_mode=None)
        return stored.message

    async def api_sendChatAction(self, ctx: CallContext, p: Params) -> Any:
        """Accept a valid chat action (visible in the calls log)."""
        self._writable_chat(p)
        if p.text("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    # ---- editing -------------------------------------------------------------------------

    async def api_editMessageText(self, ctx: CallContext, p: Params) -> Any:
        """Edit the text (and inline keyboard) of a bot message."""
        _, stored = self._edit_target(p)
        parse_mode = p.text("parse_mode")
        text, entities = format_text(p.text("text") or "", parse_mode, p.decoded("entities"))
        markup = self._inline_markup(p)
        if "text" not in stored.message:
            raise bad_request("there is no text in the message to edit")
        return self._apply_edit(stored, {"text": text, "entities": entities}, markup, parse_mode)

    async def api_editMessageCaption(self, ctx: CallContext, p: Params) -> Any:
        """Edit the caption (and inline keyboard) of a bot media message."""
        _, stored = self._edit_target(p)
        caption, entities = self._caption(p)
        markup = self._inline_markup(p)
        if "text" in stored.message:
            raise bad_request("there is no caption in the message to edit")
        return self._apply_edit(
            stored, {"caption": caption, "caption_entities": entities}, markup, p.text("parse_mode")
        )

    async def api_editMessageReplyMarkup(self, ctx: CallContext, p: Params) -> Any:
        """Replace (or remove) the inline keyboard of a bot message."""
        _, stored = self._edit_target(p)
        markup = self._inline_markup(p)
        return self._apply_edit(stored, {}, markup, None)

    async def api_deleteMessage(self, ctx: CallContext, p: Params) -> Any:
        """Delete a message (the bot's own, or an incoming one)."""
        chat = self._chat(p)
        message_id = p.integer("message_id", error="message identifier is not specified")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        stored = chat.live(message_id)
        if stored is None:
            raise bad_request("message to delete not found")
        stored.deleted = True
        self.state.add_event(stored, "deleted")
        return True

    # ---- callback queries ----------------------------------------------------------------

    async def api_answerCallbackQuery(self, ctx: CallContext, p: Params) -> Any:
        """Answer a callback query once; the answer is visible through the control API."""
        query_id = p.text("callback_query_id") or ""
        record = self.state.callbacks.get(query_id)
        if record is None or record["answered"]:
            raise bad_request(QUERY_TOO_OLD)
        text = p.text("text")
        if text is not None and len(text) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        record["answered"] = True
        record["answer"] = {
            "callback_query_id": query_id,
            "text": text,
            "show_alert": p.flag("show_alert"),
            "url": p.text("url"),
            "cache_time": p.integer("cache_time") or 0,
            "answered_at": time.time(),
        }
        self.state.notifier.notify()
        return True

    # ---- commands and bot profile --------------------------------------------------------

    def _scope_key(self, p: Params) -> tuple[str, str]:
        scope = p.decoded("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in SCOPE_TYPES:
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = scope["type"]
        key = kind
        if kind in ("chat", "chat_administrators", "chat_member"):
            chat = self.state.find_chat(scope.get("chat_id"))
            key = f"{kind}:{chat.id}"
            if kind == "chat_member":
                user_id = scope.get("user_id")
                if not isinstance(user_id, int) and not str(user_id or "").lstrip("-").isdigit():
                    raise bad_request("user not found")
                key += f":{int(user_id)}"
        language = p.text("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise bad_request("invalid language code specified")
        return key, language

    async def api_setMyCommands(self, ctx: CallContext, p: Params) -> Any:
        """Store the command list for a scope and language."""
        commands = p.decoded("commands")
        if not isinstance(commands, list):
            raise bad_request('parameter "commands" is required')
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise bad_request("can't parse BotCommand JSON object")
            command = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if not _COMMAND_RE.match(command):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": command, "description": description})
        key = self._scope_key(p)
        if cleaned:
            self.state.commands[key] = cleaned
        else:
            self.state.commands.pop(key, None)
        return True

    async def api_getMyCommands(self, ctx: CallContext, p: Params) -> Any:
        """The commands stored for exactly this scope and language."""
        return self.state.commands.get(self._scope_key(p), [])

    async def api_deleteMyCommands(self, ctx: CallContext, p: Params) -> Any:
        """Forget the commands of a scope and language."""
        self.state.commands.pop(self._scope_key(p), None)
        return True

    def _set_bot_text(self, p: Params, field: str, limit: int) -> Any:
        value = p.text(field) or ""
        if len(value) > limit:
            raise bad_request(f"{field} is too long")
        key = (field, p.text("language_code") or "")
        if value:
            self.state.bot_texts[key] = value
        else:
            self.state.bot_texts.pop(key, None)
        return True

    def _get_bot_text(self, p: Params, field: str, default: str = "") -> Any:
        language = p.text("language_code") or ""
        texts = self.state.bot_texts
        return {field: texts.get((field, language), texts.get((field, ""), default))}

    async def api_setMyName(self, ctx: CallContext, p: Params) -> Any:
        """Store the bot's (localized) name."""
        return self._set_bot_text(p, "name", 64)

    async def api_getMyName(self, ctx: CallContext, p: Params) -> Any:
        """The bot's (localized) name."""
        return self._get_bot_text(p, "name", self.state.bot_first_name)

    async def api_setMyDescription(self, ctx: CallContext, p: Params) -> Any:
        """Store the bot's description."""
        return self._set_bot_text(p, "description", 512)

    async def api_getMyDescription(self, ctx: CallContext, p: Params) -> Any:
        """The bot's description."""
        return self._get_bot_text(p, "description")

    async def api_setMyShortDescription(self, ctx: CallContext, p: Params) -> Any:
        """Store the bot's short description."""
        return self._set_bot_text(p, "short_description", 120)

    async def api_getMyShortDescription(self, ctx: CallContext, p: Params) -> Any:
        """The bot's short description."""
        return self._get_bot_text(p, "short_description")

    # ---- chats and files -----------------------------------------------------------------

    async def api_getChat(self, ctx: CallContext, p: Params) -> Any:
        """ChatFullInfo of a known chat."""
        return self._chat(p).full_info()

    async def api_getFile(self, ctx: CallContext, p: Params) -> Any:
        """File info with a file_path served under /file/bot<token>/."""
        file_id = p.text("file_id") or ""
        if not file_id:
            raise bad_request("file_id is empty")
        stored = self.state.files.get(file_id)
        if stored is None:
            raise bad_request("invalid file_id")
        if len(stored.data) > MAX_DOWNLOAD:
            raise bad_request("file is too big")
        return stored.as_file()


def document_object(stored: StoredFile) -> dict[str, Any]:
    """The Bot API Document object of a stored file."""
    document: dict[str, Any] = {}
    if stored.file_name:
        document["file_name"] = stored.file_name
    if stored.mime_type:
        document["mime_type"] = stored.mime_type
    document.update(
        {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
        }
    )
    return document


def webhook_info(state: State) -> dict[str, Any]:
    """The Bot API WebhookInfo object."""
    hook = state.webhook
    info: dict[str, Any] = {
        "url": hook["url"] if hook else "",
        "has_custom_certificate": bool(hook and hook["has_custom_certificate"]),
        "pending_update_count": len(state.pending),
    }
    if hook:
        info["max_connections"] = hook["max_connections"]
        info["ip_address"] = hook["ip_address"]
        if state.allowed_updates != DEFAULT_ALLOWED_UPDATES:
            info["allowed_updates"] = sorted(state.allowed_updates)
        if state.webhook_error:
            info["last_error_date"], info["last_error_message"] = state.webhook_error
    return info


__all__ = ["BotApi", "CallContext", "Described", "document_object", "webhook_info"]
