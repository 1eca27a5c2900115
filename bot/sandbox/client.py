"""SandboxClient: a thin async wrapper over the sandbox's control API."""

from __future__ import annotations

import asyncio
import base64
from types import TracebackType
from typing import Any

import httpx

# Extra time on top of a server-side long poll so the HTTP read never times out first.
_POLL_SLACK = 10.0


class SandboxClient:
    """Act as Telegram users and observe the bot through ``control_url``."""

    def __init__(self, control_url: str, *, timeout: float = 30.0) -> None:
        self.control_url = control_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.control_url, timeout=timeout)

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        timeout: float | None = None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"json": json, "params": params}
        if timeout is not None:
            kwargs["timeout"] = timeout
        response = await self._http.request(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = {"error": response.text}
        if response.status_code >= 400:
            raise RuntimeError(
                f"sandbox control {method} {path} failed ({response.status_code}): "
                f"{body.get('error', body)}"
            )
        return body

    async def info(self) -> dict[str, Any]:
        """The sandbox's URLs and the bot identity."""
        return await self._request("GET", "/")

    # ---- acting as users ---------------------------------------------------------------

    async def set_user(self, user_id: int, **profile: Any) -> dict[str, Any]:
        """Set first_name / last_name / username / language_code for later updates."""
        return (await self._request("POST", f"/users/{user_id}", json=profile))["user"]

    async def register_chat(
        self, chat_id: int, *, type: str = "group", title: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        """Make a chat known to the sandbox (e.g. a group) without an update."""
        body = {"type": type, "title": title, "username": username}
        return (await self._request("POST", f"/chats/{chat_id}", json=body))["chat"]

    async def _message(self, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
        payload = {k: v for k, v in body.items() if v is not None}
        return (await self._request("POST", f"/users/{user_id}/message", json=payload))["update"]

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        chat: dict[str, Any] | None = None,
        reply_to_message_id: int | None = None,
        **user_fields: Any,
    ) -> dict[str, Any]:
        """The user sends a text message; returns the created Update."""
        return await self._message(
            user_id, {"text": text, "chat": chat, "reply_to_message_id": reply_to_message_id, **user_fields}
        )

    async def send_photo(
        self,
        user_id: int,
        *,
        caption: str | None = None,
        width: int = 1280,
        height: int = 960,
        content: bytes | None = None,
        chat: dict[str, Any] | None = None,
        reply_to_message_id: int | None = None,
        **user_fields: Any,
    ) -> dict[str, Any]:
        """The user sends a photo (a generated PNG unless ``content`` is given)."""
        photo: dict[str, Any] = {"width": width, "height": height}
        if content is not None:
            photo = {"content_b64": base64.b64encode(content).decode()}
        return await self._message(
            user_id,
            {"photo": photo, "caption": caption, "chat": chat,
             "reply_to_message_id": reply_to_message_id, **user_fields},
        )

    async def send_document(
        self,
        user_id: int,
        file_name: str = "document.txt",
        content: bytes = b"sandbox document\n",
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        chat: dict[str, Any] | None = None,
        reply_to_message_id: int | None = None,
        **user_fields: Any,
    ) -> dict[str, Any]:
        """The user sends a document with the given name and bytes."""
        document = {
            "file_name": file_name,
            "mime_type": mime_type,
            "content_b64": base64.b64encode(content).decode(),
        }
        return await self._message(
            user_id,
            {"document": {k: v for k, v in document.items() if v is not None}, "caption": caption,
             "chat": chat, "reply_to_message_id": reply_to_message_id, **user_fields},
        )

    async def send_sticker(
        self, user_id: int, *, emoji: str = "👍", chat: dict[str, Any] | None = None, **user_fields: Any
    ) -> dict[str, Any]:
        """The user sends a sticker."""
        return await self._message(user_id, {"sticker": {"emoji": emoji}, "chat": chat, **user_fields})

    async def send_voice(
        self, user_id: int, *, duration: int = 2, chat: dict[str, Any] | None = None, **user_fields: Any
    ) -> dict[str, Any]:
        """The user sends a voice note."""
        return await self._message(user_id, {"voice": {"duration": duration}, "chat": chat, **user_fields})

    async def press(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user presses an inline button; returns the CallbackQuery (its ``id`` included)."""
        body: dict[str, Any] = {"message_id": message_id, "data": data}
        if chat_id is not None:
            body["chat_id"] = chat_id
        result = await self._request("POST", f"/users/{user_id}/callback", json=body)
        return result["update"]["callback_query"]

    async def block(self, chat_id: int, blocked: bool = True) -> None:
        """Make the chat refuse the bot with 403 (or accept it again)."""
        await self._request("POST", f"/chats/{chat_id}/block", json={"blocked": blocked})

    # ---- observing -----------------------------------------------------------------------

    async def messages(self, chat_id: int, *, after_id: int = 0) -> list[dict[str, Any]]:
        """Messages the bot sent to the chat, in their current state."""
        result = await self._request("GET", f"/chats/{chat_id}/messages", params={"after_id": after_id})
        return result["messages"]

    async def wait_for_messages(
        self, chat_id: int, *, after_id: int = 0, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait (long polling, no sleeps) until ``count`` bot messages newer than ``after_id``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            result = await self._request(
                "GET",
                f"/chats/{chat_id}/messages",
                params={"after_id": after_id, "min_count": count, "wait": max(0.0, remaining)},
                timeout=max(0.0, remaining) + _POLL_SLACK,
            )
            messages = result["messages"]
            if len(messages) >= count:
                return messages
            if loop.time() >= deadline:
                so_far = await self.messages(chat_id)
                texts = [m.get("text") or m.get("caption") or f"<{m['method']}>" for m in so_far]
                raise TimeoutError(
                    f"chat {chat_id}: expected {count} bot message(s) after message_id {after_id} "
                    f"within {timeout:g}s, got {len(messages)}; everything the chat got so far: {texts!r}"
                )

    async def events(
        self,
        chat_id: int,
        *,
        after_seq: int = 0,
        wait: float = 0.0,
        min_count: int = 1,
        incoming: bool = False,
    ) -> list[dict[str, Any]]:
        """The chat's sent/edited/deleted events after ``after_seq`` (long-polls with ``wait``);
        ``incoming`` adds the users' own messages as "received" events."""
        params: dict[str, Any] = {"after_seq": after_seq, "wait": wait, "min_count": min_count}
        if incoming:
            params["incoming"] = 1
        result = await self._request(
            "GET",
            f"/chats/{chat_id}/events",
            params=params,
            timeout=wait + _POLL_SLACK,
        )
        return result["events"]

    async def wait_for_events(
        self, chat_id: int, *, after_seq: int = 0, count: int = 1, timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Wait until ``count`` events newer than ``after_seq``; TimeoutError otherwise."""
        events = await self.events(chat_id, after_seq=after_seq, wait=timeout, min_count=count)
        if len(events) < count:
            raise TimeoutError(
                f"chat {chat_id}: expected {count} event(s) after seq {after_seq} within "
                f"{timeout:g}s, got {[(e['kind'], e['message'].get('text')) for e in events]!r}"
            )
        return events

    async def callback_answer(self, callback_query_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The bot's answerCallbackQuery parameters; TimeoutError if it does not answer in time."""
        result = await self._request(
            "GET",
            f"/callback_answers/{callback_query_id}",
            params={"wait": timeout},
            timeout=timeout + _POLL_SLACK,
        )
        if not result["answered"]:
            raise TimeoutError(f"callback query {callback_query_id} was not answered within {timeout:g}s")
        return result["answer"]

    async def calls(self, method: str | None = None, *, since_seq: int = 0) -> list[dict[str, Any]]:
        """Bot API calls the sandbox received (seq, t, wall, method, chat_id, status, fault, error)."""
        params: dict[str, Any] = {"since_seq": since_seq}
        if method:
            params["method"] = method
        return (await self._request("GET", "/calls", params=params))["calls"]

    async def pending_updates(self) -> int:
        """Number of updates the bot has not confirmed yet."""
        return (await self._request("GET", "/updates/pending"))["pending"]

    async def commands(self) -> dict[str, Any]:
        """Stored commands: ``{scope: {language_code: [{"command", "description"}]}}``."""
        return (await self._request("GET", "/commands"))["commands"]

    async def webhook(self) -> dict[str, Any]:
        """Webhook configuration, WebhookInfo and delivery log."""
        return await self._request("GET", "/webhook")

    # ---- faults and reset ----------------------------------------------------------------

    async def set_faults(self, **config: Any) -> dict[str, Any]:
        """Replace the fault configuration (rate_429, rate_5xx, rate_drop, rate_slow, script, ...)."""
        return (await self._request("POST", "/faults", json=config))["faults"]

    async def clear_faults(self) -> None:
        """Remove every fault."""
        await self._request("DELETE", "/faults")

    async def reset(self) -> None:
        """Forget everything but the bot identity."""
        await self._request("POST", "/reset")
