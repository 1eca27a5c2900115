"""/rapat (/meetings) and the RSVP buttons (SPEC 6).

A manager sees his upcoming meetings, each with his answer and the Hadir / Tidak hadir /
Mungkin buttons (the same `rsvp:<meeting>:<h|t|m>` buttons as the invitation). An officer sees
his upcoming meetings with the count of each answer and who has not answered, and buttons to
change the time or place (his next message is the new value, in the /rapat_baru conversation's
EDIT state; the meeting being edited is marked in its row) or to cancel it.
"""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot import commands
from bot.services import meetings
from bot.services.meetings import RsvpResult
from bot.services.parsing import ParseError
from bot.services.parsing_when import parse_when
from bot.services.roles import MANAGERS, STAFF, Role
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.menu import MenuItem, add_item
from storage.models_meetings import Meeting, MeetingState
from storage.repositories import meetings as repo
from storage.types import utcnow

EDIT = "mtg_edit"


def _markup(rows: list[list[dict[str, str]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(b["text"], callback_data=b["callback_data"]) for b in row]
                                 for row in rows])


@serves(MANAGERS | STAFF)
async def list_meetings(update: Update, context: KopContext) -> None:
    """/rapat: upcoming meetings — a manager's with his answer, an officer's with the counts."""
    message = update.effective_message
    tz, now = context.runtime.settings.tz, utcnow()
    if context.role is Role.MANAGER:
        found = await meetings.for_manager(context.session, context.person.id, now) if context.person else []
        if not found:
            await message.reply_text(context.t("meeting.list_none"))
            return
        await message.reply_text(context.t("meeting.list_header"), parse_mode=ParseMode.HTML)
        for meeting, answer in found:
            text = context.t("meeting.list_manager_line", details=meetings.details(meeting, context.lang, tz),
                             answer=context.t(f"meeting.answer_{answer}" if answer else "meeting.answer_none"))
            await message.reply_text(text, parse_mode=ParseMode.HTML,
                                     reply_markup=_markup(meetings.rsvp_buttons(meeting.id, context.lang, answer)))
        return
    summaries = await meetings.for_officer(context.session, update.effective_user.id, context.identity, now)
    if not summaries:
        await message.reply_text(context.t("meeting.list_none"))
        return
    await message.reply_text(context.t("meeting.list_header"), parse_mode=ParseMode.HTML)
    for s in summaries:
        m = s.meeting
        text = context.t("meeting.list_officer_line", id=m.id, details=meetings.details(m, context.lang, tz),
                         hadir=s.counts.get("hadir", 0), tidak=s.counts.get("tidak", 0),
                         mungkin=s.counts.get("mungkin", 0), none=s.counts.get(None, 0), invited=s.invited)
        if s.missing:
            more = "…" if s.counts.get(None, 0) > len(s.missing) else ""
            text += "\n" + context.t("meeting.list_missing", names=html.escape(", ".join(s.missing)) + more)
        keyboard = InlineKeyboardMarkup([
            [InlineKeyboardButton(context.t("meeting.edit_when_button", id=m.id), callback_data=f"mtg:ew:{m.id}"),
             InlineKeyboardButton(context.t("meeting.edit_place_button", id=m.id), callback_data=f"mtg:ep:{m.id}")],
            [InlineKeyboardButton(context.t("meeting.cancel_meeting_button", id=m.id), callback_data=f"mtg:cx:{m.id}")],
        ])
        await message.reply_text(text[:4000], parse_mode=ParseMode.HTML, reply_markup=keyboard)


@serves(MANAGERS)
async def rsvp(update: Update, context: KopContext) -> None:
    """Hadir / Tidak hadir / Mungkin pressed: stored if he is invited and the meeting is ahead."""
    query = update.callback_query
    _, meeting_id, code = query.data.split(":")
    person_id = context.person.id if context.person else None
    result, _ = await meetings.answer(context.session, int(meeting_id), person_id, code, utcnow())
    if result is RsvpResult.NOT_INVITED:
        await query.answer(context.t("meeting.not_invited"), show_alert=True)
    elif result is RsvpResult.CANCELLED:
        await query.answer(context.t("meeting.rsvp_cancelled"), show_alert=True)
    elif result is RsvpResult.STARTED:
        await query.answer(context.t("meeting.rsvp_started"), show_alert=True)
    else:
        answer = meetings.ANSWER_CODES[code].value
        await query.answer(context.t("meeting.saved", answer=context.t(f"meeting.answer_{answer}")))
        await query.edit_message_reply_markup(
            reply_markup=_markup(meetings.rsvp_buttons(int(meeting_id), context.lang, answer)))


