"""/rapat_baru (/newmeeting), SPEC 6: an officer calls a meeting, step by step, then Kirim / Batal.

Title, kind (buttons), date and time typed as people type them (`bot.services.parsing_when`),
place or link, description (/lewati), audience (the audience service, within his kecamatan
scope, with the same choices and labels as /siaran), reminder offsets (/lewati keeps the
default REMINDER_OFFSETS), then a preview with the exact number of invitees and the date as it
will be shown. The draft is a `meetings` row; every button names it (`mtg:<action>:<id>[:arg]`),
so buttons work in any state and after a restart, and a stale or foreign one changes nothing.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import commands
from bot.formatting import zone_name
from bot.services import meetings
from bot.services.audience import Audience
from bot.services.parsing import ParseError
from bot.services.parsing_when import parse_offsets, parse_when
from bot.services.reminders import before_text
from bot.services.roles import STAFF
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.broadcast import _label as audience_label
from handlers.conversation import conversation
from handlers.meetings_list import EDIT, edit_buttons, edit_text
from storage.models import CoopStatus
from storage.models_meetings import Meeting, MeetingKind
from storage.repositories import audience as audience_repo
from storage.types import utcnow

TITLE, KIND, WHEN, PLACE, DESCRIPTION, AUDIENCE, OFFSETS, CONFIRM = (
    "mtg_title", "mtg_kind", "mtg_when", "mtg_place", "mtg_description", "mtg_audience", "mtg_offsets", "mtg_confirm",
)
PAGE = 8


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


async def _draft(update: Update, context: KopContext) -> Meeting | None:
    from storage.repositories import meetings as repo

    return await repo.latest_draft(context.session, update.effective_user.id)


def _typed(step: Callable[[Update, KopContext, Meeting, str], Awaitable[object]]) -> Callable[[Update, KopContext], Awaitable[object]]:
    """Give a text step the officer's open draft; without one the conversation ends."""

    @functools.wraps(step)
    async def with_draft(update: Update, context: KopContext) -> object:
        draft = await _draft(update, context)
        if draft is None:
            await update.effective_message.reply_text(context.t("access.stale_button"))
            return ConversationHandler.END
        return await step(update, context, draft, (update.effective_message.text or "").strip())

    return with_draft


def _pressed(step: Callable[[Update, KopContext, Meeting], Awaitable[object]]) -> Callable[[Update, KopContext], Awaitable[object]]:
    """Give a button the draft its data names; a stale or forged one changes nothing."""

    @functools.wraps(step)
    async def with_draft(update: Update, context: KopContext) -> object:
        query = update.callback_query
        draft = await meetings.draft_for(context.session, int(query.data.split(":")[2]), update.effective_user.id)
        if draft is None:
            await query.answer(context.t("access.stale_button"), show_alert=True)
            return None
        await query.answer()
        return await step(update, context, draft)

    return with_draft


@serves(STAFF)
async def start(update: Update, context: KopContext) -> str:
    """/rapat_baru: a new draft; ask for the title."""
    await meetings.new_draft(context.session, update.effective_user.id, update.effective_chat.id,
                             context.runtime.settings.reminder_offsets)
    await update.effective_message.reply_text(context.t("meeting.ask_title"))
    return TITLE


@serves(STAFF)
@_typed
async def got_title(update: Update, context: KopContext, draft: Meeting, text: str) -> str:
    """The title; then the kind, as buttons."""
    if not 3 <= len(text) <= 200:
        await update.effective_message.reply_text(context.t("meeting.title_bad"))
        return TITLE
    draft.title = text
    keyboard = [[_button(context.t(f"meeting.kind_{k.value}"), f"mtg:k:{draft.id}:{k.value}")] for k in MeetingKind]
    await update.effective_message.reply_text(context.t("meeting.ask_kind"), reply_markup=InlineKeyboardMarkup(keyboard))
    return KIND


@serves(STAFF)
@_pressed
async def got_kind(update: Update, context: KopContext, draft: Meeting) -> str:
    """The kind; then the date and time."""
    draft.kind = MeetingKind(update.callback_query.data.split(":")[3]).value
    await update.callback_query.edit_message_text(context.t("meeting.kind_" + draft.kind))
    zone = zone_name(context.runtime.settings.tz)
    await context.bot.send_message(update.effective_chat.id, context.t("meeting.ask_when", zone=zone))
    return WHEN


async def _refuse(update: Update, context: KopContext, error: ParseError, state: str) -> str:
    await update.effective_message.reply_text(context.t(error.key, **error.formatted_values(context.lang)))
    return state


