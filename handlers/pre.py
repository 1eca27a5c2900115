"""Group -1: before any feature handler, know who the user is and apply the flood limit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.i18n import pick_language
from bot.services.roles import STAFF, resolve_identity
from bot.tg.context import KopContext
from storage.db import UnitOfWork, current_uow
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
    uow = current_uow()
    now = utcnow()
    counts = update.callback_query is None  # button presses are not messages
    senders = context.runtime.db.senders
    values = people.telegram_values(user.first_name, user.last_name, user.username, user.language_code)
    entry = _remembered(senders, user.id, values, now) if senders is not None and uow is not None else None
    if entry is not None and not _lend(context, senders, uow, entry):  # type: ignore[arg-type]
        entry = None  # the session holds another copy of him: load him as usual
    if entry is not None:  # the facts of his previous update, a few seconds ago
        entry.count += counts
        identity, recent, language = entry.identity, entry.count, entry.person["language"]
    else:
        session = context.session
        epoch = senders.epoch() if senders is not None else 0
        facts = await sender.load(session, user.id, now - FLOOD_WINDOW,
                                  upto=uow.inbound_id if uow is not None else None)
        person = await people.seen(session, telegram_id=user.id, known=facts.person, looked_up=True,
                                   **values)
        identity = await resolve_identity(
            session, user.id, admin_ids=settings.admin_ids,
            officer_role=facts.officer_role, is_manager=facts.is_manager,
        )
        recent, language = facts.recent_messages, person.language
        if senders is not None:
            senders.expect(session, user.id, person, identity, recent, epoch=epoch, now=now)
        context.person = person
    context.lang = pick_language(language, user.language_code, settings.default_language)
    context.identity = identity

    if not counts:
        return  # the flood limit counts messages
    if context.role in STAFF:
        return  # officers and admins work in bursts (40 invitations in a row), SPEC 10
    # The update is already in the log, so it counts itself.
    limit = settings.flood_limit_per_minute
    if recent > limit:
        await message_log.mark_throttled(context.session, update.update_id)
        if recent == limit + 1 and update.effective_chat:
            await context.bot.send_message(update.effective_chat.id, context.t("flood.warning"))
        raise ApplicationHandlerStop


def _remembered(senders: SenderCache, telegram_id: int, values: dict[str, Any],
                now: datetime) -> Entry | None:
    """His facts as remembered from his previous update; None if there are none, or Telegram
    now tells of him what his row does not say."""
    entry = senders.get(telegram_id, now)
    if entry is None or not people.up_to_date(entry.person, values, now):
        return None
    return entry


def _lend(context: KopContext, senders: SenderCache, uow: UnitOfWork, entry: Entry) -> bool:
    """Give the update his remembered row, attached to its session without a query: at once
    if the session is open (False if it holds him already), else when it opens — which an
    update that reads no table (a /bantuan) never does."""
    if uow.opened:
        person = senders.attach(uow.session, entry)
        if person is None:
            return False
        context.person = person
        return True
    attached: list[Person | None] = []
    uow.when_open(lambda session: attached.append(senders.attach(session, entry)))

    def person() -> Person:
        if uow.closed:  # asked for after the update (a task it left behind): his row, detached
            return entry.obj
        uow.session  # opens it: the hook above attaches him first  # noqa: B018
        if not attached or attached[0] is None:  # a fresh session holds nobody: cannot happen
            raise RuntimeError(f"remembered sender {entry.obj.telegram_id} could not be attached")
        return attached[0]

    context.lend_person(person)
    return True


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install the pre-processing handler in its own group, ahead of every feature."""
    app.add_handler(TypeHandler(Update, prepare), group=GROUP)
