"""Webhook delivery: POST pending updates to the bot's URL, one at a time and in order."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import aiohttp

from .state import State

# Back-off between attempts for one update; after the last one the update is dropped
# (Telegram also gives up on an update eventually) and last_error_* stays visible.
RETRY_DELAYS = (0.05, 0.2, 0.5, 1.0)


class WebhookDeliverer:
    """Background task that feeds pending updates to the webhook while one is set."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.deliveries: list[dict[str, Any]] = []
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the delivery loop."""
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._task = asyncio.create_task(self._run(), name="sandbox-webhook")

    async def stop(self) -> None:
        """Stop the loop and close the HTTP session."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reset(self) -> None:
        """Forget the delivery log."""
        self.deliveries.clear()

    async def _run(self) -> None:
        state = self.state
        while True:
            await state.notifier.wait_until(
                lambda: state.closing or (state.webhook is not None and bool(state.deliverable())),
                None,
            )
            if state.closing:
                return
            hook = dict(state.webhook or {})
            update = state.deliverable()[0]
            done = await self._deliver(hook, update)
            if done:
                state.pending = [u for u in state.pending if u is not update]
                state.notifier.notify()

    async def _deliver(self, hook: dict[str, Any], update: dict[str, Any]) -> bool:
        """Try to deliver; True when the update is finished with (delivered or given up)."""
        assert self._session is not None
        headers = {}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
            if delay:
                await asyncio.sleep(delay)
            current = self.state.webhook
            if current is None or current.get("url") != hook.get("url"):
                return False  # webhook removed or changed: leave the update pending
            entry = {"update_id": update["update_id"], "url": hook["url"], "attempt": attempt + 1,
                     "wall": time.time(), "status": None, "error": None}
            self.deliveries.append(entry)
            try:
                async with self._session.post(hook["url"], json=update, headers=headers) as resp:
                    await resp.read()
                    entry["status"] = resp.status
                    if 200 <= resp.status < 300:
                        self.state.webhook_error = None
                        return True
                    error = f"Wrong response from the webhook: {resp.status} {resp.reason or ''}".strip()
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                error = f"Connection failed: {type(exc).__name__}"
            entry["error"] = error
            self.state.webhook_error = (int(time.time()), error)
        return True
