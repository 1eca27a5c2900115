"""Where the bot speaks (SPEC 10): private chats, and the officers' chat for officers' work.

Personal and cooperative data (/profil, /laporan, the registration, the manager's menu) is shown
only in the private chat; officers' data (/koperasi cards, approvals, /siaran...) also in the
officers' chat (OFFICERS_CHAT_ID). Anywhere else the bot says at most where to find it: a
pointer to the private chat. `handlers.access.serves` applies the rule to every callback from
the roles it declares; `handlers.inbound_policy` keeps the bot quiet in every other group.
"""

from __future__ import annotations

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.ext import filters

from bot.i18n import t
from bot.services.roles import STAFF, Role
from bot.tg.context import KopContext


def is_officers_chat(context: KopContext, chat: Chat | None) -> bool:
    """True for the configured officers' group."""
    officers = context.runtime.settings.officers_chat_id
    return chat is not None and officers is not None and chat.id == officers


def speaks_here(update: Update, context: KopContext, allowed: frozenset[Role]) -> bool:
    """May a handler serving `allowed` answer in this update's chat?

    In private, always; in the officers' chat, only a handler of officers' work (staff roles
    only), so that nothing personal is posted to a group; elsewhere never.
    """
    chat = update.effective_chat
    if chat is None or chat.type == Chat.PRIVATE:
        return True
    return is_officers_chat(context, chat) and allowed <= STAFF


def private_link(context: KopContext) -> str:
    """The t.me link that opens the private chat with the bot."""
    return f"https://t.me/{context.bot.username}"


async def point_to_private(update: Update, context: KopContext, lang: str | None = None) -> None:
    """A short pointer to the private chat, as a reply (or, for a button, as its answer)."""
    lang = lang or context.lang
    text = t(lang, "chats.private_only", link=private_link(context))
    if update.callback_query is not None:
        await update.callback_query.answer(text, show_alert=True)
        return
    if update.effective_message is not None:
        button = InlineKeyboardButton(t(lang, "chats.open_private"), url=private_link(context))
        await update.effective_message.reply_text(
            text, reply_markup=InlineKeyboardMarkup([[button]])
        )


def addressed_to_bot(message: Message) -> bool:
    """A command meant for this bot: `/cmd@this_bot`, or a bare `/cmd` (not `/cmd@other_bot`)."""
    entities = message.entities or ()
    if not message.text or not entities or entities[0].type != MessageEntity.BOT_COMMAND:
        return False
    if entities[0].offset != 0:
        return False
    command = message.text[: entities[0].length]
    _, at, name = command.partition("@")
    return not at or name.lower() == (message.get_bot().username or "").lower()


class _AddressedToBot(filters.MessageFilter):
    """Messages that are a command addressed to this bot."""

    def filter(self, message: Message) -> bool:
        return addressed_to_bot(message)


ADDRESSED_COMMAND = _AddressedToBot(name="ADDRESSED_COMMAND")
