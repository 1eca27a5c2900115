"""/siaran (/broadcast), SPEC 7: compose, choose the audience, preview, Kirim / Batal.

Officers and admins only. The draft is a database row and every button names it
(`sia:<action>:<draft id>[:<arg>]`), so the buttons work from the conversation's entry points
in any state, a stale or forged button changes nothing, and nothing typed is lost. Sending
enqueues one outbox row per recipient; the delivery engine sends them and edits the progress
message through the reporter in `handlers.broadcast_report`.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from markupsafe import Markup
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import commands
from bot.delivery.outbox import CAPTION_LIMIT, TEXT_LIMIT
from bot.formatting import local_datetime
from bot.i18n import shorten
from bot.services import broadcasts
from bot.services.roles import STAFF
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.audience_picker import AudiencePicker
from handlers.audience_picker import label as audience_label
from handlers.conversation import conversation
from storage.models_delivery import Broadcast
from storage.types import utcnow

COMPOSE, AUDIENCE, PICK = "sia_compose", "sia_audience", "sia_pick"
# Entities that are formatting the officer chose (not links or mentions Telegram detected).
_FORMATTING = {
    MessageEntity.BOLD, MessageEntity.ITALIC, MessageEntity.UNDERLINE, MessageEntity.STRIKETHROUGH,
    MessageEntity.SPOILER, MessageEntity.CODE, MessageEntity.PRE, MessageEntity.TEXT_LINK,
    MessageEntity.TEXT_MENTION, MessageEntity.BLOCKQUOTE, MessageEntity.CUSTOM_EMOJI,
    "expandable_blockquote",
}


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _as_html(raw: str | None, entities: tuple[MessageEntity, ...], formatted: str | None) -> str | None:
    """The officer's text as HTML: his Telegram formatting if he used it, else what he typed.

    Typed text without formatting is taken as HTML, so tags such as <b> work; a stray "<" is
    then refused by Telegram at the preview, with its reason.
    """
    if raw is None:
        return None
    if any(e.type in _FORMATTING for e in entities):
        return formatted
    return raw


# --- compose ---------------------------------------------------------------------------------


@serves(STAFF)
async def start(update: Update, context: KopContext) -> str:
    """/siaran: the latest broadcasts, then ask for the announcement."""
    entries = await broadcasts.history(context.session, context.identity, update.effective_user.id)
    lines = [context.html("siaran.history_header") if entries else context.html("siaran.history_none")]
    tz = context.runtime.settings.tz
    for entry in entries:
        b, p = entry.broadcast, entry.progress
        label = await _label(context, entry.audience) if entry.audience else "?"
        lines.append(context.html(
            "siaran.history_line", id=b.id, when=local_datetime(b.sent_at, context.lang, tz),
            audience=label, sent=p.sent if p else 0, total=p.total if p else b.recipients or 0,
            failed=p.failed if p else 0, blocked=p.blocked if p else 0,
        ))
    lines += [Markup(), context.html("siaran.compose")]
    await update.effective_message.reply_text(Markup("\n").join(lines), parse_mode=ParseMode.HTML)
    return COMPOSE


@serves(STAFF)
async def compose_text(update: Update, context: KopContext) -> str:
    """The announcement typed: keep it as the draft and ask for the audience."""
    message = update.effective_message
    text = _as_html(message.text, message.entities, message.text_html)
    return await _save(update, context, text, TEXT_LIMIT)


@serves(STAFF)
async def compose_media(update: Update, context: KopContext) -> str:
    """A photo or document (with its caption) as the announcement."""
    message = update.effective_message
    caption = _as_html(message.caption, message.caption_entities, message.caption_html)
    photo = message.photo[-1].file_id if message.photo else None
    document = message.document.file_id if message.document else None
    return await _save(update, context, caption, CAPTION_LIMIT, photo=photo, document=document)


async def _save(update: Update, context: KopContext, text: str | None, limit: int,
                photo: str | None = None, document: str | None = None) -> str:
    message = update.effective_message
    if text and len(text) > limit:
        await message.reply_text(context.t("input.too_long", limit=limit, length=len(text)))
        return COMPOSE
    if not (text or photo or document):
        await message.reply_text(context.html("siaran.compose"), parse_mode=ParseMode.HTML)
        return COMPOSE
    draft = await broadcasts.save_draft(
        context.session, officer_id=update.effective_user.id, chat_id=update.effective_chat.id,
        text=text, photo=photo, document=document,
    )
    await message.reply_text(context.t("siaran.audience_prompt"), reply_markup=_audience_menu(context, draft.id))
    return AUDIENCE


# --- audience --------------------------------------------------------------------------------


PICKER = AudiencePicker("sia", kecamatan="k", cancel_key="siaran.cancel_button")


def _audience_menu(context: KopContext, draft_id: int) -> InlineKeyboardMarkup:
    return PICKER.menu(context, draft_id)


DraftButton = Callable[[Update, KopContext, Broadcast], Awaitable[object]]


def _on_draft(callback: DraftButton) -> Callable[[Update, KopContext], Awaitable[object]]:
    """Give a button callback the draft its data names; a stale or foreign draft changes nothing."""

    @functools.wraps(callback)
    async def with_draft(update: Update, context: KopContext) -> object:
        query = update.callback_query
        draft = await broadcasts.draft_for(
            context.session, int(query.data.split(":")[2]), update.effective_user.id
        )
        if draft is None:
            await query.answer(context.t("access.stale_button"), show_alert=True)
            return None
        return await callback(update, context, draft)

    return with_draft


_label = audience_label


@serves(STAFF)
@_on_draft
async def back_to_audience(update: Update, context: KopContext, draft: Broadcast) -> object:
    """'Change recipients': the audience menu again."""
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(
        context.t("siaran.audience_prompt"), reply_markup=_audience_menu(context, draft.id)
    )
    return AUDIENCE


@serves(STAFF)
@_on_draft
async def kecamatan_page(update: Update, context: KopContext, draft: Broadcast) -> object:
    """A page of the kecamatan in the officer's scope."""
    keyboard = await PICKER.kecamatan_page(context, draft.id, int(update.callback_query.data.split(":")[3]))
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(context.t("siaran.pick_kecamatan"), reply_markup=keyboard)
    return AUDIENCE


