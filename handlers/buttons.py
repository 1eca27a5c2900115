"""Button data is matched whole.

python-telegram-bot tests a `CallbackQueryHandler` pattern with `re.match`, and Python's `$`
also matches before a final newline: forged data such as "sia:s:1:AKTIF\n" passed a pattern
ending in `$` and reached code that trusted it. `match_whole(app)` runs once, after every
feature registered (`handlers.register_all`), and makes each button pattern match the whole
data, so features keep writing ordinary patterns and none can forget. The pattern keeps its
source text (`.pattern`), and the match still reaches `context.matches`.
"""

from __future__ import annotations

import re
from typing import Any

from telegram.ext import Application, BaseHandler, CallbackQueryHandler, ConversationHandler


class WholeData:
    """A button pattern that matches only the whole callback data."""

    def __init__(self, regex: re.Pattern[str]) -> None:
        self.regex = regex

    @property
    def pattern(self) -> str:
        """The pattern's source, as `re.Pattern.pattern`."""
        return self.regex.pattern

    def __call__(self, data: object) -> re.Match[str] | None:
        """The match of the whole data, or None."""
        return self.regex.fullmatch(data) if isinstance(data, str) else None

    match = __call__  # what code written for an `re.Pattern` calls

    def __repr__(self) -> str:
        return f"WholeData({self.regex.pattern!r})"


def _handlers(app: Application) -> list[BaseHandler[Any, Any, Any]]:  # type: ignore[type-arg]
    found: list[BaseHandler[Any, Any, Any]] = []
    for handlers in app.handlers.values():
        for handler in handlers:
            if isinstance(handler, ConversationHandler):
                found += [*handler.entry_points, *handler.fallbacks]
                found += [h for hs in handler.states.values() for h in hs]
            else:
                found.append(handler)
    return found


def match_whole(app: Application) -> None:  # type: ignore[type-arg]
    """Make every registered button pattern match the whole callback data."""
    for handler in _handlers(app):
        if isinstance(handler, CallbackQueryHandler) and isinstance(handler.pattern, re.Pattern):
            handler.pattern = WholeData(handler.pattern)
