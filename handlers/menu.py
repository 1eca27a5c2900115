"""The main menu: a reply keyboard of the actions the user's role may take (SPEC 2).

Features add their buttons with `add_item`; the keyboard and the handler that recognises a
pressed button (in either language) are built from that one list.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import ReplyKeyboardMarkup, Update
from telegram.ext import Application, MessageHandler, filters

from bot.i18n import all_translations, t
from bot.services.roles import Role
from bot.tg.context import KopContext
from handlers.one_conversation import leave_all


@dataclass(frozen=True)
class MenuItem:
    """One button of the main menu: its catalogue key, who sees it, what it does."""

    key: str
    roles: frozenset[Role]
    callback: Callable[[Update, KopContext], Awaitable[Any]]


def menu_items(app: Application) -> list[MenuItem]:  # type: ignore[type-arg]
    """The menu of this application (kept on the application, not in a module global)."""
    return app.bot_data.setdefault("_menu_items", [])  # type: ignore[no-any-return]


def add_item(app: Application, item: MenuItem) -> None:  # type: ignore[type-arg]
    """Add a button to the main menu, after those added before it."""
    menu_items(app).append(item)
    app.bot_data.pop("_menus", None)


def main_menu(app: Application, role: Role, lang: str) -> ReplyKeyboardMarkup:  # type: ignore[type-arg]
    """The reply keyboard for a role, two buttons a row (built once per role and language:
    Telegram objects are immutable, and most answers carry it)."""
    menus: dict[tuple[Role, str], ReplyKeyboardMarkup] = app.bot_data.setdefault("_menus", {})
    markup = menus.get((role, lang))
    if markup is None:
        markup = menus[(role, lang)] = _build_menu(app, role, lang)
    return markup


def _build_menu(app: Application, role: Role, lang: str) -> ReplyKeyboardMarkup:  # type: ignore[type-arg]
    labels = [t(lang, item.key) for item in menu_items(app) if role in item.roles]
    rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
    return KeptKeyboard(rows, resize_keyboard=True, input_field_placeholder=t(lang, "menu.placeholder"))


class KeptKeyboard(ReplyKeyboardMarkup):
    """A reply keyboard built once and sent with most answers: its JSON is built once too.

    Telegram objects are immutable, so the dict cannot go stale; the request layer only reads
    it (it is serialised and logged), and nobody may change it.
    """

    __slots__ = ("_kept",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        with self._unfrozen():
            self._kept = super().to_dict()

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        """The keyboard's JSON, as built when it was made."""
        return self._kept if recursive else super().to_dict(recursive=False)


def button_filter(item: MenuItem) -> filters.BaseFilter:
    """Matches the button's label in any language."""
    return filters.Text(sorted(all_translations(item.key)))


def leaving_conversations(item: MenuItem) -> Callable[[Update, KopContext], Awaitable[Any]]:
    """The button's action, after ending whatever conversation the user was in.

    A menu button does what it says everywhere: it is never taken as an answer (see
    `handlers.one_conversation`), and the conversation it interrupts ends cleanly (drafts stay).
    """

    @functools.wraps(item.callback)  # keeps the roles declared with `serves`
    async def pressed(update: Update, context: KopContext) -> Any:
        leave_all(context.application, update)
        return await item.callback(update, context)

    return pressed


def register_buttons(app: Application) -> None:  # type: ignore[type-arg]
    """One handler per menu button; call after every feature added its items."""
    for item in menu_items(app):
        app.add_handler(MessageHandler(button_filter(item) & filters.UpdateType.MESSAGE, leaving_conversations(item)))