@serves(STAFF)
@_on_draft
async def type_menu(update: Update, context: KopContext, draft: Broadcast) -> object:
    """The types of cooperative to choose from."""
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(context.t("siaran.pick_type"),
                                                  reply_markup=PICKER.type_menu(context, draft.id))
    return AUDIENCE


@serves(STAFF)
@_on_draft
async def choose_audience(update: Update, context: KopContext, draft: Broadcast) -> object:
    """All, a kecamatan, a status or a type chosen: show the preview."""
    audience = PICKER.choice(update.callback_query.data, context)
    if isinstance(audience, str):  # out of scope, or a forged type
        await update.callback_query.answer(context.t(audience), show_alert=True)
        return AUDIENCE
    broadcasts.choose(draft, audience)
    return await _preview(update, context, draft)


# --- chosen cooperatives ---------------------------------------------------------------------


def _pick_keyboard(context: KopContext, draft: Broadcast, shown: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    return PICKER.pick_keyboard(context, draft.id, broadcasts.chosen_ids(draft), shown)


@serves(STAFF)
@_on_draft
async def pick_cooperatives(update: Update, context: KopContext, draft: Broadcast) -> object:
    """'Choose cooperatives': ask for a name to search."""
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(
        context.t("siaran.pick_coops"), reply_markup=_pick_keyboard(context, draft, [])
    )
    return PICK


@serves(STAFF)
async def search_cooperatives(update: Update, context: KopContext) -> object:
    """A name typed while choosing cooperatives: the matches, to tick."""
    message = update.effective_message
    draft = await broadcasts.open_draft(context.session, update.effective_user.id)
    if draft is None:
        await message.reply_text(context.t("access.stale_button"))
        return ConversationHandler.END
    shown = await PICKER.search(context, message.text)
    if not shown:
        await message.reply_text(context.t("siaran.coops_none", query=shorten(message.text)))
        return PICK
    await message.reply_text(context.t("siaran.coops_found", query=shorten(message.text)),
                             reply_markup=_pick_keyboard(context, draft, shown))
    return PICK


@serves(STAFF)
@_on_draft
async def toggle_cooperative(update: Update, context: KopContext, draft: Broadcast) -> object:
    """Tick or untick one cooperative of the search results."""
    query = update.callback_query
    if not await broadcasts.toggle_cooperative(context.session, draft, int(query.data.split(":")[3]), context.identity):
        await query.answer(context.t("siaran.coops_too_many", limit=broadcasts.MAX_CHOSEN), show_alert=True)
        return PICK
    await query.answer()
    shown = PICKER.shown(query.message.reply_markup)
    await query.edit_message_reply_markup(reply_markup=_pick_keyboard(context, draft, shown))
    return PICK


@serves(STAFF)
@_on_draft
async def cooperatives_done(update: Update, context: KopContext, draft: Broadcast) -> object:
    """'Done': preview for the chosen cooperatives."""
    if not broadcasts.chosen_ids(draft):
        await update.callback_query.answer(context.t("siaran.coops_empty"), show_alert=True)
        return PICK
    return await _preview(update, context, draft)


# --- preview, send, cancel -------------------------------------------------------------------


async def _send_content(context: KopContext, chat_id: int, draft: Broadcast) -> Message:
    bot = context.bot
    if draft.photo:
        return await bot.send_photo(chat_id, draft.photo, caption=draft.text, parse_mode=ParseMode.HTML)
    if draft.document:
        return await bot.send_document(chat_id, draft.document, caption=draft.text, parse_mode=ParseMode.HTML)
    return await bot.send_message(chat_id, draft.text or "", parse_mode=ParseMode.HTML)


async def _preview(update: Update, context: KopContext, draft: Broadcast) -> object:
    """The message exactly as it will look, then the numbers and Kirim / Batal."""
    query = update.callback_query
    await query.answer()
    audience = broadcasts.audience_of(draft)
    label = await _label(context, audience)
    await query.edit_message_text(Markup("{}\n{}").format(context.html("siaran.audience_prompt"), label),
                                  parse_mode=ParseMode.HTML)
    chat_id = update.effective_chat.id
    try:
        await _send_content(context, chat_id, draft)
    except BadRequest as exc:  # Telegram refuses the formatting: say why, let him fix it
        broadcasts.refused(draft)
        await context.bot.send_message(chat_id, context.t("siaran.bad_format", reason=exc.message))
        return COMPOSE
    size = await broadcasts.size(context.session, draft, context.identity)
    change = [_button(context.t("siaran.change_audience"), f"sia:aud:{draft.id}"),
              _button(context.t("siaran.cancel_button"), f"sia:x:{draft.id}")]
    if size.recipients == 0:
        text = context.html("siaran.preview_none", audience=label, coops=size.cooperatives)
        keyboard = [change]
    else:
        text = context.html("siaran.preview", audience=label, coops=size.cooperatives,
                         reached=size.reached_cooperatives, recipients=size.recipients)
        keyboard = [[_button(context.t("siaran.send_button", recipients=size.recipients), f"sia:go:{draft.id}")],
                    change]
    await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML,
                                   reply_markup=InlineKeyboardMarkup(keyboard))
    return AUDIENCE


