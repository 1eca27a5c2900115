"""/rapat_baru (/newmeeting), SPEC 6: an officer calls a meeting, step by step, then Kirim / Batal.

Title, kind (buttons), date and time typed as people type them (`bot.services.parsing_when`),
place or link, description (/lewati), audience (`handlers.audience_picker`, shared with
/siaran: all, a kecamatan, a status, a type, or cooperatives searched by name or number and
ticked — within his kecamatan scope), reminder offsets (/lewati keeps the
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
from bot.services import audience as audiences
from bot.services import meetings
from bot.services.audience import Audience
from bot.services.parsing import ParseError
from bot.services.parsing_when import parse_offsets, parse_when
from bot.services.reminders import before_text
from bot.services.roles import STAFF
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.audience_picker import AudiencePicker
from handlers.audience_picker import label as audience_label
from handlers.conversation import conversation
from handlers.meetings_list import EDIT, edit_buttons, edit_text
from storage.models_meetings import Meeting, MeetingKind
from storage.types import utcnow

TITLE, KIND, WHEN, PLACE, DESCRIPTION, AUDIENCE, PICK, OFFSETS, CONFIRM = (
    "mtg_title", "mtg_kind", "mtg_when", "mtg_place", "mtg_description", "mtg_audience", "mtg_pick",
    "mtg_offsets", "mtg_confirm",
)


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


PICKER = AudiencePicker("mtg", kecamatan="kc", cancel_key="meeting.cancel_button")


def _audience_menu(context: KopContext, draft_id: int) -> InlineKeyboardMarkup:
    return PICKER.menu(context, draft_id)


@serves(STAFF)
@_pressed
async def kecamatan_page(update: Update, context: KopContext, draft: Meeting) -> str:
    """A page of the kecamatan in the officer's scope."""
    keyboard = await PICKER.kecamatan_page(context, draft.id, int(update.callback_query.data.split(":")[3]))
    await update.callback_query.edit_message_text(context.t("siaran.pick_kecamatan"), reply_markup=keyboard)
    return AUDIENCE


@serves(STAFF)
@_pressed
async def type_menu(update: Update, context: KopContext, draft: Meeting) -> str:
    """The types of cooperative to choose from."""
    await update.callback_query.edit_message_text(context.t("siaran.pick_type"),
                                                  reply_markup=PICKER.type_menu(context, draft.id))
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
    """All, a kecamatan (in scope), a status or a type chosen; then the reminder offsets."""
    audience = PICKER.choice(update.callback_query.data, context)
    if isinstance(audience, str):  # out of scope, or a forged type
        await context.bot.send_message(update.effective_chat.id, context.t(audience))
        return AUDIENCE
    return await _audience_chosen(update, context, draft, audience)


async def _audience_chosen(update: Update, context: KopContext, draft: Meeting, audience: Audience) -> str:
    draft.audience = audience.to_json()
    label = await audience_label(context, audience)
    draft.audience_label = label[:500]
    await update.callback_query.edit_message_text(context.t("meeting.ask_audience") + "\n" + label)
    offsets = _offsets_text(draft, context.lang)
    await context.bot.send_message(update.effective_chat.id, context.t("meeting.ask_offsets", offsets=offsets))
    return OFFSETS


# --- chosen cooperatives: searched by name or number, ticked, Selesai --------------------------


def _pick_keyboard(context: KopContext, draft: Meeting, shown: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    return PICKER.pick_keyboard(context, draft.id, audiences.chosen_ids(draft.audience), shown)


@serves(STAFF)
@_pressed
async def pick_cooperatives(update: Update, context: KopContext, draft: Meeting) -> str:
    """'Choose cooperatives': ask for a name or number to search."""
    await update.callback_query.edit_message_text(context.t("siaran.pick_coops"),
                                                  reply_markup=_pick_keyboard(context, draft, []))
    return PICK


@serves(STAFF)
@_typed
async def search_cooperatives(update: Update, context: KopContext, draft: Meeting, text: str) -> str:
    """A name or number typed while choosing: the matches in his scope, to tick."""
    shown = await PICKER.search(context, text)
    if not shown:
        await update.effective_message.reply_text(context.t("siaran.coops_none", query=text))
        return PICK
    await update.effective_message.reply_text(context.t("siaran.coops_found", query=text),
                                              reply_markup=_pick_keyboard(context, draft, shown))
    return PICK


@serves(STAFF)
@_pressed
async def toggle_cooperative(update: Update, context: KopContext, draft: Meeting) -> str:
    """Tick or untick one cooperative of the results (unknown, out of scope, one too many: no)."""
    query = update.callback_query
    audience = await audiences.toggle_chosen(context.session, draft.audience, int(query.data.split(":")[3]),
                                             context.identity)
    if audience is None:
        await context.bot.send_message(update.effective_chat.id,
                                       context.t("siaran.coops_too_many", limit=audiences.MAX_CHOSEN))
        return PICK
    draft.audience = audience.to_json()
    await query.edit_message_reply_markup(reply_markup=_pick_keyboard(context, draft, PICKER.shown(query.message.reply_markup)))
    return PICK


@serves(STAFF)
@_pressed
async def cooperatives_done(update: Update, context: KopContext, draft: Meeting) -> str:
    """Selesai: the chosen cooperatives are the audience; then the reminder offsets."""
    chosen = audiences.chosen_ids(draft.audience)
    if not chosen:
        await context.bot.send_message(update.effective_chat.id, context.t("siaran.coops_empty"))
        return PICK
    return await _audience_chosen(update, context, draft, Audience.chosen(*chosen))


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
        *PICKER.handlers(choose=choose_audience, kecamatan_page=kecamatan_page, type_menu=type_menu,
                         pick=pick_cooperatives, toggle=toggle_cooperative, done=cooperatives_done,
                         back=back_to_audience),
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
            PICK: [MessageHandler(text, search_cooperatives)],
            OFFSETS: [MessageHandler(text, got_offsets), CommandHandler(commands.SKIP.names, got_offsets)],
            CONFIRM: [],
            EDIT: [MessageHandler(text, edit_text)],
        },
    ))


