"""Who is spoken to (SPEC 10): group -3, ahead of everything that reads an update.

Every update is in the message log already (bot/pipeline/application.py) when this runs; here it
is decided whether the bot answers at all. Stopped updates are logged, never answered:

- updates without a person or a chat the bot talks in: channel posts, member updates, polls,
  reactions, inline queries... — only messages and button presses go on;
- messages from bots: other bots, and the senders Telegram marks as bots when nobody in
  particular writes (an anonymous group admin, a channel posting into its group);
- groups other than the officers' chat: a command addressed to the bot gets a short pointer
  to the private chat, anything else nothing (a button pressed there gets the pointer as its
  answer, since every callback query must be answered);
- edited messages: ignored, unless a conversation that takes corrections is open for that
  chat and user (the report, see handlers/report.py); an edit is not a new message.

In private chats and the officers' chat the update goes on to the handlers, where `serves`
keeps personal data out of the officers' chat (handlers/chats.py).
"""

from __future__ import annotations

import logging

from telegram import Chat, Update, User
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.i18n import pick_language, t
from bot.tg.context import KopContext
from handlers.chats import addressed_to_bot, is_officers_chat, point_to_private
from handlers.one_conversation import takes_this_edit
from storage.repositories import people

_LOG = logging.getLogger(__name__)
GROUP = -3


async def screen(update: Update, context: KopContext) -> None:
    """Let the update go on to the handlers, point to the private chat, or stop it quietly."""
    reason = await _silence(update, context)
    if reason is not None:
        _LOG.info("update %s logged, not answered: %s", update.update_id, reason)
        raise ApplicationHandlerStop


async def _silence(update: Update, context: KopContext) -> str | None:
    """Why the bot stays quiet about this update (None: it goes on)."""
    query = update.callback_query
    message = update.message or update.edited_message
    if query is None and message is None:
        return "not a message or a button press"
    user = update.effective_user
    if user is None:
        return "no sender"
    if user.is_bot:
        return "sent by a bot"
    chat = update.effective_chat
    if query is not None and query.message is None:
        # A button under an inline-mode message: KopDesk sends none, so it is stale or forged.
        await query.answer(await _text(context, user, "access.stale_button"), show_alert=True)
        return "button without a chat"
    if chat is None:
        return "no chat"
    if chat.type != Chat.PRIVATE and not is_officers_chat(context, chat):
        if query is not None:
            await point_to_private(update, context, await _language(context, user))
            return "button in a foreign group"
        if update.message is not None and addressed_to_bot(update.message, explicit=True):
            await point_to_private(update, context, await _language(context, user))
            return "command in a foreign group (pointer sent)"
        return "foreign group"
    if update.edited_message is not None and not (
        chat.type == Chat.PRIVATE and takes_this_edit(context.application, update)
    ):
        return "edited message"
    return None


async def _language(context: KopContext, user: User) -> str:
    """The sender's language before `handlers.pre` ran: his choice if known, else Telegram's."""
    person = await people.get_by_telegram_id(context.session, user.id)
    chosen = person.language if person is not None else None
    return pick_language(chosen, user.language_code, context.runtime.settings.default_language)


async def _text(context: KopContext, user: User, key: str) -> str:
    return t(await _language(context, user), key)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install the screen in its own group, ahead of the pre-processing and every feature."""
    app.add_handler(TypeHandler(Update, screen), group=GROUP)