@serves(STAFF)
@_on_draft
async def send(update: Update, context: KopContext, draft: Broadcast) -> object:
    """Kirim: queue the broadcast; this message becomes the progress message."""
    query = update.callback_query
    if broadcasts.audience_of(draft) is None:
        await query.answer(context.t("access.stale_button"), show_alert=True)
        return AUDIENCE
    total = await broadcasts.send(context.session, draft, identity=context.identity,
                                  language=context.lang, now=utcnow())
    if total == 0:
        await query.answer(context.t("siaran.no_recipients"), show_alert=True)
        return AUDIENCE
    await query.answer()
    await query.edit_message_text(
        context.t("siaran.progress", id=draft.id, sent=0, total=total, failed=0, blocked=0)
    )
    # Committed with the outbox rows, so the reporter always finds the message to edit.
    draft.progress_message_id = query.message.message_id
    return ConversationHandler.END


@serves(STAFF)
@_on_draft
async def cancel(update: Update, context: KopContext, draft: Broadcast) -> object:
    """Batal: drop the draft."""
    broadcasts.cancel(draft)
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(context.t("siaran.cancelled"))
    return ConversationHandler.END


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /siaran and its buttons."""
    buttons = [
        *PICKER.handlers(choose=choose_audience, kecamatan_page=kecamatan_page, type_menu=type_menu,
                         pick=pick_cooperatives, toggle=toggle_cooperative, done=cooperatives_done,
                         back=back_to_audience),
        CallbackQueryHandler(send, pattern=r"^sia:go:\d{1,9}$"),
        CallbackQueryHandler(cancel, pattern=r"^sia:x:\d{1,9}$"),
    ]
    typed = MessageHandler(filters.TEXT & ~filters.COMMAND, compose_text)
    app.add_handler(
        conversation(
            "broadcast",
            # The buttons are entry points too: each names its draft, so it works in any state
            # (and after a restart), and returns the state it leads to.
            entry_points=[CommandHandler(commands.BROADCAST.names, start), *buttons],
            states={
                COMPOSE: [typed, MessageHandler(filters.PHOTO | filters.Document.ALL, compose_media)],
                AUDIENCE: [typed, MessageHandler(filters.PHOTO | filters.Document.ALL, compose_media)],
                PICK: [MessageHandler(filters.TEXT & ~filters.COMMAND, search_cooperatives)],
            },
        )
    )