@serves(STAFF)
@_typed
async def got_when(update: Update, context: KopContext, draft: Meeting, text: str) -> str:
    """The date and time, read in WITA; a past time or an impossible date is refused with why."""
    try:
        draft.starts_at = parse_when(text, now=utcnow(), tz=context.runtime.settings.tz)
    except ParseError as error:
        return await _refuse(update, context, error, WHEN)
    await update.effective_message.reply_text(context.t("meeting.ask_place"))
    return PLACE


@serves(STAFF)
@_typed
async def got_place(update: Update, context: KopContext, draft: Meeting, text: str) -> str:
    """The place or link; then the description."""
    if not 2 <= len(text) <= 500:
        await update.effective_message.reply_text(context.t("meeting.place_bad"))
        return PLACE
    draft.place = text
    await update.effective_message.reply_text(context.t("meeting.ask_description"))
    return DESCRIPTION


@serves(STAFF)
@_typed
async def got_description(update: Update, context: KopContext, draft: Meeting, text: str) -> str:
    """The description (/lewati: none); then the audience."""
    if text.startswith("/"):
        draft.description = None
    elif len(text) > 1500:
        await update.effective_message.reply_text(context.t("meeting.description_bad"))
        return DESCRIPTION
    else:
        draft.description = text
    await update.effective_message.reply_text(context.t("meeting.ask_audience"), reply_markup=_audience_menu(context, draft.id))
    return AUDIENCE


def _audience_menu(context: KopContext, draft_id: int) -> InlineKeyboardMarkup:
    d = draft_id
    return InlineKeyboardMarkup([
        [_button(context.t("siaran.aud_all"), f"mtg:all:{d}")],
        [_button(context.t("siaran.aud_kecamatan"), f"mtg:kp:{d}:0")],
        [_button(context.t("siaran.aud_aktif"), f"mtg:s:{d}:aktif"),
         _button(context.t("siaran.aud_tidak_aktif"), f"mtg:s:{d}:tidak_aktif")],
        [_button(context.t("meeting.cancel_button"), f"mtg:x:{d}")],
    ])


@serves(STAFF)
@_pressed
async def kecamatan_page(update: Update, context: KopContext, draft: Meeting) -> str:
    """A page of the kecamatan in the officer's scope."""
    page = max(int(update.callback_query.data.split(":")[3]), 0)
    rows, total = await audience_repo.kecamatan_page(context.session, context.identity.scope_list, page, PAGE)
    buttons = [_button(k.name, f"mtg:kc:{draft.id}:{k.id}") for k in rows]
    keyboard = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    nav = []
    if page > 0:
        nav.append(_button("◀️", f"mtg:kp:{draft.id}:{page - 1}"))
    if (page + 1) * PAGE < total:
        nav.append(_button("▶️", f"mtg:kp:{draft.id}:{page + 1}"))
    keyboard += [nav, [_button(context.t("nav.back"), f"mtg:aud:{draft.id}")]]
    await update.callback_query.edit_message_text(
        context.t("siaran.pick_kecamatan"), reply_markup=InlineKeyboardMarkup([r for r in keyboard if r]))
    return AUDIENCE


@serves(STAFF)
@_pressed
async def back_to_audience(update: Update, context: KopContext, draft: Meeting) -> str:
    """'Change audience': the audience menu again."""
    await update.callback_query.edit_message_text(context.t("meeting.ask_audience"), reply_markup=_audience_menu(context, draft.id))
    return AUDIENCE


@serves(STAFF)
@_pressed
async def choose_audience(update: Update, context: KopContext, draft: Meeting) -> str:
    """All, a kecamatan (in scope) or a status chosen; then the reminder offsets."""
    parts = update.callback_query.data.split(":")
    if parts[1] == "all":
        audience = Audience.everyone()
    elif parts[1] == "kc":
        kecamatan_id = int(parts[3])
        if context.identity.scope is not None and kecamatan_id not in context.identity.scope:
            await context.bot.send_message(update.effective_chat.id, context.t("access.out_of_scope"))
            return AUDIENCE
        audience = Audience.in_kecamatan(kecamatan_id)
    else:
        audience = Audience.with_status(CoopStatus[parts[3].upper()])
    draft.audience = audience.to_json()
    label = await audience_label(context, audience)
    draft.audience_label = label[:500]
    await update.callback_query.edit_message_text(context.t("meeting.ask_audience") + "\n" + label)
    offsets = _offsets_text(draft, context.lang)
    await context.bot.send_message(update.effective_chat.id, context.t("meeting.ask_offsets", offsets=offsets))
    return OFFSETS


def _offsets_text(draft: Meeting, lang: str) -> str:
    return ", ".join(before_text(o, lang) for o in draft.offsets) or "—"


