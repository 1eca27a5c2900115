"""Last in group 0: nothing a user sends goes unanswered (SPEC 10)."""

from __future__ import annotations

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, MessageHandler, filters

from bot.i18n import shorten
from bot.services.roles import ALL_ROLES
from bot.tg.context import KopContext
from handlers import menu, questions
from handlers.access import serves
from handlers.chats import ADDRESSED_COMMAND


@serves(ALL_ROLES)
async def unknown_command(update: Update, context: KopContext) -> None:
    """A command the bot does not know: say so, then show help and the menu."""
    command = (update.effective_message.text or "").split()[0]
    await update.effective_message.reply_text(
        context.t("unknown.command", command=shorten(command, 40)) + "\n" + context.t("unknown.text"),
        reply_markup=menu.main_menu(context.application, context.role, context.lang),
    )


@serves(ALL_ROLES)
async def unknown_text(update: Update, context: KopContext) -> None:
    """Text outside any conversation that no feature claims."""
    if await questions.take_free_text(update, context):  # a question, or part of a ticket
        return
    await update.effective_message.reply_text(
        context.t("unknown.text"),
        reply_markup=menu.main_menu(context.application, context.role, context.lang),
    )


@serves(ALL_ROLES)
async def non_text(update: Update, context: KopContext) -> None:
    """A sticker, voice note, photo... outside a conversation."""
    if await questions.take_free_text(update, context):  # a photo or document of a ticket
        return
    await update.effective_message.reply_text(
        context.t("input.nontext_outside"),
        reply_markup=menu.main_menu(context.application, context.role, context.lang),
    )


@serves(ALL_ROLES)
async def stale_button(update: Update, context: KopContext) -> None:
    """A button whose data no handler accepts: stale or forged. No state changes."""
    await update.callback_query.answer(context.t("access.stale_button"), show_alert=True)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install the catch-alls; must come after every feature handler of group 0."""
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(filters.COMMAND & private, unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & private, unknown_text))
    app.add_handler(
        MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL & private, non_text)
    )
    # In the officers' chat, a command for the bot that no officers' handler took (a manager's
    # command, or an unknown one): `serves` answers it with a pointer to the private chat.
    app.add_handler(MessageHandler(ADDRESSED_COMMAND & filters.ChatType.GROUPS, unknown_command))
    app.add_handler(CallbackQueryHandler(stale_button))
