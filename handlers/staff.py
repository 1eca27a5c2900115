"""Officers' tools (SPEC 2, 3): /undang, /koperasi and, for admins, /petugas.

A scoped officer searches only his kecamatan, and every button naming a cooperative is checked
against his scope again when pressed. /undang takes one name or registration number, or a list
of registration numbers (spaces, commas or new lines between them): a list gets one reply with
an invite per cooperative and a line for each number not found or outside the officer's scope.
"""

from __future__ import annotations

import html

from markupsafe import Markup
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import commands
from bot.formatting import local_datetime
from bot.i18n import shorten
from bot.services import bulk_invites, registration
from bot.services.audit import audit
from bot.services.roles import ADMINS, STAFF, Role
from bot.tg.command_lists import set_commands_for
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.coop_views import report_lines
from handlers.output import send_long
from storage.models import Cooperative, CoopStatus, OfficerRole, StatusSource
from storage.repositories import coop_browse, registry
from storage.types import utcnow

MAX_MATCHES = 8


async def _find(update: Update, context: KopContext, usage_key: str, prefix: str) -> Cooperative | None:
    """The one cooperative the arguments name; else offer the matches as buttons."""
    query = " ".join(context.args or [])
    if not query:
        await update.effective_message.reply_text(context.t(usage_key))
        return None
    matches = await registry.search_cooperatives(
        context.session, query, kecamatan_ids=context.identity.scope_list, limit=MAX_MATCHES
    )
    if not matches:
        await update.effective_message.reply_text(context.t("registry.no_match", query=shorten(query)))
        return None
    if len(matches) == 1 or matches[0].score == 100:
        return matches[0].cooperative
    keyboard = [[InlineKeyboardButton(m.cooperative.name[:60], callback_data=f"{prefix}:{m.cooperative.id}")]
                for m in matches]
    await update.effective_message.reply_text(
        context.t("registry.choose", count=len(matches)), reply_markup=InlineKeyboardMarkup(keyboard)
    )
    return None


async def _pressed(update: Update, context: KopContext) -> Cooperative | None:
    """The cooperative a button names, if it exists and is in the officer's scope."""
    query = update.callback_query
    coop = await registry.get_cooperative(context.session, int(query.data.split(":")[1]))
    if coop is None or not context.identity.sees(coop.kecamatan_id):
        await audit(context.session, "access_denied", actor=update.effective_user.id,
                    subject_type="cooperative", subject_id=query.data, reason="out_of_scope")
        await query.answer(context.t("access.out_of_scope"), show_alert=True)
        return None
    await query.answer()
    return coop


async def _send_invite(update: Update, context: KopContext, coop: Cooperative) -> None:
    invite = await registration.create_invite(
        context.session, cooperative=coop, officer_telegram_id=update.effective_user.id, now=utcnow()
    )
    link = bulk_invites.deep_link(context.bot.username, invite.code)
    expires = local_datetime(invite.expires_at, context.lang, context.runtime.settings.tz)
    kecamatan = await coop_browse.kecamatan_name(context.session, coop.kecamatan_id)
    await context.bot.send_message(
        update.effective_chat.id,
        context.t("invite.created", coop=html.escape(coop.name), number=html.escape(coop.registration_number),
                  kecamatan=html.escape(kecamatan), code=invite.code, link=link, expires=expires),
        parse_mode=ParseMode.HTML,
    )


@serves(STAFF)
async def invite(update: Update, context: KopContext) -> None:
    """/undang <number or name>, or several numbers: single-use invite codes and deep links."""
    numbers = bulk_invites.split_numbers(" ".join(context.args or []))
    if len(numbers) > 1:
        results = await bulk_invites.invite_numbers(
            context.session, numbers, officer=context.identity,
            officer_telegram_id=update.effective_user.id, now=utcnow(),
        )
        if results is not None:  # else no item is a registration number: a name, searched below
            await _send_invites(update, context, results, dropped=len(numbers) - len(results))
            return
    coop = await _find(update, context, "invite.usage", "inv")
    if coop is not None:
        await _send_invite(update, context, coop)


