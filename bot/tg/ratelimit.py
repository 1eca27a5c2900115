"""`BudgetRateLimiter`: python-telegram-bot's rate-limiter hook on KopDesk's one send budget.

PTB hands every Bot API call of the Application's bot (the handlers' replies, edits, button
answers) to `process_request`. Calls that put content into a chat — sends, copies, forwards,
edits — wait for a turn in the process's `SendBudget` (bot/delivery/limits.py), the same one the
delivery engine uses, in the REPLY lane unless the caller passes ``rate_limit_args={"lane": ...}``.
Other calls (answering a button, getMe, setMyCommands) take no turn but still wait out a 429
pause. A 429 pauses every lane of the process for its retry_after, and the call is tried again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.limits import Lane, SendBudget
from bot.delivery.reports import retry_seconds

_LOG = logging.getLogger(__name__)
_SENDING_PREFIXES = ("send", "copymessage", "forwardmessage", "edit")
_NOT_SENDING = frozenset({"sendchataction"})


def takes_a_turn(endpoint: str) -> bool:
    """True for Bot API methods that put content into a chat (and so count against limits)."""
    name = endpoint.lower()
    return name not in _NOT_SENDING and name.startswith(_SENDING_PREFIXES)


class BudgetRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """Paces the Application's calls through the process's `SendBudget`."""

    def __init__(self, budget: SendBudget, *, max_retries: int = 5) -> None:
        self.budget = budget
        self.max_retries = max_retries

    async def initialize(self) -> None:
        """Nothing to set up: the budget lives as long as the runtime."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for a turn (or out a pause), make the call, and retry it after a 429."""
        lane = Lane((rate_limit_args or {}).get("lane", Lane.REPLY))
        chat = data.get("chat_id")
        chat_id = chat if isinstance(chat, int) else None
        counted = takes_a_turn(endpoint)
        attempt = 0
        while True:
            if counted:
                await self.budget.wait(chat_id, lane)
            else:
                await self.budget.wait_pause()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                self.budget.pause(seconds)
                attempt += 1
                if attempt > self.max_retries:
                    raise
                _LOG.warning("429 on %s: every lane paused for %.0fs", endpoint, seconds)
