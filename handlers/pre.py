"""Group -1: before any feature handler, know who the user is and apply the flood limit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.i18n import pick_language
from bot.services.roles import STAFF, resolve_identity
from bot.tg.context import KopContext
from storage.db import current_uow
from storage.models import Person
from storage.repositories import message_log, people, sender
from storage.sender_cache import Entry, SenderCache
from storage.types import utcnow

FLOOD_WINDOW = timedelta(minutes=1)
GROUP = -1


async def prepare(update: Update, context: KopContext) -> None:
    """Load the person, role and language; stop the update if the user is flooding."""
    user = update.effective_user
    if user is None or user.is_bot:
        return
    settings = context.runtime.settings
    session = context.session
    now = utcnow()
    counts = update.callback_query is None  # button presses are not messages
    senders = context.runtime.db.senders
    values = people.telegram_values(user.first_name, user.last_name, user.username, user.language_code)
    hit = _remembered(senders, session, user.id, values, now) if senders is not None else None
    if hit is not None:  # the facts of his previous update, a few seconds ago
        person, entry = hit
        entry.count += counts
        identity, recent = entry.identity, entry.count
    else:
        epoch = senders.epoch() if senders is not None else 0
        uow = current_uow()
        facts = await sender.load(session, user.id, now - FLOOD_WINDOW,
                                  upto=uow.inbound_id if uow is not None else None)
        person = await people.seen(session, telegram_id=user.id, known=facts.person, looked_up=True,
                                   **values)
        identity = await resolve_identity(
            session, user.id, admin_ids=settings.admin_ids,
            officer_role=facts.officer_role, is_manager=facts.is_manager,
        )
        recent = facts.recent_messages
        if senders is not None:
            senders.expect(session, user.id, person, identity, recent, epoch=epoch, now=now)
    context.person = person
    context.lang = pick_language(person.language, user.language_code, settings.default_language)
    context.identity = identity

    if not counts:
        return  # the flood limit counts messages
    if context.role in STAFF:
        return  # officers and admins work in bursts (40 invitations in a row), SPEC 10
    # The update is already in the log, so it counts itself.
    limit = settings.flood_limit_per_minute
    if recent > limit:
        await message_log.mark_throttled(session, update.update_id)
        if recent == limit + 1 and update.effective_chat:
            await context.bot.send_message(update.effective_chat.id, context.t("flood.warning"))
        raise ApplicationHandlerStop


def _remembered(senders: SenderCache, session: AsyncSession, telegram_id: int,
                values: dict[str, Any], now: datetime) -> tuple[Person, Entry] | None:
    """His facts as remembered from his previous update, with his row attached to `session`;
    None if there are none, or Telegram now tells of him what his row does not say."""
    entry = senders.get(telegram_id, now)
    if entry is None or not people.up_to_date(entry.person, values, now):
        return None
    person = senders.attach(session, entry)
    return None if person is None else (person, entry)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install the pre-processing handler in its own group, ahead of every feature."""
    app.add_handler(TypeHandler(Update, prepare), group=GROUP)