async def _send_invites(
    update: Update, context: KopContext, results: list[bulk_invites.NumberResult], dropped: int
) -> None:
    """One reply for a list: a line per cooperative invited, not found or out of scope."""
    invited = [r for r in results if r.outcome is bulk_invites.Outcome.INVITED]
    if invited:
        expires = local_datetime(invited[0].invite.expires_at, context.lang, context.runtime.settings.tz)
        lines = [context.t("invite_many.header", count=len(invited), expires=expires)]
    else:
        lines = [context.t("invite_many.none")]
    for result in results:
        number = html.escape(shorten(result.number, 40))
        if result.outcome is bulk_invites.Outcome.INVITED:
            coop, code = result.cooperative, result.invite.code
            lines.append(context.t(
                "invite_many.item", coop=html.escape(coop.name), number=html.escape(coop.registration_number),
                kecamatan=html.escape(result.kecamatan), code=code,
                link=bulk_invites.deep_link(context.bot.username, code),
            ))
        else:
            lines.append(context.t(f"invite_many.{result.outcome.value}", number=number))
    if dropped:
        lines.append(context.t("invite_many.too_many", max=bulk_invites.MAX_NUMBERS, dropped=dropped))
    if invited:
        lines.append(context.t("invite_many.footer"))
    await send_long(context.bot, update.effective_chat.id, "\n".join(lines), parse_mode=ParseMode.HTML)


@serves(STAFF, old_messages=True)
async def invite_pressed(update: Update, context: KopContext) -> None:
    """A cooperative picked from /undang's matches."""
    coop = await _pressed(update, context)
    if coop is not None:
        await _send_invite(update, context, coop)


async def coop_profile(context: KopContext, coop: Cooperative) -> Markup:
    """The officer's view of a cooperative (HTML): registry fields, status, managers."""
    kecamatan = await coop_browse.kecamatan_name(context.session, coop.kecamatan_id)
    managers = await registry.managers_of(context.session, coop.id)
    lines = [
        Markup("<b>{}</b>").format(coop.name),
        context.html("profile.number", number=coop.registration_number),
        context.html("profile.nik", nik=coop.nik or "–"),
        context.html("profile.kind", form=coop.form, type=coop.type, sector=coop.sector or "–"),
        context.html("profile.place", kecamatan=kecamatan, desa=coop.desa or "–"),
        context.html("profile.status", status=context.t(f"status.{coop.status.name.lower()}"),
                     reason=coop.status_reason or "–"),
        context.html("profile.last_rat", year=coop.last_rat_year or "–"),
    ]
    if coop.synthetic:
        lines.append(context.html("profile.synthetic"))
    lines.append(context.html("profile.managers", count=len(managers)))
    for person, position in managers:
        name = " ".join(filter(None, [person.first_name, person.last_name]))
        lines.append(Markup("• {} — {}").format(name, context.t(f"position.{position.value}")))
    lines += await report_lines(context, coop.id, every_revision=True)
    lines.append(context.html("status_cmd.hint", number=coop.registration_number))
    return Markup("\n").join(lines)


_STATUS_WORDS = {s.value.replace(" ", "_"): s for s in CoopStatus} | {s.value: s for s in CoopStatus}


@serves(STAFF)
async def set_status(update: Update, context: KopContext) -> None:
    """/status <registration number> <aktif|tidak_aktif|dibubarkan> <reason>: set it by hand."""
    args = context.args or []
    status = _STATUS_WORDS.get(args[1].lower()) if len(args) >= 3 else None
    if status is None:
        await update.effective_message.reply_text(context.html("status_cmd.usage"), parse_mode=ParseMode.HTML)
        return
    coop = await registry.get_by_registration_number(
        context.session, args[0], kecamatan_ids=context.identity.scope_list
    )
    if coop is None:
        await update.effective_message.reply_text(context.t("registry.no_match", query=shorten(args[0])))
        return
    reason = " ".join(args[2:])[:500]
    coop.status, coop.status_reason = status, reason
    coop.status_source, coop.status_set_at = StatusSource.OFFICER, utcnow()
    await audit(context.session, "status_set", actor=update.effective_user.id, subject_type="cooperative",
                subject_id=coop.id, status=str(status), reason=reason)
    await update.effective_message.reply_text(context.t(
        "status_cmd.done", coop=coop.name, status=context.t(f"status.{status.name.lower()}"), reason=reason,
    ))


