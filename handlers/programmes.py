"""/program: the catalogue of support programmes, browsed with buttons (SPEC 5).

Categories → the programmes of one category (paged) → a card. Every step edits the same message,
so the chat does not fill up; a card always offers "🙋 Saya tertarik" (the officers hear that
this manager's cooperative wants the programme: `bot.services.interest`), "🙋 Tanya petugas" (a
ticket about that programme) and ◀️ back. Programmes whose deadline has passed, or that an import retired, are not
offered, and a button that still points at one answers that it has closed.
"""

from __future__ import annotations

import html
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import commands
from bot.formatting import local_datetime
from bot.services import interest
from bot.services.roles import ALL_ROLES, MANAGERS, STAFF
from bot.tg.context import KopContext
from handlers import menu
from handlers.access import serves
from handlers.notify import tell_officers
from storage.models_support import Category, Programme
from storage.repositories import catalogue as repo
from storage.types import utcnow

PAGE_SIZE = 6


def ask_button(context: KopContext, programme_id: int) -> InlineKeyboardButton:
    """"🙋 Tanya petugas" about one programme (handled by handlers.tickets)."""
    return InlineKeyboardButton(context.t("ask.button_officer"), callback_data=f"tk:ask:p:{programme_id}")


async def _categories(context: KopContext) -> tuple[str, InlineKeyboardMarkup]:
    programmes = await repo.active_programmes(context.session, utcnow())
    counts = {c: sum(1 for p in programmes if p.category == c.value) for c in Category}
    rows = [
        [InlineKeyboardButton(f"{context.t('prog.cat.' + c.value)} ({counts[c]})",
                              callback_data=f"pg:c:{c.value}:0")]
        for c in Category if counts[c]
    ]
    text = context.t("prog.categories") if rows else context.t("prog.empty")
    return text, InlineKeyboardMarkup(rows)


def _in_category(programmes: list[Programme], category: str) -> list[Programme]:
    return [p for p in programmes if p.category == category]


def card(context: KopContext, p: Programme) -> str:
    """The programme's card in HTML (every value escaped)."""
    tz = context.runtime.settings.tz
    parts = [f"<b>{html.escape(p.title)}</b>", html.escape(p.summary)]
    for key, value in (("eligibility", p.eligibility), ("how_to_apply", p.how_to_apply)):
        if value:
            parts.append(f"<b>{context.t('prog.field.' + key)}</b>\n{html.escape(value)}")
    if p.documents:
        docs = "\n".join(f"• {html.escape(d)}" for d in p.documents)
        parts.append(f"<b>{context.t('prog.field.documents')}</b>\n{docs}")
    if p.contact:
        parts.append(f"<b>{context.t('prog.field.contact')}</b>\n{html.escape(p.contact)}")
    if p.deadline:
        when = local_datetime(p.deadline, context.lang, tz)
        parts.append(f"<b>{context.t('prog.field.deadline')}</b>\n{html.escape(when)}")
    return "\n\n".join(parts)


@serves(ALL_ROLES)
async def show_categories(update: Update, context: KopContext) -> None:
    """/program: the categories that have open programmes."""
    text, markup = await _categories(context)
    query = update.callback_query
    if query:
        await query.answer()
        await query.edit_message_text(text, reply_markup=markup)
    else:
        await update.effective_message.reply_text(text, reply_markup=markup)


@serves(ALL_ROLES)
async def show_category(update: Update, context: KopContext) -> None:
    """A category's programmes, one button each, PAGE_SIZE a page."""
    query = update.callback_query
    _, _, category, page_text = query.data.split(":")
    programmes = _in_category(await repo.active_programmes(context.session, utcnow()), category)
    page = int(page_text)
    pages = max(1, -(-len(programmes) // PAGE_SIZE))
    if category not in {c.value for c in Category} or page >= pages:
        await query.answer(context.t("access.stale_button"), show_alert=True)
        return
    await query.answer()
    shown = programmes[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
    rows = [[InlineKeyboardButton(p.title[:60], callback_data=f"pg:p:{p.id}")] for p in shown]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("⬅️", callback_data=f"pg:c:{category}:{page - 1}"))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton("➡️", callback_data=f"pg:c:{category}:{page + 1}"))
    rows += [nav] if nav else []
    rows.append([InlineKeyboardButton(context.t("nav.back"), callback_data="pg:home")])
    title = context.t("prog.cat." + category)
    text = context.t("prog.list", category=title, page=page + 1, pages=pages) if programmes \
        else context.t("prog.category_empty", category=title)
    await query.edit_message_text(text, reply_markup=InlineKeyboardMarkup(rows))


def _offered(programme: Programme | None, now: datetime) -> bool:
    """Open for answers: imported, active, and its deadline (if any) not past."""
    if programme is None or not programme.active:
        return False
    return programme.deadline is None or programme.deadline >= now


@serves(ALL_ROLES)
async def show_programme(update: Update, context: KopContext) -> None:
    """A programme's card: summary, eligibility, how to apply, documents, contact, deadline."""
    query = update.callback_query
    programme = await repo.programme(context.session, int(query.data.rsplit(":", 1)[1]))
    now = utcnow()
    if programme is None or not _offered(programme, now):
        await query.answer(context.t("prog.closed"), show_alert=True)
        return
    await query.answer()
    markup = InlineKeyboardMarkup([
        [InlineKeyboardButton(context.t("interest.button"), callback_data=f"pg:i:{programme.id}")],
        [ask_button(context, programme.id)],
        [InlineKeyboardButton(context.t("nav.back"), callback_data=f"pg:c:{programme.category}:0")],
    ])
    await query.edit_message_text(card(context, programme), parse_mode="HTML", reply_markup=markup)


@serves(ALL_ROLES)
async def interested(update: Update, context: KopContext) -> None:
    """🙋 Saya tertarik: record a manager's interest once and tell the officers; guests: /daftar."""
    query = update.callback_query
    programme = await repo.programme(context.session, int(query.data.rsplit(":", 1)[1]))
    if programme is None or not _offered(programme, utcnow()):
        await query.answer(context.t("prog.closed"), show_alert=True)
        return
    if context.role not in MANAGERS or context.person is None:
        key = "interest.guest" if context.role not in STAFF else "interest.staff"
        await query.answer(context.t(key), show_alert=True)
        return
    notice = await interest.record(context.session, context.person, programme,
                                   context.runtime.settings.default_language)
    if notice is None:
        await query.answer(context.t("interest.already"), show_alert=True)
        return
    await tell_officers(context, notice)
    await query.answer()
    await context.bot.send_message(update.effective_chat.id,
                                   context.html("interest.recorded", programme=programme.title),
                                   parse_mode=ParseMode.HTML)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /program, its buttons and the main-menu item."""
    app.add_handler(CommandHandler(commands.PROGRAMS.names, show_categories))
    app.add_handler(CallbackQueryHandler(show_categories, pattern=r"^pg:home$"))
    app.add_handler(CallbackQueryHandler(show_category, pattern=r"^pg:c:[a-z]{2,16}:\d{1,3}$"))
    app.add_handler(CallbackQueryHandler(show_programme, pattern=r"^pg:p:\d{1,9}$"))
    app.add_handler(CallbackQueryHandler(interested, pattern=r"^pg:i:\d{1,9}$"))
    menu.add_item(app, menu.MenuItem("menu.programs", ALL_ROLES, show_categories))
