"""Registration (SPEC 3): invite codes, /daftar with officer approval, Setujui/Tolak.

Every button carries its full meaning (which cooperative, which position), and every press is
checked again on the server, so a stale or forged button cannot register anyone anywhere.
"""

from __future__ import annotations

from markupsafe import Markup
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler, filters

from bot import commands
from bot.formatting import local_time
from bot.i18n import html, pick_language, shorten, t
from bot.services import registration
from bot.services.registration import Decision, Redeem
from bot.services.roles import ALL_ROLES, GUESTS, STAFF, Identity, Role
from bot.tg.command_lists import set_commands_for
from bot.tg.context import KopContext
from handlers import menu
from handlers.access import serves
from handlers.conversation import conversation
from handlers.notify import officers_chat, tell_officers
from storage.models import Cooperative, ManagerPosition
from storage.repositories import coop_browse, people, registry
from storage.types import utcnow

ASK_CODE, FIND, POSITION = "reg_code", "reg_find", "reg_position"
PAGE = 8


def position_buttons(prefix: str, coop_id: int, lang: str) -> InlineKeyboardMarkup:
    """One button per position; data `<prefix>:<coop_id>:<position>`."""
    labels = [InlineKeyboardButton(t(lang, f"position.{p.value}"), callback_data=f"{prefix}:{coop_id}:{p.value}")
              for p in ManagerPosition]
    return InlineKeyboardMarkup([labels[:2], labels[2:]])


async def coop_title(context: KopContext, coop: Cooperative) -> str:
    """'NAME (No. BH 123, Kec. X)' for messages."""
    kecamatan = await coop_browse.kecamatan_name(context.session, coop.kecamatan_id)
    return context.t("registry.coop_title", name=coop.name, number=coop.registration_number, kecamatan=kecamatan)


async def after_registration(update: Update, context: KopContext, coop: Cooperative) -> None:
    """Welcome the new manager, give him the manager's menu and ask his position."""
    context.identity = Identity(Role.MANAGER)
    chat_id = update.effective_chat.id
    await context.bot.send_message(
        chat_id,
        context.t("register.done", coop=await coop_title(context, coop)),
        reply_markup=menu.main_menu(context.application, Role.MANAGER, context.lang),
    )
    await context.bot.send_message(
        chat_id, context.t("register.ask_position"), reply_markup=position_buttons("pos", coop.id, context.lang)
    )
    await set_commands_for(context.bot, chat_id, Role.MANAGER)


async def redeem_code(update: Update, context: KopContext, text: str) -> bool:
    """Try an invite code; answer; True if the conversation is over (registered or locked)."""
    now = utcnow()
    result = await registration.redeem(
        context.session, text=text, telegram_id=update.effective_user.id,
        person_id=context.person.id, now=now,
    )
    message = update.effective_message
    if result.outcome is Redeem.REGISTERED:
        await after_registration(update, context, result.cooperative)
        return True
    if result.outcome is Redeem.LOCKED:
        until = local_time(result.locked_until, context.lang, context.runtime.settings.tz)
        await message.reply_text(context.t("register.locked", until=until))
        return True
    if result.outcome is Redeem.EXPIRED:
        await message.reply_text(context.t("register.expired"))
        return False
    await message.reply_text(context.t("register.wrong_code", left=result.attempts_left))
    return False


@serves(ALL_ROLES)
async def start_with_code(update: Update, context: KopContext) -> None:
    """/start <code> from a deep link: register with the invite (staff: pass it on instead)."""
    if context.role in STAFF:
        # An officer testing the link he is about to hand out: tell him who it is for, and
        # leave the code unused for the manager.
        await update.effective_message.reply_text(context.t("invite_link.for_staff"))
        return
    await redeem_code(update, context, context.args[0])


@serves(GUESTS)
async def start_register(update: Update, context: KopContext) -> object:
    """/daftar: ask for the invite code, or offer to ask the officers."""
    now = utcnow()
    locked = await registration.lock_state(context.session, update.effective_user.id, now)
    if locked:
        until = local_time(locked.locked_until, context.lang, context.runtime.settings.tz)
        await update.effective_message.reply_text(context.t("register.locked", until=until))
        return ConversationHandler.END
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton(context.t("register.no_code"), callback_data="reg:nocode")]])
    await update.effective_message.reply_text(context.t("register.ask_code"), reply_markup=buttons)
    return ASK_CODE


@serves(GUESTS)
async def typed_code(update: Update, context: KopContext) -> object:
    """The user typed something while asked for a code."""
    done = await redeem_code(update, context, update.effective_message.text)
    return ConversationHandler.END if done else ASK_CODE


