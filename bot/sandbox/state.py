"""In-memory world of one sandbox: users, chats, messages, files, updates and events."""

from __future__ import annotations

import asyncio
import copy
import random
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import bad_request
from .media import new_file_ids, photo_steps

DEFAULT_ALLOWED_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)


class Notifier:
    """Wakes every waiter whenever anything changes; waiters re-check their own condition.

    One broadcast primitive keeps long polls (getUpdates, control waits) free of sleeps.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake all current waiters."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Wait until ``predicate()`` is true or ``timeout`` elapses; return the predicate."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + max(0.0, timeout)
        while not predicate():
            event = self._event
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return predicate()
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return predicate()
        return True


@dataclass
class StoredFile:
    """A file Telegram would keep: what getFile describes and /file/ serves."""

    file_id: str
    file_unique_id: str
    kind: str
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int | None = None
    height: int | None = None

    def as_file(self) -> dict[str, Any]:
        """The Bot API File object (file_path relative, as Telegram returns it)."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "file_path": self.file_path,
        }


@dataclass
class StoredMessage:
    """A message in a chat: the Telegram object plus what the control API reports."""

    chat_id: int
    message: dict[str, Any]
    outgoing: bool
    method: str
    reply_markup: dict[str, Any] | None = None
    parse_mode: str | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def message_id(self) -> int:
        return int(self.message["message_id"])

    def record(self) -> dict[str, Any]:
        """The control API's view (current state, markup exactly as sent)."""
        m = self.message
        reply = m.get("reply_to_message")
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "date": m.get("date"),
            "edit_date": m.get("edit_date"),
            "method": self.method,
            "outgoing": self.outgoing,
            "text": m.get("text"),
            "caption": m.get("caption"),
            "entities": m.get("entities") or m.get("caption_entities") or [],
            "parse_mode": self.parse_mode,
            "reply_markup": copy.deepcopy(self.reply_markup),
            "photo": copy.deepcopy(m.get("photo")),
            "document": copy.deepcopy(m.get("document")),
            "sticker": copy.deepcopy(m.get("sticker")),
            "voice": copy.deepcopy(m.get("voice")),
            "reply_to_message_id": reply.get("message_id") if reply else None,
            "edit_count": self.edit_count,
            "deleted": self.deleted,
            "message": copy.deepcopy(m),
        }


@dataclass
class Chat:
    """A chat the sandbox knows; private chats mirror their user's profile."""

    id: int
    type: str
    chat_instance: str
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    blocked: bool = False
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)

    def as_chat(self) -> dict[str, Any]:
        """The Bot API Chat object."""
        chat: dict[str, Any] = {"id": self.id}
        if self.type == "private":
            chat["first_name"] = self.first_name or ""
            if self.last_name:
                chat["last_name"] = self.last_name
        else:
            chat["title"] = self.title or ""
        if self.username:
            chat["username"] = self.username
        chat["type"] = self.type
        return chat

    def full_info(self) -> dict[str, Any]:
        """The Bot API ChatFullInfo object returned by getChat."""
        info = self.as_chat()
        info.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return info

    def take_message_id(self) -> int:
        """Next message id; user and bot messages share one sequence per chat, as in Telegram."""
        mid = self.next_message_id
        self.next_message_id += 1
        return mid

    def live(self, message_id: int | None) -> StoredMessage | None:
        """The message if it exists and was not deleted."""
        if message_id is None:
            return None
        stored = self.messages.get(message_id)
        return stored if stored is not None and not stored.deleted else None


def reply_snapshot(stored: StoredMessage) -> dict[str, Any]:
    """The replied-to message as embedded in a reply (without its own reply_to_message)."""
    snapshot = copy.deepcopy(stored.message)
    snapshot.pop("reply_to_message", None)
    return snapshot


