"""The one error handler: log with the update id, apologise, tell the admin chat, carry on."""

from __future__ import annotations

import logging
import traceback

from markupsafe import Markup
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application

from bot.i18n import html, pick_language, t
from bot.logging_setup import redact
from bot.services.audit import audit
from bot.tg.context import KopContext
from storage.db import current_uow

_LOG = logging.getLogger(__name__)
# Room for the header within Telegram's 4096 characters.
_TRACEBACK_CHARS = 3500


async def on_error(update: object, context: KopContext) -> None:
    """Handle an exception raised while processing an update or a job."""
    update_id = getattr(update, "update_id", None)
    if isinstance(context.error, Forbidden):
        # The user blocked the bot: nothing to apologise to, nothing for the admins to fix.
        _LOG.info("update %s: %s", update_id, context.error)
        return
    _LOG.error("error while handling update %s", update_id, exc_info=context.error)
    settings = context.runtime.settings

    if isinstance(update, Update) and update.effective_chat:
        lang = context.lang
        if context.person is None and update.effective_user:
            lang = pick_language(None, update.effective_user.language_code, settings.default_language)
        try:
            await context.bot.send_message(update.effective_chat.id, t(lang, "error.apology"))
        except TelegramError:
            _LOG.warning("could not send the apology for update %s", update_id, exc_info=True)

    uow = current_uow()
    if uow is not None:
        # The update's own writes were rolled back already; this entry commits on its own.
        await audit(
            uow.session,
            "error",
            actor=update.effective_user.id if isinstance(update, Update) and update.effective_user else None,
            subject_type="update",
            subject_id=update_id,
            error=type(context.error).__name__,
        )

    admin_chat = settings.error_chat_id or (settings.admin_ids[0] if settings.admin_ids else None)
    if admin_chat is None or context.error is None:
        return
    # The logging filter does not see what goes to Telegram: redact here as well.
    trace = redact("".join(traceback.format_exception(context.error)), settings.secrets())[-_TRACEBACK_CHARS:]
    header = html("id", "error.admin_report", update_id=update_id, error="")
    try:
        await context.bot.send_message(
            admin_chat,
            Markup("{}<pre>{}</pre>").format(header, trace),
            parse_mode=ParseMode.HTML,
        )
    except TelegramError:
        _LOG.warning("could not tell the admin chat about update %s", update_id, exc_info=True)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install the error handler."""
    app.add_error_handler(on_error)