async def _show_kecamatan(update: Update, context: KopContext, page: int) -> None:
    rows, total = await coop_browse.kecamatan_page(context.session, page, PAGE)
    buttons = [InlineKeyboardButton(k.name, callback_data=f"reg:k:{k.id}:0") for k in rows]
    keyboard = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    keyboard.append(_nav("reg:kp", page, total))
    await _show(update, context.t("register.pick_kecamatan"), InlineKeyboardMarkup([r for r in keyboard if r]))


def _nav(prefix: str, page: int, total: int) -> list[InlineKeyboardButton]:
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton("◀️", callback_data=f"{prefix}:{page - 1}"))
    if (page + 1) * PAGE < total:
        nav.append(InlineKeyboardButton("▶️", callback_data=f"{prefix}:{page + 1}"))
    return nav


async def _show(update: Update, text: str, markup: InlineKeyboardMarkup) -> None:
    if update.callback_query:
        await update.callback_query.answer()
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    else:
        await update.effective_message.reply_text(text, reply_markup=markup)


@serves(GUESTS)
async def no_code(update: Update, context: KopContext) -> object:
    """'I have no code': pick the kecamatan, or type part of the cooperative's name."""
    await _show_kecamatan(update, context, 0)
    return FIND


@serves(GUESTS)
async def kecamatan_page(update: Update, context: KopContext) -> object:
    """Another page of kecamatan."""
    page = int(update.callback_query.data.rsplit(":", 1)[1])
    await _show_kecamatan(update, context, max(page, 0))
    return FIND


@serves(GUESTS)
async def kecamatan_coops(update: Update, context: KopContext) -> object:
    """The cooperatives of one kecamatan, a page at a time."""
    _, _, kec, page_text = update.callback_query.data.split(":")
    kecamatan_id, page = int(kec), max(int(page_text), 0)
    rows, total = await coop_browse.cooperatives_page(context.session, kecamatan_id, page, PAGE)
    keyboard = [[InlineKeyboardButton(c.name[:60], callback_data=f"reg:c:{c.id}")] for c in rows]
    keyboard.append(_nav(f"reg:k:{kecamatan_id}", page, total))
    keyboard.append([InlineKeyboardButton(context.t("nav.back"), callback_data="reg:kp:0")])
    name = await coop_browse.kecamatan_name(context.session, kecamatan_id)
    text = context.t("register.pick_coop", kecamatan=name) if rows else context.t("register.none_here", kecamatan=name)
    await _show(update, text, InlineKeyboardMarkup([r for r in keyboard if r]))
    return FIND


@serves(GUESTS)
async def typed_name(update: Update, context: KopContext) -> object:
    """Part of the cooperative's name typed: the best matches as buttons."""
    query = update.effective_message.text
    matches = await registry.search_cooperatives(context.session, query, limit=PAGE)
    if not matches:
        await update.effective_message.reply_text(context.t("register.not_found", query=shorten(query)))
        return FIND
    keyboard = [[InlineKeyboardButton(m.cooperative.name[:60], callback_data=f"reg:c:{m.cooperative.id}")]
                for m in matches]
    keyboard.append([InlineKeyboardButton(context.t("register.by_kecamatan"), callback_data="reg:kp:0")])
    await update.effective_message.reply_text(context.t("register.pick_match"), reply_markup=InlineKeyboardMarkup(keyboard))
    return FIND


@serves(GUESTS)
async def pick_coop(update: Update, context: KopContext) -> object:
    """A cooperative chosen: ask the applicant's position."""
    coop = await registry.get_cooperative(context.session, int(update.callback_query.data.split(":")[2]))
    if coop is None:
        await update.callback_query.answer(context.t("access.stale_button"), show_alert=True)
        return FIND
    await update.callback_query.answer()
    await update.callback_query.edit_message_text(
        context.t("register.position_for", coop=await coop_title(context, coop)),
        reply_markup=position_buttons("reg:p", coop.id, context.lang),
    )
    return POSITION


@serves(GUESTS)
async def pick_position(update: Update, context: KopContext) -> object:
    """Position chosen: file the request and send it to the officers' chat."""
    query = update.callback_query
    _, _, coop_text, position_text = query.data.split(":")
    coop = await registry.get_cooperative(context.session, int(coop_text))
    if coop is None or position_text not in ManagerPosition._value2member_map_:
        await query.answer(context.t("access.stale_button"), show_alert=True)
        return POSITION
    await query.answer()
    if officers_chat(context) is None:
        await query.edit_message_text(context.t("register.no_officers"))
        return ConversationHandler.END
    user = update.effective_user
    request, new = await registration.request_approval(
        context.session, telegram_id=user.id, cooperative=coop, position=ManagerPosition(position_text)
    )
    title = await coop_title(context, coop)
    if not new:
        await query.edit_message_text(context.t("register.already_pending", coop=title))
        return ConversationHandler.END
    lang = context.runtime.settings.default_language
    who = user.full_name + (f" (@{user.username})" if user.username else "") + f", id {user.id}"
    await tell_officers(
        context,
        html(lang, "approval.request", who=who, coop=title, position=t(lang, f"position.{position_text}")),
        buttons=[[
            {"text": t(lang, "approval.approve"), "callback_data": f"apr:ok:{request.id}"},
            {"text": t(lang, "approval.reject"), "callback_data": f"apr:no:{request.id}"},
        ]],
    )
    await query.edit_message_text(context.t("register.requested", coop=title))
    return ConversationHandler.END


