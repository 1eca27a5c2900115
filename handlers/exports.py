"""/ekspor (SPEC 8): files for officers, chosen with buttons or typed, sent as documents.

`/ekspor` offers the export kinds (bot.exports registry) as buttons; a kind that needs a period
asks for it with buttons too (a fiscal year with its report count; a date range preset).
Typed forms reach every year, range and kecamatan:
`/ekspor laporan 2024 Semau`, `/ekspor registri Semau`, `/ekspor log 01/11/2026 30/11/2026`,
`/ekspor tiket 01/11/2026 30/11/2026`.

Buttons carry no kecamatan: the officer's scope is read again at every press, so forged data
cannot widen it; a typed kecamatan outside it is refused and audited. The file is written on a
worker thread (bot.exports.run_detached) into a temporary directory removed after sending.
The tickets export (bot/exports/tickets.py) is one more kind; here it has only its caption,
its period prompt and its "no tickets in this range" answer.
"""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

from babel.numbers import format_decimal
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot import commands, exports
from bot.exports.base import (
    ExportError,
    ExportKind,
    ExportRequest,
    ExportResult,
    TooLarge,
    kind_for_word,
    kinds,
    parse_range,
    preset_range,
)
from bot.formatting import long_date, number
from bot.services.annual_report import FIRST_FISCAL_YEAR
from bot.services.audit import audit
from bot.services.roles import STAFF
from bot.services.scope import Scope, fiscal_year_allowed, split_arguments
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.statistics import last_closed, officer_scope
from storage.repositories import statistics as stats_repo
from storage.types import utcnow

YEARS_OFFERED = 5
PRESETS = ("d7", "d30", "m0", "m1")
# The period prompt and the "nothing in this range" answer of each date-range kind.
RANGE_PROMPTS = {"tickets": "export_tickets.choose_range"}
EMPTY_RANGE = {"log": "export.log_empty", "tickets": "export_tickets.empty"}
PATTERN = r"^exp:(k:[a-z]{1,16}|y:[a-z]{1,16}:\d{4}|r:[a-z]{1,16}:(d7|d30|m0|m1))$"


def _today(context: KopContext) -> date:
    return utcnow().astimezone(context.runtime.settings.tz).date()


def _megabytes(size: int, lang: str) -> str:
    """'52,4 MB' / '4 kB' (Babel's decimal mark)."""
    locale = "id_ID" if lang == "id" else "en_GB"
    if size >= 1_000_000:
        return f"{format_decimal(size / 1_000_000, '#,##0.#', locale=locale)} MB"
    return f"{format_decimal(max(1, round(size / 1000)), locale=locale)} kB"


async def _menu(update: Update, context: KopContext) -> None:
    keyboard = [[InlineKeyboardButton(context.t(f"export.kind_{k.key}"), callback_data=f"exp:k:{k.key}")]
                for k in kinds()]
    await update.effective_message.reply_text(context.t("export.menu"), reply_markup=InlineKeyboardMarkup(keyboard))


async def _ask_period(update: Update, context: KopContext, kind: ExportKind) -> None:
    """Buttons for the period a kind needs (edits the menu message)."""
    query = update.callback_query
    if kind.period == "year":
        newest = last_closed(context)
        years = list(range(newest, newest - YEARS_OFFERED, -1))
        counts = await stats_repo.reports_per_year(context.session, years, context.identity.scope_list)
        rows = [[InlineKeyboardButton(context.t("export.year_button", year=y, count=number(counts[y], context.lang)),
                                      callback_data=f"exp:y:{kind.key}:{y}")] for y in years]
        await query.edit_message_text(context.html("export.choose_year"), parse_mode=ParseMode.HTML,
                                      reply_markup=InlineKeyboardMarkup(rows))
    else:
        rows = [[InlineKeyboardButton(context.t(f"export.range_{p}"), callback_data=f"exp:r:{kind.key}:{p}")]
                for p in PRESETS]
        await query.edit_message_text(context.t(RANGE_PROMPTS.get(kind.key, "export.choose_range")),
                                      reply_markup=InlineKeyboardMarkup(rows))


def _scope_label(context: KopContext, scope: Scope) -> str:
    """The kecamatan covered, for a caption (plain text: sent without a parse mode)."""
    return ", ".join(scope.names) if scope.narrowed else context.t("export.all_kecamatan")


def _caption(context: KopContext, request: ExportRequest, result: ExportResult) -> str:
    scope, lang = _scope_label(context, request.scope), context.lang
    f = {k: number(v, lang) for k, v in result.figures.items()}
    if request.kind == "reports":
        text = context.t("export.caption_reports", year=request.fiscal_year, scope=scope,
                         rows=number(result.rows, lang), **f)
        if result.figures.get("received") == 0:
            text += "\n" + context.t("export.caption_reports_none", year=request.fiscal_year)
        return text
    if request.kind == "registry":
        return context.t("export.caption_registry", scope=scope, rows=number(result.rows, lang))
    if request.kind == "log":
        return context.t("export.caption_log", scope=scope, first=long_date(request.first_day, lang),
                         last=long_date(request.last_day, lang), **f)
    if request.kind == "tickets":
        return context.t("export_tickets.caption", scope=scope, first=long_date(request.first_day, lang),
                         last=long_date(request.last_day, lang), rows=number(result.rows, lang), **f)
    return ""


