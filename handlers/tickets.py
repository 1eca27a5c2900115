"""Tickets between officers and managers (SPEC 5): answers, Balas, close, reopen, lists.

/tiket lists the open tickets of the officer's scope (Balas, Tutup) and those closed within the
reopen window (Buka lagi): SPEC 5 lets an officer reopen too, with the same window as a manager.

An officer answers a ticket by replying to any of its posts in the officers' chat (the post →
ticket mapping is stored: `storage.repositories.tickets.by_post`), or with Balas: the bot asks
him in his private chat, and his next private message is the answer (`ticket_answer_waits`).
The answer goes to the manager's private chat at once — text as a message, a photo or document
with copyMessage — and the message id he received is stored, so his reply to it continues the
ticket. A scoped officer acts only on tickets of his kecamatan; a refusal is answered and
audited like any other.
"""

from __future__ import annotations

import html
from datetime import timedelta

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import commands
from bot.formatting import local_datetime
from bot.i18n import t
from bot.services import tickets as service
from bot.services.audit import audit
from bot.services.roles import MANAGERS, STAFF
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.output import send_long
from handlers.questions import officers
from storage.models import Person
from storage.models_support import Ticket, TicketState
from storage.repositories import tickets as repo
from storage.types import utcnow

WAIT_HOURS = 24  # after Balas, the officer's next private message within this is the answer


def _kind(message: Message) -> str | None:
    if message.photo:
        return "photo"
    if message.document:
        return "document"
    return "text" if message.text else None


def _officer_name(update: Update) -> str:
    user = update.effective_user
    return " ".join(p for p in (user.first_name, user.last_name) if p) if user else "?"


async def _refuse_scope(update: Update, context: KopContext, ticket: Ticket) -> None:
    await audit(context.session, "access_denied", actor=update.effective_user.id,
                subject_type="ticket", subject_id=ticket.id, reason="out_of_scope")
    text = context.t("ticket.out_of_scope", id=ticket.id)
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    else:
        await update.effective_message.reply_text(text)


async def _deliver(context: KopContext, ticket: Ticket, message: Message, kind: str) -> int | None:
    """Send the officer's answer to the manager; the message id he got, None if unreachable."""
    person = await context.session.get(Person, ticket.person_id)
    lang = (person.language if person else None) or context.runtime.settings.default_language
    close = InlineKeyboardMarkup([[InlineKeyboardButton(t(lang, "ticket.button_close_own"),
                                                        callback_data=f"tk:c:{ticket.id}")]])
    try:
        if kind == "text":
            # An answer near Telegram's 4096 characters no longer fits with its frame: split.
            sent = await send_long(
                context.bot, ticket.manager_telegram_id,
                t(lang, "ticket.answer", id=ticket.id, text=html.escape(message.text)),
                parse_mode="HTML", reply_markup=close)
            return sent.message_id
        await context.bot.send_message(ticket.manager_telegram_id, t(lang, "ticket.answer_file", id=ticket.id))
        copied = await context.bot.copy_message(ticket.manager_telegram_id, message.chat_id,
                                                message.message_id, reply_markup=close)
        return copied.message_id
    except Forbidden:
        return None


async def answer_ticket(update: Update, context: KopContext, ticket: Ticket, *, in_thread: bool) -> None:
    """An officer's message answers `ticket`: deliver, record, confirm."""
    message = update.effective_message
    kind = _kind(message)
    if not service.may_act(context.identity, ticket):
        await _refuse_scope(update, context, ticket)
        return
    if kind is None:
        await message.reply_text(context.t("ticket.answer_kinds"))
        return
    if ticket.state in (TicketState.CLOSED, TicketState.DRAFT):
        await message.reply_text(context.t("ticket.already_closed", id=ticket.id))
        return
    delivered = await _deliver(context, ticket, message, kind)
    if delivered is None:
        await message.reply_text(context.t("ticket.manager_unreachable", id=ticket.id))
        return
    await service.officer_answered(
        context.session, officers(context), ticket, update.effective_user.id, _officer_name(update),
        message.text or message.caption, (message.chat_id, message.message_id), kind, delivered,
        utcnow(), note_in_thread=not in_thread,
    )
    await message.reply_text(context.t("ticket.delivered", id=ticket.id),
                             reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                                 context.t("ticket.button_save_faq"), callback_data=f"tk:f:{ticket.id}")]]))


