"""setMyCommands: the command list Telegram shows, per role (SPEC 2)."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from bot.commands import CommandSpec, commands_for
from bot.i18n import t
from bot.services.roles import Role

_LOG = logging.getLogger(__name__)


def _bot_commands(specs: list[CommandSpec], lang: str) -> list[BotCommand]:
    names = [spec.name if lang == "id" else spec.alias for spec in specs]
    return [BotCommand(n, t(lang, s.description_key)) for n, s in zip(names, specs, strict=True)]


async def set_commands_for(bot: Bot, chat_id: int, role: Role) -> None:
    """Show one chat the commands of its user's role, in Indonesian and English."""
    scope = BotCommandScopeChat(chat_id)
    try:
        await bot.set_my_commands(_bot_commands(commands_for(role), "id"), scope=scope)
        await bot.set_my_commands(
            _bot_commands(commands_for(role), "en"), scope=scope, language_code="en"
        )
    except TelegramError as exc:  # a chat that never opened the bot: "chat not found"
        _LOG.warning("could not set the commands of chat %s: %s", chat_id, exc)


async def publish_commands(bot: Bot, staff: list[tuple[int, Role]]) -> None:
    """The guest list for every private chat, and each staff member's own list."""
    scope_all = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(_bot_commands(commands_for(Role.GUEST), "id"), scope=scope_all)
    await bot.set_my_commands(
        _bot_commands(commands_for(Role.GUEST), "en"), scope=scope_all, language_code="en"
    )
    for chat_id, role in staff:
        await set_commands_for(bot, chat_id, role)


def staff_chats(admin_ids: list[int], officers: list[Any]) -> list[tuple[int, Role]]:
    """(chat, role) for the configured admins and the active officers in the database."""
    chats: dict[int, Role] = {}
    for officer in officers:
        chats[officer.telegram_id] = Role.ADMIN if str(officer.role) == "admin" else Role.OFFICER
    for admin in admin_ids:
        chats[admin] = Role.ADMIN
    return sorted(chats.items())
