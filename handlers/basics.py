"""/start, /bantuan, /bahasa and /batal: what every user can do (SPEC 2)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import commands
from bot.i18n import LANGUAGES
from bot.services.audit import audit
from bot.services.roles import ALL_ROLES
from bot.tg.context import KopContext
from handlers import menu
from handlers.access import serves
from handlers.conversation import conversation
from handlers.questions import drop_pending
from storage.repositories import people

CHOOSING_LANGUAGE = "choosing_language"

# What people type when asked for a language, besides tapping a button.
_LANGUAGE_WORDS = {
    "id": {"id", "indonesia", "bahasa indonesia", "indonesian", "1", "bahasa"},
    "en": {"en", "english", "inggris", "bahasa inggris", "2"},
}


@serves(ALL_ROLES)
async def start(update: Update, context: KopContext) -> None:
    """/start: welcome and the main menu for the user's role."""
    settings = context.runtime.settings
    name = update.effective_user.first_name if update.effective_user else ""
    text = (
        context.t("start.welcome_back", name=name)
        if context.person and context.person.language
        else context.t("start.welcome_guest", office=settings.office_name, region=settings.region_name)
    )
    await update.effective_message.reply_text(
        text, reply_markup=menu.main_menu(context.application, context.role, context.lang)
    )


def help_text(context: KopContext) -> str:
    """What the bot can do for this user's role, in his language."""
    lines = [context.t("help.header")]
    for spec in commands.commands_for(context.role):
        lines.append(f"/{spec.name if context.lang == 'id' else spec.alias} — {context.t(spec.description_key)}")
    lines += ["", context.t("help.footer"), context.t("help.offline_tip")]
    return "\n".join(lines)


@serves(ALL_ROLES)
async def show_help(update: Update, context: KopContext) -> None:
    """/bantuan: the commands of the user's role and how conversations work."""
    await update.effective_message.reply_text(
        help_text(context),
        reply_markup=menu.main_menu(context.application, context.role, context.lang),
    )


def _language_buttons(context: KopContext) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(context.t(f"lang.button_{code}"), callback_data=f"lang:{code}")]
         for code in LANGUAGES]
    )


@serves(ALL_ROLES)
async def ask_language(update: Update, context: KopContext) -> str:
    """/bahasa: offer the languages as buttons; a typed answer works too."""
    await update.effective_message.reply_text(
        context.t("lang.prompt"), reply_markup=_language_buttons(context)
    )
    return CHOOSING_LANGUAGE


async def _apply_language(update: Update, context: KopContext, code: str) -> None:
    user_id = update.effective_user.id
    await people.set_language(context.session, user_id, code)
    await audit(context.session, "language_changed", actor=user_id, language=code)
    context.lang = code
    await context.bot.send_message(
        update.effective_chat.id,
        context.t("lang.set"),
        reply_markup=menu.main_menu(context.application, context.role, code),
    )


@serves(ALL_ROLES)
async def typed_language(update: Update, context: KopContext) -> object:
    """The user typed his choice of language."""
    answer = update.effective_message.text.strip().lower()
    code = next((c for c, words in _LANGUAGE_WORDS.items() if answer in words), None)
    if code is None:
        await update.effective_message.reply_text(
            context.t("lang.invalid"), reply_markup=_language_buttons(context)
        )
        return CHOOSING_LANGUAGE
    await _apply_language(update, context, code)
    return ConversationHandler.END


@serves(ALL_ROLES)
async def pressed_language(update: Update, context: KopContext) -> object:
    """The user tapped a language button (works in or out of the conversation)."""
    query = update.callback_query
    code = query.data.removeprefix("lang:")
    if code not in LANGUAGES:
        await query.answer(context.t("access.stale_button"), show_alert=True)
        return None
    await query.answer()
    await query.edit_message_reply_markup(reply_markup=None)
    await _apply_language(update, context, code)
    return ConversationHandler.END


@serves(ALL_ROLES)
async def cancel_outside(update: Update, context: KopContext) -> None:
    """/batal when no conversation is running (a question being typed for an officer is dropped)."""
    dropped = await drop_pending(context)
    await update.effective_message.reply_text(
        context.t("cancel.done" if dropped else "cancel.nothing"),
        reply_markup=menu.main_menu(context.application, context.role, context.lang),
    )


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install the basic commands and their menu buttons."""
    language_button = menu.MenuItem("menu.language", ALL_ROLES, ask_language)
    app.add_handler(
        conversation(
            "language",
            command=commands.LANGUAGE,
            button=language_button,
            states={
                CHOOSING_LANGUAGE: [
                    CallbackQueryHandler(pressed_language, pattern=r"^lang:[a-z]{2}$"),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, typed_language),
                ]
            },
        )
    )
    app.add_handler(CallbackQueryHandler(pressed_language, pattern=r"^lang:[a-z]{2}$"))
    app.add_handler(CommandHandler(commands.START.names, start))
    app.add_handler(CommandHandler(commands.HELP.names, show_help))
    app.add_handler(CommandHandler(commands.CANCEL.names, cancel_outside))
    menu.add_item(app, menu.MenuItem("menu.help", ALL_ROLES, show_help))
    menu.add_item(app, language_button)
