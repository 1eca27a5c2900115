"""A ConversationHandler with KopDesk's common parts: persistence, /batal, non-text answers,
and the one-conversation-at-a-time rules of `handlers.one_conversation`."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, ConversationHandler, MessageHandler, filters
from telegram.warnings import PTBUserWarning

from bot import commands
from bot.services.roles import ALL_ROLES
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.menu import MenuItem, button_filter
from handlers.one_conversation import KopConversation


@serves(ALL_ROLES)
async def cancel_conversation(update: Update, context: KopContext) -> int:
    """/batal inside a conversation: leave it; drafts stay in the database."""
    if update.effective_message:
        await update.effective_message.reply_text(context.t("cancel.done"))
    return ConversationHandler.END


@serves(ALL_ROLES)
async def need_text(update: Update, context: KopContext) -> None:
    """A sticker, voice note or photo where the conversation expects typed text."""
    if update.effective_message:
        await update.effective_message.reply_text(context.t("input.need_text"))


def conversation(
    name: str,
    *,
    entry_points: Sequence[BaseHandler[Any, Any, Any]] = (),
    states: dict[object, list[BaseHandler[Any, Any, Any]]],
    fallbacks: Sequence[BaseHandler[Any, Any, Any]] = (),
    command: commands.CommandSpec | None = None,
    button: MenuItem | None = None,
    on_edit: Callable[[Update, KopContext], Awaitable[object]] | None = None,
) -> ConversationHandler[Any]:
    """A persistent conversation keyed by chat and user, with /batal and non-text fallbacks.

    `command` and `button` (a main-menu item) become entry points calling the button's callback,
    ahead of `entry_points`. Only a conversation with `on_edit` sees edited messages (all of
    them, while it is open: `on_edit` comes first); the others never do.
    """
    starts: list[BaseHandler[Any, Any, Any]] = []
    if button is not None:
        if command is not None:
            starts.append(CommandHandler(command.names, button.callback))
        starts.append(MessageHandler(button_filter(button), button.callback))
    edits = [MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edit)] if on_edit is not None else []
    entry_points = [*edits, *starts, *entry_points]
    common = [
        CommandHandler(commands.CANCEL.names, cancel_conversation),
        MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, need_text),
    ]
    # per_message=False is intended: a conversation follows the user in his chat, and every
    # button carries its full meaning in its data, so PTB's warning about tracking callback
    # queries per message does not apply. Silenced here only, with this reason.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*per_message.*", category=PTBUserWarning)
        return KopConversation(
            takes_edits=on_edit is not None,
            entry_points=list(entry_points),
            states=states,
            fallbacks=[*fallbacks, *common],
            name=name,
            persistent=True,
            allow_reentry=True,
        )