@serves(STAFF)
async def find_coop(update: Update, context: KopContext) -> None:
    """/koperasi <query>: find a cooperative in the officer's scope and show its profile."""
    coop = await _find(update, context, "registry.usage", "kop")
    if coop is not None:
        await send_long(context.bot, update.effective_chat.id, str(await coop_profile(context, coop)),
                        parse_mode=ParseMode.HTML)


@serves(STAFF, old_messages=True)
async def coop_pressed(update: Update, context: KopContext) -> None:
    """A cooperative picked from /koperasi's matches."""
    coop = await _pressed(update, context)
    if coop is not None:
        await send_long(context.bot, update.effective_chat.id, str(await coop_profile(context, coop)),
                        parse_mode=ParseMode.HTML)


@serves(ADMINS)
async def officers(update: Update, context: KopContext) -> None:
    """/petugas [tambah ID Nama | Kecamatan, … ] [hapus ID]: list, add or remove officers."""
    args = context.args or []
    session = context.session
    actor = update.effective_user.id
    if args and args[0].lower() in {"tambah", "add"} and len(args) >= 3 and args[1].lstrip("-").isdigit():
        rest = " ".join(args[2:])
        name, _, scope_text = rest.partition("|")
        wanted = [k.strip() for k in scope_text.split(",") if k.strip()]
        ids = await registry.kecamatan_ids_by_name(session, wanted) if wanted else {}
        unknown = [k for k, v in ids.items() if v is None]
        if unknown:
            await update.effective_message.reply_text(
                context.t("officers.unknown_kecamatan", names=shorten(", ".join(unknown)))
            )
            return
        telegram_id = int(args[1])
        await registry.add_officer(session, telegram_id=telegram_id, name=name.strip(),
                                   role=OfficerRole.OFFICER, kecamatan_ids=[v for v in ids.values() if v])
        await audit(session, "role_changed", actor=actor, subject_type="officer", subject_id=telegram_id,
                    role="officer", kecamatan=wanted)
        await set_commands_for(context.bot, telegram_id, Role.OFFICER)
        await update.effective_message.reply_text(
            context.t("officers.added", name=shorten(name.strip()), id=telegram_id)
        )
        return
    if args and args[0].lower() in {"hapus", "remove"} and len(args) == 2 and args[1].lstrip("-").isdigit():
        telegram_id = int(args[1])
        removed = await registry.remove_officer(session, telegram_id)
        if removed:
            await audit(session, "role_changed", actor=actor, subject_type="officer", subject_id=telegram_id,
                        role="removed")
            await set_commands_for(context.bot, telegram_id, Role.GUEST)
        await update.effective_message.reply_text(
            context.t("officers.removed" if removed else "officers.not_found", id=telegram_id)
        )
        return
    listed = await registry.list_officers(session)
    lines = [context.html("officers.header", count=len(listed))]
    for view in listed:
        scope = ", ".join(view.kecamatan) or context.t("officers.all_kecamatan")
        lines.append(Markup("• {} ({}, {}) — {}").format(view.name, view.telegram_id, view.role, scope))
    lines.append(context.html("officers.usage"))
    await send_long(context.bot, update.effective_chat.id, str(Markup("\n").join(lines)),
                    parse_mode=ParseMode.HTML)


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install the officers' commands and their buttons."""
    app.add_handler(CommandHandler(commands.INVITE.names, invite))
    app.add_handler(CallbackQueryHandler(invite_pressed, pattern=r"^inv:\d{1,9}$"))
    app.add_handler(CommandHandler(commands.COOPERATIVE.names, find_coop))
    app.add_handler(CallbackQueryHandler(coop_pressed, pattern=r"^kop:\d{1,9}$"))
    app.add_handler(CommandHandler(commands.OFFICERS.names, officers))
    app.add_handler(CommandHandler(commands.STATUS.names, set_status))
