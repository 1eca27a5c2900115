"""A manager asks: /tanya, free text that looks like a question, "Tanya petugas" (SPEC 5).

The matching itself is `bot.services.matching` (pure); this module keeps one index per
application, rebuilt (off the event loop) when the catalogue's version changes, and shows at
most three answers, each with "✅ Terjawab" and "🙋 Tanya petugas". Asked questions are stored
(`questions`), so "Tanya petugas" opens the ticket with the question the manager typed — button
data carry only the question's id, checked against the presser.

`take_free_text` is what `handlers.fallback` asks first for text (and files) outside any
conversation: an officer's answer after Balas, a reply to a ticket, the manager's next message
on a ticket that waits for him, a question typed after "Tanya petugas", or a new question.

While his ticket still waits for an officer's first answer, what the manager types is more of
the same question (a detail, a photo of the document): within ADD_ON_HOURS of his last message
on that ticket (or of its opening) it is added to the ticket, in its thread in the officers'
chat, and he is told so. The rule is time only, on purpose: nothing in the text tells reliably
whether it is a new subject, and a wrong guess would split one case across two tickets. Later
than that, text is a new question again; /tanya always asks a new one, and the confirmation
says so.
"""

from __future__ import annotations

import asyncio
import html
import re
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import commands
from bot.services import tickets as service
from bot.services.matching import Match, MatchIndex, faq_entry, programme_entry
from bot.services.roles import MANAGERS, STAFF
from bot.tg.context import KopContext
from handlers import menu, programmes
from handlers.access import serves
from storage.models_support import Ticket
from storage.repositories import catalogue as catalogue_repo
from storage.repositories import tickets as repo
from storage.types import utcnow

QUESTION_LIMIT = 1000  # characters of a question to match (a ticket message may be longer)
MESSAGE_LIMIT = service.QUESTION_LIMIT
DRAFT_HOURS = 24  # "Tanya petugas" pressed: the next message within this is the question
FOLLOW_UP_HOURS = 24  # after an answer, the manager's next message within this continues it
ADD_ON_HOURS = 6  # while his ticket waits for an officer, a message within this of his last is added
_QUESTION_WORDS = frozenset(
    ["apa", "apakah", "bagaimana", "gimana", "gmn", "bgmn", "kapan", "kpn", "berapa", "brp", "dimana", "di", "mana", "siapa", "kenapa", "knp", "mengapa", "bisakah", "bolehkah", "adakah", "haruskah", "mohon", "tolong", "cara", "syarat", "how", "what", "when", "where", "who", "why", "which", "can", "could", "is", "are", "do", "does", "should", "may"]
)
_INDEX_KEY = "_match_index"


def officers(context: KopContext) -> service.Officers:
    """The officers' chat (or the first admin's private chat) and its language."""
    from handlers.notify import officers_chat

    return service.Officers(officers_chat(context), context.runtime.settings.default_language)


def looks_like_question(text: str) -> bool:
    """A question mark, a question word first, or three words or more ("ok", "makasih" are not)."""
    words = re.findall(r"\w+", text.lower())
    return "?" in text or (bool(words) and words[0] in _QUESTION_WORDS) or len(words) >= 3


async def current_index(context: KopContext) -> MatchIndex:
    """The matching index of the catalogue as it is now (rebuilt when an import changed it)."""
    version = await catalogue_repo.version(context.session)
    cached = context.application.bot_data.get(_INDEX_KEY)
    if cached is not None and cached[0] == version:
        return cached[1]  # type: ignore[no-any-return]
    programmes_now = await catalogue_repo.active_programmes(context.session, utcnow())
    faq = await catalogue_repo.active_faq(context.session)
    entries = [programme_entry(p) for p in programmes_now] + [faq_entry(f) for f in faq]
    index = await asyncio.to_thread(MatchIndex, entries)
    context.application.bot_data[_INDEX_KEY] = (version, index)
    return index