@serves(STAFF)
@_typed
async def got_offsets(update: Update, context: KopContext, draft: Meeting, text: str) -> str:
    """The reminder offsets (/lewati keeps the default); then the preview."""
    if not text.startswith("/"):
        try:
            draft.offsets = [int(o.total_seconds()) for o in parse_offsets(text)]
        except ParseError as error:
            return await _refuse(update, context, error, OFFSETS)
    return await _preview(update, context, draft)


async def _preview(update: Update, context: KopContext, draft: Meeting) -> str:
    assert draft.audience is not None
    tz = context.runtime.settings.tz
    audience = Audience.from_json(draft.audience)
    count = await meetings.invitee_count(context.session, audience, context.identity)
    label = html.escape(draft.audience_label or "")
    details = meetings.details(draft, context.lang, tz)
    change = [_button(context.t("meeting.change_audience"), f"mtg:aud:{draft.id}"),
              _button(context.t("meeting.cancel_button"), f"mtg:x:{draft.id}")]
    if count == 0:
        text = context.t("meeting.preview_none", details=details, audience=label)
        keyboard = [change]
    else:
        text = context.t("meeting.preview", details=details, audience=label, recipients=count,
                         offsets=html.escape(_offsets_text(draft, context.lang)))
        keyboard = [[_button(context.t("meeting.send_button", recipients=count), f"mtg:go:{draft.id}")], change]
    await context.bot.send_message(update.effective_chat.id, text, parse_mode=ParseMode.HTML,
                                   reply_markup=InlineKeyboardMarkup(keyboard))
    return CONFIRM


@serves(STAFF)
@_pressed
async def send(update: Update, context: KopContext, draft: Meeting) -> object:
    """Kirim: invitations through the outbox, reminders stored."""
    now = utcnow()
    if draft.audience is None or draft.starts_at is None:
        return CONFIRM
    if draft.starts_at <= now:  # the preview waited too long
        await context.bot.send_message(update.effective_chat.id, context.t("meeting.past_now"))
        return WHEN
    settings = context.runtime.settings
    count = await meetings.send(context.session, draft, identity=context.identity,
                                default_lang=settings.default_language, tz=settings.tz, now=now)
    if count == 0:
        await context.bot.send_message(update.effective_chat.id, context.t("siaran.no_recipients"))
        return AUDIENCE
    await update.callback_query.edit_message_reply_markup(reply_markup=None)
    await context.bot.send_message(update.effective_chat.id, context.t("meeting.sent", id=draft.id, recipients=count))
    return ConversationHandler.END


@serves(STAFF)
@_pressed
async def drop(update: Update, context: KopContext, draft: Meeting) -> object:
    """Batal: the draft is dropped."""
    await context.session.delete(draft)
    await update.callback_query.edit_message_text(context.t("meeting.draft_cancelled"))
    return ConversationHandler.END


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /rapat_baru and its buttons, and the edit steps started from /rapat."""
    kinds = "|".join(k.value for k in MeetingKind)
    buttons = [
        CallbackQueryHandler(got_kind, pattern=rf"^mtg:k:\d{{1,9}}:({kinds})$"),
        CallbackQueryHandler(choose_audience, pattern=r"^mtg:all:\d{1,9}$"),
        CallbackQueryHandler(kecamatan_page, pattern=r"^mtg:kp:\d{1,9}:\d{1,9}$"),
        CallbackQueryHandler(choose_audience, pattern=r"^mtg:kc:\d{1,9}:\d{1,9}$"),
        CallbackQueryHandler(choose_audience, pattern=r"^mtg:s:\d{1,9}:(aktif|tidak_aktif)$"),
        CallbackQueryHandler(back_to_audience, pattern=r"^mtg:aud:\d{1,9}$"),
        CallbackQueryHandler(send, pattern=r"^mtg:go:\d{1,9}$"),
        CallbackQueryHandler(drop, pattern=r"^mtg:x:\d{1,9}$"),
        *edit_buttons(),
    ]
    text = filters.TEXT & ~filters.COMMAND
    skip = CommandHandler(commands.SKIP.names, got_description)
    app.add_handler(conversation(
        "meetings",
        entry_points=[CommandHandler(commands.NEW_MEETING.names, start), *buttons],
        states={
            TITLE: [MessageHandler(text, got_title)],
            KIND: [],
            WHEN: [MessageHandler(text, got_when)],
            PLACE: [MessageHandler(text, got_place)],
            DESCRIPTION: [MessageHandler(text, got_description), skip],
            AUDIENCE: [],
            OFFSETS: [MessageHandler(text, got_offsets), CommandHandler(commands.SKIP.names, got_offsets)],
            CONFIRM: [],
            EDIT: [MessageHandler(text, edit_text)],
        },
    ))