async def staff_message(update: Update, context: KopContext) -> bool:
    """An officer's private message: a reply to a ticket post, or the answer after Balas."""
    message = update.effective_message
    if message.reply_to_message is not None:
        ticket = await repo.by_post(context.session, message.chat_id, message.reply_to_message.message_id)
        if ticket is not None:
            await answer_ticket(update, context, ticket, in_thread=True)
            return True
    wait = await repo.wait_of(context.session, update.effective_user.id)
    if wait is None or utcnow() - wait.since > timedelta(hours=WAIT_HOURS):
        return False
    ticket = await repo.get(context.session, wait.ticket_id)
    await repo.clear_wait(context.session, update.effective_user.id)
    if ticket is None:
        return False
    await answer_ticket(update, context, ticket, in_thread=False)
    return True


@serves(STAFF)
async def officers_chat_reply(update: Update, context: KopContext) -> None:
    """A reply in the officers' chat: to a ticket's post answers it; to another bot message, say so."""
    message = update.effective_message
    replied = message.reply_to_message
    ticket = await repo.by_post(context.session, message.chat_id, replied.message_id)
    if ticket is not None:
        await answer_ticket(update, context, ticket, in_thread=True)
    elif replied.from_user is not None and replied.from_user.id == context.bot.id:
        await message.reply_text(context.t("ticket.not_a_ticket"))


async def _pressed_ticket(update: Update, context: KopContext) -> Ticket | None:
    query = update.callback_query
    ticket = await repo.get(context.session, int(query.data.rsplit(":", 1)[1]))
    if ticket is None or ticket.state == TicketState.DRAFT:
        await query.answer(context.t("access.stale_button"), show_alert=True)
        return None
    return ticket


async def _staff_ticket(update: Update, context: KopContext) -> Ticket | None:
    """The pressed ticket if the officer may act on it (his kecamatan); else answered, None."""
    ticket = await _pressed_ticket(update, context)
    if ticket is not None and not service.may_act(context.identity, ticket):
        await _refuse_scope(update, context, ticket)
        return None
    return ticket


@serves(STAFF)
async def pressed_answer(update: Update, context: KopContext) -> None:
    """Balas: ask the officer for the answer in his private chat."""
    query = update.callback_query
    ticket = await _staff_ticket(update, context)
    if ticket is None:
        return
    if ticket.state == TicketState.CLOSED:
        await query.answer(context.t("ticket.already_closed", id=ticket.id), show_alert=True)
        return
    try:
        await context.bot.send_message(
            update.effective_user.id,
            context.t("ticket.write_answer", id=ticket.id, question=html.escape(ticket.question)),
            parse_mode="HTML")
    except Forbidden:
        await query.answer(context.t("ticket.open_private_chat"), show_alert=True)
        return
    await repo.set_wait(context.session, update.effective_user.id, ticket.id, utcnow())
    await query.answer(context.t("ticket.answer_in_private"))


@serves(STAFF)
async def pressed_close(update: Update, context: KopContext) -> None:
    """Tutup (officer): close the ticket and tell the manager."""
    query = update.callback_query
    ticket = await _staff_ticket(update, context)
    if ticket is None:
        return
    try:
        await service.close(context.session, officers(context), ticket, update.effective_user.id,
                            _officer_name(update), utcnow(), by_manager=False)
    except service.TicketError as exc:
        await query.answer(context.t(exc.key, id=ticket.id), show_alert=True)
        return
    await query.answer(context.t("ticket.closed", id=ticket.id))
    person = await context.session.get(Person, ticket.person_id)
    lang = (person.language if person else None) or context.runtime.settings.default_language
    try:
        await context.bot.send_message(ticket.manager_telegram_id,
                                       t(lang, "ticket.closed_by_officer", id=ticket.id))
    except TelegramError:
        pass  # he blocked the bot: the ticket is closed all the same