def _answer_buttons(context: KopContext, question_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        InlineKeyboardButton(context.t("ask.button_resolved"), callback_data=f"tk:ok:{question_id}"),
        InlineKeyboardButton(context.t("ask.button_officer"), callback_data=f"tk:q:{question_id}"),
    ]])


async def _answer_text(context: KopContext, match: Match) -> str | None:
    if match.entry.kind == "faq":
        entry = await catalogue_repo.faq(context.session, match.entry.id)
        if entry is None:
            return None
        return f"<b>{html.escape(entry.question)}</b>\n\n{html.escape(entry.answer)}"
    programme = await catalogue_repo.programme(context.session, match.entry.id)
    if programme is None or not programme.active or (programme.deadline and programme.deadline < utcnow()):
        return None  # retired, or its deadline passed since the index was built
    return programmes.card(context, programme)


async def answer_question(update: Update, context: KopContext, text: str) -> None:
    """Match a question and show the answers (or say none fits and offer the ticket)."""
    message = update.effective_message
    if len(text) > QUESTION_LIMIT:
        await message.reply_text(context.t("input.too_long", limit=QUESTION_LIMIT, length=len(text)))
        return
    matches = (await current_index(context)).search(text)
    question = await repo.add_question(
        context.session, person_id=context.person.id, text=text,
        answers=[f"{m.entry.kind}:{m.entry.key}" for m in matches], asked_at=utcnow(),
    )
    if not matches:
        await message.reply_text(
            context.t("ask.none"),
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton(
                context.t("ask.button_officer"), callback_data=f"tk:q:{question.id}")]]),
        )
        return
    await message.reply_text(context.t("ask.found", count=len(matches)))
    for match in matches:
        body = await _answer_text(context, match)
        if body:
            await message.reply_text(body, parse_mode="HTML",
                                     reply_markup=_answer_buttons(context, question.id))


@serves(MANAGERS)
async def ask(update: Update, context: KopContext) -> None:
    """/tanya [teks]: answer from the catalogue; without text, say how to ask."""
    text = " ".join(context.args or []).strip()
    if not text:
        await update.effective_message.reply_text(context.t("ask.empty"))
        return
    await answer_question(update, context, text)


@serves(MANAGERS)
async def ask_officer(update: Update, context: KopContext) -> None:
    """"❓ Tanya Petugas" or "🙋 Tanya petugas" on a programme: the next message is the question."""
    topic = None
    query = update.callback_query
    if query is not None:
        programme = await catalogue_repo.programme(context.session, int(query.data.rsplit(":", 1)[1]))
        if programme is None:
            await query.answer(context.t("access.stale_button"), show_alert=True)
            return
        topic = programme.title
        await query.answer()
    await service.start_draft(context.session, context.person, topic, utcnow())
    key = "ask.type_question_topic" if topic else "ask.type_question"
    await context.bot.send_message(update.effective_chat.id, context.t(key, topic=topic or ""))


async def _own_question(update: Update, context: KopContext) -> Any:
    query = update.callback_query
    question = await repo.question(context.session, int(query.data.rsplit(":", 1)[1]))
    if question is None or context.person is None or question.person_id != context.person.id:
        await query.answer(context.t("access.stale_button"), show_alert=True)
        return None
    return question


@serves(MANAGERS)
async def resolved(update: Update, context: KopContext) -> None:
    """✅ Terjawab: the answer helped."""
    question = await _own_question(update, context)
    if question is None:
        return
    question.resolved = True
    await update.callback_query.answer(context.t("ask.thanks"))
    await update.callback_query.edit_message_reply_markup(reply_markup=None)


@serves(MANAGERS)
async def escalate_question(update: Update, context: KopContext) -> None:
    """🙋 Tanya petugas under an answer (or under "no answer"): a ticket with his question."""
    query = update.callback_query
    question = await _own_question(update, context)
    if question is None:
        return
    if question.ticket_id is not None:
        await query.answer(context.t("ticket.already_open", id=question.ticket_id), show_alert=True)
        return
    ticket = await service.open_ticket(context.session, officers(context), context.person,
                                       question.text, utcnow())
    question.ticket_id = ticket.id
    await query.answer()
    await context.bot.send_message(update.effective_chat.id, context.t("ticket.opened", id=ticket.id))