def _error_text(context: KopContext, error: ExportError) -> str:
    if isinstance(error, TooLarge):
        return context.t("export.too_large", size=_megabytes(error.size, context.lang),
                         limit=_megabytes(error.limit, context.lang))
    values = {k: long_date(v, context.lang) if isinstance(v, date) else v for k, v in error.values.items()}
    return context.t(error.key, **values)


async def _deliver(update: Update, context: KopContext, request_args: dict[str, object]) -> None:
    """Write the export on a worker thread, send the file(s), audit it."""
    chat_id = update.effective_chat.id
    settings = context.runtime.settings
    await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    with tempfile.TemporaryDirectory(prefix="kopdesk-export-") as folder:
        request = ExportRequest(out_dir=Path(folder), tz=settings.tz, now=utcnow(),
                                max_bytes=settings.export_max_bytes, **request_args)  # type: ignore[arg-type]
        try:
            result = await exports.run_detached(settings.database_url, request)
        except ExportError as exc:
            await context.bot.send_message(chat_id, _error_text(context, exc))
            return
        if request.kind in EMPTY_RANGE and result.rows == 0:
            await context.bot.send_message(chat_id, context.t(
                EMPTY_RANGE[request.kind], first=long_date(request.first_day, context.lang),
                last=long_date(request.last_day, context.lang)))
            return
        caption = _caption(context, request, result)
        for index, path in enumerate(result.files, start=1):
            text = caption
            if len(result.files) > 1:
                text += "\n" + context.t("export.caption_part", part=index, parts=len(result.files),
                                         limit=_megabytes(settings.export_max_bytes, context.lang))
            with path.open("rb") as handle:
                await context.bot.send_document(chat_id, document=handle, filename=path.name, caption=text[:1024])
    await audit(context.session, "export", actor=update.effective_user.id, subject_type="export",
                subject_id=request.kind, fiscal_year=request.fiscal_year,
                first_day=request.first_day.isoformat() if request.first_day else None,
                last_day=request.last_day.isoformat() if request.last_day else None,
                kecamatan=list(request.scope.names) if request.scope.narrowed else None,
                rows=result.rows, files=len(result.files))


async def _year_request(update: Update, context: KopContext, kind: ExportKind, year: int,
                        scope: Scope) -> dict[str, object] | None:
    newest = last_closed(context)
    if not fiscal_year_allowed(year, newest):
        await context.bot.send_message(update.effective_chat.id, context.t(
            "stats.bad_year", year=year, first=FIRST_FISCAL_YEAR, last=newest))
        return None
    return {"kind": kind.key, "scope": scope, "fiscal_year": year}


@serves(STAFF)
async def export_command(update: Update, context: KopContext) -> None:
    """/ekspor [jenis] [tahun | rentang] [kecamatan, …]: the menu, or the file at once."""
    args = context.args or []
    if not args:
        await _menu(update, context)
        return
    kind = kind_for_word(args[0])
    if kind is None:
        await update.effective_message.reply_text(context.html("export.usage"), parse_mode=ParseMode.HTML)
        return
    rest = args[1:]
    if kind.period == "range":
        try:
            first, last = parse_range(" ".join(rest), _today(context))
        except ExportError as exc:
            await update.effective_message.reply_text(_error_text(context, exc))
            return
        scope = await officer_scope(update, context, [], "export")
        if scope is not None:
            await _deliver(update, context, {"kind": kind.key, "scope": scope, "first_day": first, "last_day": last})
        return
    year, names = split_arguments(rest)
    scope = await officer_scope(update, context, names, "export")
    if scope is None:
        return
    if kind.period == "year":
        request = await _year_request(update, context, kind, year or last_closed(context), scope)
        if request is not None:
            await _deliver(update, context, request)
        return
    await _deliver(update, context, {"kind": kind.key, "scope": scope})


@serves(STAFF)
async def export_pressed(update: Update, context: KopContext) -> None:
    """A button of the /ekspor menu: a kind, a year or a period."""
    query = update.callback_query
    _, step, key, *rest = query.data.split(":")
    kind = next((k for k in kinds() if k.key == key), None)
    if kind is None:
        await query.answer(context.t("access.stale_button"), show_alert=True)
        return
    await query.answer()
    scope = await officer_scope(update, context, [], "export")
    if scope is None:
        return
    if step == "k" and kind.period != "none":
        await _ask_period(update, context, kind)
        return
    await query.edit_message_reply_markup(reply_markup=None)
    if step == "y" and kind.period == "year":
        request = await _year_request(update, context, kind, int(rest[0]), scope)
        if request is not None:
            await _deliver(update, context, request)
    elif step == "r" and kind.period == "range":
        first, last = preset_range(rest[0], _today(context))
        await _deliver(update, context, {"kind": kind.key, "scope": scope, "first_day": first, "last_day": last})
    elif step == "k":
        await _deliver(update, context, {"kind": kind.key, "scope": scope})
    else:
        await context.bot.send_message(update.effective_chat.id, context.t("access.stale_button"))


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /ekspor and its buttons."""
    app.add_handler(CommandHandler(commands.EXPORT.names, export_command))
    app.add_handler(CallbackQueryHandler(export_pressed, pattern=PATTERN))
