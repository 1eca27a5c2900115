"""/profil (SPEC 2): a manager's own phone number, his cooperatives, their status and his
position in each."""

from __future__ import annotations

from markupsafe import Markup
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
from bot.services.audit import audit
from bot.services.parsing import ParseError
from bot.services.parsing_messages import describe
from bot.services.phone import normalize_phone
from bot.services.roles import MANAGERS
from bot.tg.context import KopContext
from handlers import menu
from handlers.access import serves
from handlers.conversation import conversation
from handlers.registration import position_buttons
from handlers.coop_views import report_lines
from storage.models import ManagerPosition
from storage.repositories import coop_browse, registry


ASK_PHONE = "profile_phone"


@serves(MANAGERS)
async def show_profile(update: Update, context: KopContext) -> None:
    """His phone number (with a button to change it), then each cooperative he is linked to."""
    person = context.person
    name = " ".join(filter(None, [person.first_name, person.last_name]))
    await update.effective_message.reply_text(
        context.html("profile.person", name=name, phone=person.phone or "–"),
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(context.t("profile.phone_button"), callback_data="ph:edit")]]
        ),
    )
    linked = await registry.cooperatives_of(context.session, context.person.id)
    for coop, position in linked:
        kecamatan = await coop_browse.kecamatan_name(context.session, coop.kecamatan_id)
        text = Markup("\n").join([
            Markup("<b>{}</b>").format(coop.name),
            context.html("profile.number", number=coop.registration_number),
            context.html("profile.place", kecamatan=kecamatan, desa=coop.desa or "–"),
            context.html("profile.status", status=context.t(f"status.{coop.status.name.lower()}"),
                         reason=coop.status_reason or "–"),
            context.html("profile.last_rat", year=coop.last_rat_year or "–"),
            context.html("profile.position", position=context.t(f"position.{position.value}")),
            *await report_lines(context, coop.id, every_revision=False),
        ])
        await update.effective_message.reply_text(
            text, parse_mode=ParseMode.HTML, reply_markup=position_buttons("pos", coop.id, context.lang)
        )


@serves(MANAGERS)
async def set_position(update: Update, context: KopContext) -> None:
    """A position button: only for a cooperative this manager is linked to."""
    query = update.callback_query
    _, coop_text, position_text = query.data.split(":")
    linked = {coop.id for coop, _ in await registry.cooperatives_of(context.session, context.person.id)}
    if int(coop_text) not in linked or position_text not in ManagerPosition._value2member_map_:
        await audit(context.session, "access_denied", actor=update.effective_user.id,
                    subject_type="cooperative", subject_id=coop_text, reason="not_linked")
        await query.answer(context.t("access.stale_button"), show_alert=True)
        return
    position = ManagerPosition(position_text)
    await registry.link_manager(context.session, person_id=context.person.id,
                                cooperative_id=int(coop_text), position=position)
    await query.answer(context.t("profile.position_saved", position=context.t(f"position.{position.value}")))
    await query.edit_message_reply_markup(reply_markup=None)


@serves(MANAGERS)
async def ask_phone(update: Update, context: KopContext) -> str:
    """📞: ask for the new number."""
    await update.callback_query.answer()
    await context.bot.send_message(update.effective_chat.id, context.t("profile.ask_phone"))
    return ASK_PHONE


@serves(MANAGERS)
async def typed_phone(update: Update, context: KopContext) -> object:
    """The typed number: saved in international form, or why not and the question again."""
    try:
        phone = normalize_phone(update.effective_message.text)
    except ParseError as error:
        await update.effective_message.reply_text(
            describe(error, context.lang) + "\n" + context.t("profile.ask_phone")
        )
        return ASK_PHONE
    context.person.phone = phone
    await audit(context.session, "phone_changed", actor=update.effective_user.id)
    await update.effective_message.reply_text(context.t("profile.phone_saved", phone=phone))
    return ConversationHandler.END


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /profil, the phone conversation and the position buttons."""
    app.add_handler(
        conversation(
            "phone",
            entry_points=[CallbackQueryHandler(ask_phone, pattern=r"^ph:edit$")],
            states={ASK_PHONE: [MessageHandler(filters.TEXT & ~filters.COMMAND, typed_phone)]},
        )
    )
    app.add_handler(CommandHandler(commands.PROFILE.names, show_profile))
    app.add_handler(CallbackQueryHandler(set_position, pattern=r"^pos:\d{1,9}:[a-z]+$"))
    menu.add_item(app, menu.MenuItem("menu.profile", MANAGERS, show_profile))