async def drop_pending(context: KopContext) -> bool:
    """/batal outside a conversation: forget a question being typed, or an answer after Balas."""
    if context.person is None:
        return False
    had = await repo.draft_of(context.session, context.person.id, utcnow() - timedelta(hours=DRAFT_HOURS))
    await repo.discard_drafts(context.session, context.person.id)
    if context.role in STAFF and await repo.wait_of(context.session, context.person.telegram_id):
        await repo.clear_wait(context.session, context.person.telegram_id)
        return True
    return had is not None


def _kind(message: Message) -> str | None:
    if message.photo:
        return "photo"
    if message.document:
        return "document"
    if message.text:
        return "text"
    return None


async def _still_waiting(context: KopContext, now: datetime) -> Ticket | None:
    """His unanswered open ticket, if he wrote on it (or opened it) within ADD_ON_HOURS."""
    ticket = await repo.open_awaiting_officer(context.session, context.person.id)
    if ticket is None:
        return None
    last = await repo.last_manager_activity(context.session, ticket)
    return ticket if now - last <= timedelta(hours=ADD_ON_HOURS) else None


async def take_free_text(update: Update, context: KopContext) -> bool:
    """Handle text or a file outside a conversation if it belongs to a ticket or is a question."""
    message = update.effective_message
    if context.person is None or message is None or update.effective_chat.type != "private":
        return False
    if context.role in STAFF:
        from handlers.tickets import staff_message

        return await staff_message(update, context)
    if context.role not in MANAGERS:
        return False
    kind = _kind(message)
    if kind is None:
        return False
    text = message.text or message.caption
    if text and len(text) > MESSAGE_LIMIT:
        await message.reply_text(context.t("input.too_long", limit=MESSAGE_LIMIT, length=len(text)))
        return True
    now = utcnow()
    source = (message.chat_id, message.message_id)
    ticket = None
    if message.reply_to_message is not None:
        ticket = await repo.by_manager_message(context.session, context.person.telegram_id,
                                               message.reply_to_message.message_id)
    if ticket is None:
        draft = await repo.draft_of(context.session, context.person.id, now - timedelta(hours=DRAFT_HOURS))
        if draft is not None:
            ticket = await service.open_ticket(context.session, officers(context), context.person,
                                               text or "", now, draft=draft, source=source, kind=kind)
            await message.reply_text(context.t("ticket.opened", id=ticket.id))
            return True
        ticket = await repo.waiting_for_manager(context.session, context.person.id,
                                                now - timedelta(hours=FOLLOW_UP_HOURS))
    added = False
    if ticket is None:
        ticket = await _still_waiting(context, now)
        added = ticket is not None
    if ticket is not None:
        try:
            await service.manager_wrote(context.session, officers(context), ticket, context.person,
                                        text, source, kind, now)
        except service.TicketError as exc:
            await message.reply_text(context.t(exc.key, id=ticket.id))
            return True
        await message.reply_text(context.t("ticket.added_to_open" if added else "ticket.sent_more", id=ticket.id))
        return True
    if kind == "text" and text and looks_like_question(text):
        await answer_question(update, context, text.strip())
        return True
    return False


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /tanya, the answer buttons and the "Tanya Petugas" menu item."""
    app.add_handler(CommandHandler(commands.ASK.names, ask))
    app.add_handler(CallbackQueryHandler(resolved, pattern=r"^tk:ok:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(escalate_question, pattern=r"^tk:q:\d{1,12}$"))
    app.add_handler(CallbackQueryHandler(ask_officer, pattern=r"^tk:ask:p:\d{1,9}$"))
    menu.add_item(app, menu.MenuItem("menu.ask", MANAGERS, ask_officer))