@serves(STAFF)
async def pressed_save_faq(update: Update, context: KopContext) -> None:
    """Simpan sebagai FAQ: a draft entry from the question and the answers."""
    query = update.callback_query
    ticket = await _staff_ticket(update, context)
    if ticket is None:
        return
    try:
        key, new = await service.save_as_faq(context.session, ticket, update.effective_user.id)
    except service.TicketError as exc:
        await query.answer(context.t(exc.key, id=ticket.id), show_alert=True)
        return
    await query.answer(context.t("ticket.faq_saved" if new else "ticket.faq_exists", key=key), show_alert=True)


def _age(context: KopContext, hours: int) -> str:
    return context.t("ticket.age_days", n=hours // 24) if hours >= 48 else context.t("ticket.age_hours", n=hours)


@serves(STAFF)
async def open_tickets(update: Update, context: KopContext) -> None:
    """/tiket: open tickets in the officer's scope, oldest first, with their age (Balas, Tutup);
    then the tickets closed within the reopen window, each with "Buka lagi"."""
    settings = context.runtime.settings
    now = utcnow()
    rows = await repo.open_for_staff(context.session, context.identity.scope)
    closed = await repo.closed_for_staff(context.session, context.identity.scope,
                                         now - timedelta(days=settings.ticket_reopen_days))
    if not rows and not closed:
        await update.effective_message.reply_text(context.t("ticket.none_open"))
        return
    lines = [context.t("ticket.list_header", count=len(rows)) if rows else context.t("ticket.none_open")]
    buttons = []
    for ticket in rows:
        age = _age(context, int((now - ticket.waiting_since).total_seconds() // 3600))
        lines.append(f"#{ticket.id} · {age} · {html.escape(ticket.question[:80])}")
        buttons.append([InlineKeyboardButton(context.t("ticket.button_answer_id", id=ticket.id),
                                             callback_data=f"tk:r:{ticket.id}"),
                        InlineKeyboardButton(context.t("ticket.button_close"), callback_data=f"tk:x:{ticket.id}")])
    if closed:
        lines.append("\n" + context.t("ticket.list_closed_header", days=settings.ticket_reopen_days))
    for ticket in closed:
        closed_at = ticket.closed_at or now  # never None here: closed_for_staff filters on it
        when = html.escape(local_datetime(closed_at, context.lang, settings.tz))
        lines.append(f"#{ticket.id} · {when} · {html.escape(ticket.question[:80])}")
        buttons.append([InlineKeyboardButton(context.t("ticket.button_reopen_id", id=ticket.id),
                                             callback_data=f"tk:ro:{ticket.id}")])
    await update.effective_message.reply_text("\n".join(lines), parse_mode="HTML",
                                              reply_markup=InlineKeyboardMarkup(buttons))


@serves(STAFF)
async def officer_reopen(update: Update, context: KopContext) -> None:
    """Buka lagi (officer, from /tiket): reopen a ticket closed within the window; tell the manager."""
    query = update.callback_query
    ticket = await _staff_ticket(update, context)
    if ticket is None:
        return
    days = context.runtime.settings.ticket_reopen_days
    try:
        await service.reopen(context.session, officers(context), ticket, update.effective_user.id, utcnow(),
                             days, by_name=_officer_name(update))
    except service.TicketError as exc:
        await query.answer(context.t(exc.key, id=ticket.id, days=days), show_alert=True)
        return
    await query.answer(context.t("ticket.reopened_by_you", id=ticket.id))
    person = await context.session.get(Person, ticket.person_id)
    lang = (person.language if person else None) or context.runtime.settings.default_language
    try:
        await context.bot.send_message(ticket.manager_telegram_id, t(lang, "ticket.reopened_by_officer", id=ticket.id))
    except TelegramError:
        pass  # he blocked the bot: the ticket is open all the same


@serves(MANAGERS)
async def my_tickets(update: Update, context: KopContext) -> None:
    """/tiket_saya: the manager's tickets and their state; close or reopen buttons."""
    rows = await repo.of_manager(context.session, context.person.id)
    if not rows:
        await update.effective_message.reply_text(context.t("ticket.mine_none"))
        return
    now, settings = utcnow(), context.runtime.settings
    lines = [context.t("ticket.mine_header")]
    buttons = []
    for ticket in rows:
        when = local_datetime(ticket.opened_at, context.lang, settings.tz)
        lines.append(context.t("ticket.mine_line", id=ticket.id, state=context.t(f"ticket.state.{ticket.state}"),
                               when=html.escape(when), question=html.escape(ticket.question[:80])))
        if ticket.state != TicketState.CLOSED:
            buttons.append([InlineKeyboardButton(context.t("ticket.button_close_id", id=ticket.id),
                                                 callback_data=f"tk:c:{ticket.id}")])
        elif ticket.closed_at and now - ticket.closed_at <= timedelta(days=settings.ticket_reopen_days):
            buttons.append([InlineKeyboardButton(context.t("ticket.button_reopen_id", id=ticket.id),
                                                 callback_data=f"tk:o:{ticket.id}")])
    await update.effective_message.reply_text("\n\n".join(lines), parse_mode="HTML",
                                              reply_markup=InlineKeyboardMarkup(buttons) if buttons else None)


async def _own_ticket(update: Update, context: KopContext) -> Ticket | None:
    ticket = await _pressed_ticket(update, context)
    if ticket is not None and (context.person is None or ticket.person_id != context.person.id):
        await update.callback_query.answer(context.t("access.stale_button"), show_alert=True)
        return None
    return ticket


@serves(MANAGERS)
async def manager_close(update: Update, context: KopContext) -> None:
    """The manager closes his ticket."""
    ticket = await _own_ticket(update, context)
    if ticket is None:
        return
    try:
        await service.close(context.session, officers(context), ticket, update.effective_user.id,
                            service.person_name(context.person), utcnow(), by_manager=True)
    except service.TicketError as exc:
        await update.callback_query.answer(context.t(exc.key, id=ticket.id), show_alert=True)
        return
    await update.callback_query.answer()
    await context.bot.send_message(update.effective_chat.id, context.t("ticket.closed_own", id=ticket.id))


@serves(MANAGERS)
async def manager_reopen(update: Update, context: KopContext) -> None:
    """The manager reopens his closed ticket (within TICKET_REOPEN_DAYS)."""
    ticket = await _own_ticket(update, context)
    if ticket is None:
        return
    try:
        await service.reopen(context.session, officers(context), ticket, context.person.telegram_id,
                             utcnow(), context.runtime.settings.ticket_reopen_days)
    except service.TicketError as exc:
        await update.callback_query.answer(
            context.t(exc.key, id=ticket.id, days=context.runtime.settings.ticket_reopen_days), show_alert=True)
        return
    await update.callback_query.answer()
    await context.bot.send_message(update.effective_chat.id, context.t("ticket.reopened", id=ticket.id))


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install the ticket commands, buttons and the officers' chat reply handler."""
    app.add_handler(CommandHandler(commands.TICKETS.names, open_tickets))
    app.add_handler(CommandHandler(commands.MY_TICKETS.names, my_tickets))
    app.add_handler(CallbackQueryHandler(pressed_answer, pattern=r"^tk:r:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(pressed_close, pattern=r"^tk:x:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(pressed_save_faq, pattern=r"^tk:f:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(manager_close, pattern=r"^tk:c:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(manager_reopen, pattern=r"^tk:o:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(officer_reopen, pattern=r"^tk:ro:\d{1,12}$"))
    chat_id = app.runtime.settings.officers_chat_id  # type: ignore[attr-defined]
    if chat_id is not None:
        app.add_handler(MessageHandler(
            filters.Chat(chat_id) & filters.REPLY & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
            officers_chat_reply))