class State:
    """All mutable data of one sandbox instance."""

    def __init__(
        self, seed: int, bot_username: str, bot_first_name: str, first_update_id: int | None = None
    ) -> None:
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.rng = random.Random(seed)
        # Telegram starts a bot's update_id sequence at an arbitrary number. A sandbox started
        # again for a bot that keeps its database continues where that bot's log ends.
        start = self.rng.randint(100_000_000, 900_000_000)
        self.next_update_id = first_update_id if first_update_id is not None else start
        self.notifier = Notifier()
        self.closing = False
        self.reset()

    def reset(self) -> None:
        """Forget everything except the bot identity and the update_id sequence.

        update_ids keep increasing across a reset so that a bot still polling with an old
        offset cannot silently confirm (and lose) the new updates.
        """
        self.users: dict[int, dict[str, Any]] = {}
        self.chats: dict[int, Chat] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        # Every PhotoSize file_id of a photo maps to the whole list, so resending reuses it.
        self.photo_sets: dict[str, list[dict[str, Any]]] = {}
        self.pending: list[dict[str, Any]] = []
        # Per chat, so a long poll on one chat never scans every other chat's history.
        self.events: dict[int, list[dict[str, Any]]] = {}
        self.event_seq = 0
        self.callbacks: dict[str, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.bot_texts: dict[tuple[str, str], str] = {}
        self.allowed_updates: frozenset[str] = DEFAULT_ALLOWED_UPDATES
        self.webhook: dict[str, Any] | None = None
        self.webhook_error: tuple[int, str] | None = None
        self.poll_generation = 0
        self.file_counter = 0
        self.notifier.notify()

    # ---- users and chats -------------------------------------------------------------

    def user_profile(self, user_id: int) -> dict[str, Any]:
        """The stored profile, created with defaults on first use."""
        return self.users.setdefault(
            user_id, {"first_name": f"User{user_id}", "language_code": "id"}
        )

    def update_user(self, user_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        """Merge profile fields; the private chat mirrors the new names."""
        profile = self.user_profile(user_id)
        for key in ("first_name", "last_name", "username", "language_code", "is_premium"):
            if key in fields and fields[key] is not None:
                profile[key] = fields[key]
        chat = self.chats.get(user_id)
        if chat is not None and chat.type == "private":
            chat.first_name = profile.get("first_name")
            chat.last_name = profile.get("last_name")
            chat.username = profile.get("username")
        return profile

    def user_object(self, user_id: int) -> dict[str, Any]:
        """The Bot API User object of a (human) user."""
        profile = self.user_profile(user_id)
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": profile["first_name"]}
        for key in ("last_name", "username", "language_code", "is_premium"):
            if profile.get(key) is not None:
                user[key] = profile[key]
        return user

    def bot_object(self, bot_id: int) -> dict[str, Any]:
        """The Bot API User object of the bot (as in messages it sends)."""
        return {
            "id": bot_id,
            "is_bot": True,
            "first_name": self.bot_texts.get(("name", ""), self.bot_first_name),
            "username": self.bot_username,
        }

    def _chat_instance(self) -> str:
        return str(self.rng.randint(-(2**63), 2**63 - 1))

    def private_chat(self, user_id: int) -> Chat:
        """The private chat with a user (known from now on)."""
        profile = self.user_profile(user_id)
        chat = self.chats.get(user_id)
        if chat is None:
            chat = Chat(id=user_id, type="private", chat_instance=self._chat_instance())
            self.chats[user_id] = chat
        chat.first_name = profile.get("first_name")
        chat.last_name = profile.get("last_name")
        chat.username = profile.get("username")
        return chat

    def register_chat(
        self,
        chat_id: int,
        chat_type: str,
        title: str | None = None,
        username: str | None = None,
    ) -> Chat:
        """Create or update a chat without any update."""
        if chat_type == "private":
            return self.private_chat(chat_id)
        chat = self.chats.get(chat_id)
        if chat is None:
            chat = Chat(id=chat_id, type=chat_type, chat_instance=self._chat_instance())
            self.chats[chat_id] = chat
        chat.type = chat_type
        if title is not None:
            chat.title = title
        elif chat.title is None:
            chat.title = f"Chat {chat_id}"
        if username is not None:
            chat.username = username
        return chat

    def find_chat(self, value: Any) -> Chat:
        """Resolve a Bot API chat_id (number or @username); unknown chats are refused."""
        if value is None or (isinstance(value, str) and value.strip() == ""):
            raise bad_request("chat_id is empty")
        text = str(value).strip()
        if text.startswith("@"):
            name = text[1:].lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            raise bad_request("chat not found")
        try:
            chat_id = int(text)
        except ValueError:
            raise bad_request("chat not found") from None
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        return chat

    # ---- messages and events -----------------------------------------------------------

    def add_message(
        self,
        chat: Chat,
        message: dict[str, Any],
        *,
        outgoing: bool,
        method: str,
        reply_markup: dict[str, Any] | None = None,
        parse_mode: str | None = None,
    ) -> StoredMessage:
        """Store a message (its message_id already taken from the chat)."""
        stored = StoredMessage(
            chat_id=chat.id,
            message=message,
            outgoing=outgoing,
            method=method,
            reply_markup=copy.deepcopy(reply_markup),
            parse_mode=parse_mode,
        )
        chat.messages[stored.message_id] = stored
        self.add_event(stored, "sent" if outgoing else "received")
        return stored

    def add_event(self, stored: StoredMessage, kind: str) -> None:
        """Append to the chat's event stream: what the bot did to its messages (sent, edited,
        deleted) and, as "received", what users wrote, so a chat view can rebuild both sides."""
        self.event_seq += 1
        self.events.setdefault(stored.chat_id, []).append(
            {"seq": self.event_seq, "chat_id": stored.chat_id, "kind": kind, "message": stored.record()}
        )
        self.notifier.notify()

    def bot_messages(self, chat_id: int, after_id: int = 0) -> list[StoredMessage]:
        """Messages the bot sent to a chat with message_id > after_id, in id order."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [
            m
            for mid, m in sorted(chat.messages.items())
            if m.outgoing and mid > after_id
        ]

    def chat_events(
        self, chat_id: int, after_seq: int = 0, *, incoming: bool = False
    ) -> list[dict[str, Any]]:
        """Events of one chat with seq > after_seq; users' own messages only with ``incoming``."""
        events = self.events.get(chat_id, [])
        if not events or events[-1]["seq"] <= after_seq:
            return []
        return [
            e for e in events if e["seq"] > after_seq and (incoming or e["kind"] != "received")
        ]

    # ---- updates -----------------------------------------------------------------------

    def add_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates / the webhook and wake pollers."""
        update = {"update_id": self.next_update_id, kind: copy.deepcopy(payload)}
        self.next_update_id += 1
        self.pending.append(update)
        self.notifier.notify()
        return update

    def confirm(self, offset: int) -> None:
        """Forget updates like Telegram's getUpdates offset does (negative: keep the last |N|)."""
        if offset < 0:
            self.pending = self.pending[offset:]
        else:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]

    def deliverable(self) -> list[dict[str, Any]]:
        """Pending updates of allowed types; others are dropped, as Telegram never sends them."""
        allowed = self.allowed_updates
        kept = [u for u in self.pending if _update_kind(u) in allowed]
        if len(kept) != len(self.pending):
            self.pending = kept
        return kept

    # ---- files -------------------------------------------------------------------------

    def add_file(
        self,
        kind: str,
        data: bytes,
        *,
        extension: str,
        mime_type: str | None = None,
        file_name: str | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> StoredFile:
        """Keep a file and give it Telegram-like ids and a file_path."""
        file_id, unique_id = new_file_ids(self.rng, kind)
        folder = {"photo": "photos", "document": "documents", "sticker": "stickers", "voice": "voice"}
        path = f"{folder.get(kind, 'documents')}/file_{self.file_counter}.{extension}"
        self.file_counter += 1
        stored = StoredFile(file_id, unique_id, kind, data, path, mime_type, file_name, width, height)
        self.files[file_id] = stored
        self.files_by_path[path] = stored
        return stored

    def store_photo(self, data: bytes, width: int, height: int, ext: str) -> list[dict[str, Any]]:
        """Store a photo as Telegram's list of PhotoSize (smallest first)."""
        sizes: list[dict[str, Any]] = []
        for w, h in photo_steps(width, height):
            stored = self.add_file(
                "photo", data, extension=ext, mime_type=f"image/{ext}", width=w, height=h
            )
            original = (w, h) == (width, height)
            # Scaled copies report a proportionally smaller size but serve the same bytes.
            size = len(data) if original else max(1, len(data) * w * h // max(1, width * height))
            sizes.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "file_size": size,
                    "width": w,
                    "height": h,
                }
            )
        for entry in sizes:
            self.photo_sets[entry["file_id"]] = sizes
        return sizes

    def now(self) -> int:
        """Message dates are integer epoch seconds."""
        return int(time.time())


def _update_kind(update: dict[str, Any]) -> str:
    return next(k for k in update if k != "update_id")