@serves(STAFF, old_messages=True)
async def decide(update: Update, context: KopContext) -> None:
    """Setujui/Tolak in the officers' chat; the applicant is told the outcome."""
    query = update.callback_query
    _, verdict, request_text = query.data.split(":")
    outcome, request, coop = await registration.decide(
        context.session, request_id=int(request_text), approve=verdict == "ok",
        officer=context.identity, officer_telegram_id=update.effective_user.id, now=utcnow(),
    )
    if outcome in (Decision.NOT_FOUND, Decision.OUT_OF_SCOPE):
        key = "access.stale_button" if outcome is Decision.NOT_FOUND else "access.out_of_scope"
        await query.answer(context.t(key), show_alert=True)
        return
    if outcome is Decision.ALREADY_DECIDED:
        await query.answer(context.t("approval.already"), show_alert=True)
        return
    await query.answer()
    approved = outcome is Decision.APPROVED
    verdict_line = context.html("approval.approved_by" if approved else "approval.rejected_by",
                                officer=update.effective_user.full_name)
    if isinstance(query.message, Message) and query.message.text:
        # text_html is the request as Telegram shows it, already markup.
        await query.edit_message_text(
            Markup("{}\n\n{}").format(Markup(query.message.text_html), verdict_line),
            parse_mode=ParseMode.HTML, reply_markup=None,
        )
    else:  # too old for Telegram to show us: say the verdict in a new message instead
        await context.bot.send_message(update.effective_chat.id, verdict_line, parse_mode=ParseMode.HTML)
    applicant = await people.get_by_telegram_id(context.session, request.telegram_id)
    lang = pick_language(applicant.language, applicant.telegram_language, context.runtime.settings.default_language)
    kecamatan = await coop_browse.kecamatan_name(context.session, coop.kecamatan_id)
    title = t(lang, "registry.coop_title", name=coop.name, number=coop.registration_number, kecamatan=kecamatan)
    try:
        if approved:
            await context.bot.send_message(
                request.telegram_id, t(lang, "register.approved", coop=title),
                reply_markup=menu.main_menu(context.application, Role.MANAGER, lang),
            )
            await set_commands_for(context.bot, request.telegram_id, Role.MANAGER)
        else:
            await context.bot.send_message(request.telegram_id, t(lang, "register.rejected", coop=title))
    except TelegramError:  # the applicant blocked the bot meanwhile; the decision stands
        pass


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /daftar, /start <code> and the approval buttons."""
    register_button = menu.MenuItem("menu.register", GUESTS, start_register)
    app.add_handler(
        conversation(
            "register",
            command=commands.REGISTER,
            button=register_button,
            states={
                ASK_CODE: [
                    CallbackQueryHandler(no_code, pattern=r"^reg:nocode$"),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, typed_code),
                ],
                FIND: [
                    CallbackQueryHandler(kecamatan_page, pattern=r"^reg:kp:\d{1,9}$"),
                    CallbackQueryHandler(kecamatan_coops, pattern=r"^reg:k:\d{1,9}:\d{1,9}$"),
                    CallbackQueryHandler(pick_coop, pattern=r"^reg:c:\d{1,9}$"),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, typed_name),
                ],
                POSITION: [
                    CallbackQueryHandler(pick_position, pattern=r"^reg:p:\d{1,9}:[a-z]+$"),
                    CallbackQueryHandler(pick_coop, pattern=r"^reg:c:\d{1,9}$"),
                    CallbackQueryHandler(kecamatan_page, pattern=r"^reg:kp:\d{1,9}$"),
                    CallbackQueryHandler(kecamatan_coops, pattern=r"^reg:k:\d{1,9}:\d{1,9}$"),
                ],
            },
        )
    )
    app.add_handler(CommandHandler("start", start_with_code, has_args=1))
    app.add_handler(CallbackQueryHandler(decide, pattern=r"^apr:(ok|no):\d{1,9}$"))
    menu.add_item(app, register_button)