async def _owned(update: Update, context: KopContext) -> Meeting | None:
    query = update.callback_query
    meeting = await meetings.owned(context.session, int(query.data.split(":")[2]), update.effective_user.id,
                                   context.identity)
    if meeting is None or meeting.state != MeetingState.SCHEDULED or (meeting.starts_at and meeting.starts_at <= utcnow()):
        await query.answer(context.t("meeting.not_yours"), show_alert=True)
        return None
    await query.answer()
    return meeting


@serves(STAFF)
async def start_edit(update: Update, context: KopContext) -> object:
    """'Change time' / 'Change place': his next message is the new value."""
    meeting = await _owned(update, context)
    if meeting is None:
        return None
    what = "when" if update.callback_query.data.split(":")[1] == "ew" else "place"
    meeting.editing, meeting.changed_at = what, utcnow()
    await context.bot.send_message(update.effective_chat.id,
                                   context.t(f"meeting.edit_{what}_prompt", id=meeting.id))
    return EDIT


@serves(STAFF)
async def edit_text(update: Update, context: KopContext) -> object:
    """The new time or place typed: invitees told, reminders moved."""
    message = update.effective_message
    meeting = await repo.being_edited(context.session, update.effective_user.id)
    if meeting is None:
        await message.reply_text(context.t("access.stale_button"))
        return ConversationHandler.END
    settings, now = context.runtime.settings, utcnow()
    text = (message.text or "").strip()
    changes: dict[str, object] = {}
    if meeting.editing == "when":
        try:
            changes["starts_at"] = parse_when(text, now=now, tz=settings.tz)
        except ParseError as error:
            await message.reply_text(context.t(error.key, **error.formatted_values(context.lang)))
            return EDIT
    else:
        if not 2 <= len(text) <= 500:
            await message.reply_text(context.t("meeting.place_bad"))
            return EDIT
        changes["place"] = text
    count = await meetings.change(context.session, meeting, actor=update.effective_user.id,
                                  default_lang=settings.default_language, tz=settings.tz, now=now,
                                  **changes)  # type: ignore[arg-type]
    await message.reply_text(context.t("meeting.changed_done", id=meeting.id, count=count))
    return ConversationHandler.END


@serves(STAFF)
async def ask_cancel(update: Update, context: KopContext) -> None:
    """'Cancel meeting': ask to confirm."""
    meeting = await _owned(update, context)
    if meeting is None:
        return
    keyboard = InlineKeyboardMarkup([[
        InlineKeyboardButton(context.t("meeting.confirm_cancel_yes"), callback_data=f"mtg:cxy:{meeting.id}"),
        InlineKeyboardButton(context.t("meeting.confirm_cancel_no"), callback_data=f"mtg:cxn:{meeting.id}"),
    ]])
    await context.bot.send_message(update.effective_chat.id,
                                   context.t("meeting.confirm_cancel", id=meeting.id, title=meeting.title or ""),
                                   reply_markup=keyboard)


@serves(STAFF)
async def confirm_cancel(update: Update, context: KopContext) -> None:
    """Yes: cancelled, everyone told, reminders dropped. No: nothing."""
    query = update.callback_query
    if query.data.startswith("mtg:cxn:"):
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=None)
        return
    meeting = await _owned(update, context)
    if meeting is None:
        return
    settings = context.runtime.settings
    count = await meetings.cancel(context.session, meeting, actor=update.effective_user.id,
                                  default_lang=settings.default_language, tz=settings.tz, now=utcnow())
    await query.edit_message_text(context.t("meeting.cancelled_done", id=meeting.id, count=count))


def edit_buttons() -> list[CallbackQueryHandler]:  # type: ignore[type-arg]
    """The edit buttons, entry points of the /rapat_baru conversation (they lead to EDIT)."""
    return [CallbackQueryHandler(start_edit, pattern=r"^mtg:e[wp]:\d{1,9}$")]


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /rapat, the RSVP and cancel buttons, and the main-menu button."""
    app.add_handler(CommandHandler(commands.MEETINGS.names, list_meetings))
    app.add_handler(CallbackQueryHandler(rsvp, pattern=r"^rsvp:\d{1,9}:[a-z]$"))
    app.add_handler(CallbackQueryHandler(ask_cancel, pattern=r"^mtg:cx:\d{1,9}$"))
    app.add_handler(CallbackQueryHandler(confirm_cancel, pattern=r"^mtg:cx[yn]:\d{1,9}$"))
    add_item(app, MenuItem("menu.meetings", MANAGERS | STAFF, list_meetings))
