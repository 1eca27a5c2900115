"""/statistik (SPEC 8): the figures as a short text, then the charts as photos.

`/statistik [tahun] [kecamatan, …]`: the year of the annual reports counted (default: the last
closed fiscal year) and kecamatan to narrow to, within the officer's scope. Naming a kecamatan
outside it is refused and audited. The charts are drawn in a worker thread (matplotlib, Agg) and
sent with sendPhoto through the logged request layer; a chart that fails to draw costs the
officer only that picture, never the figures.
"""

from __future__ import annotations

import asyncio
import html
import logging

from telegram import InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import Application, CommandHandler

from bot import charts, commands
from bot.services import statistics
from bot.services.annual_report import FIRST_FISCAL_YEAR
from bot.services.audit import audit
from bot.services.coop_status import last_closed_fiscal_year
from bot.services.roles import STAFF
from bot.services.scope import (
    OutOfScope,
    Scope,
    UnknownKecamatan,
    fiscal_year_allowed,
    narrow_scope,
    split_arguments,
)
from bot.tg.context import KopContext
from handlers.access import serves
from handlers.output import send_long
from storage.types import utcnow

_LOG = logging.getLogger(__name__)


async def officer_scope(update: Update, context: KopContext, names: list[str], what: str) -> Scope | None:
    """The scope the officer asked for; None after telling him why not (audited if refused)."""
    try:
        return await narrow_scope(context.session, context.identity, names)
    except UnknownKecamatan as exc:
        await update.effective_message.reply_text(
            context.t("stats.unknown_kecamatan", names=", ".join(exc.names))
        )
    except OutOfScope as exc:
        await audit(context.session, "access_denied", actor=update.effective_user.id, subject_type=what,
                    subject_id=",".join(exc.names)[:64], reason="out_of_scope")
        await update.effective_message.reply_text(
            context.t("stats.out_of_scope", names=", ".join(exc.names))
        )
    return None


def last_closed(context: KopContext) -> int:
    """The last closed fiscal year, in the office's timezone."""
    return last_closed_fiscal_year(utcnow().astimezone(context.runtime.settings.tz).date())


@serves(STAFF)
async def show_statistics(update: Update, context: KopContext) -> None:
    """/statistik [tahun] [kecamatan, …]: figures in the officer's scope, then the charts."""
    year, names = split_arguments(context.args or [])
    newest = last_closed(context)
    if year is not None and not fiscal_year_allowed(year, newest):
        await update.effective_message.reply_text(
            context.html("stats.bad_year", year=year, first=FIRST_FISCAL_YEAR, last=newest)
            + "\n" + context.html("stats.usage"),
            parse_mode=ParseMode.HTML,
        )
        return
    scope = await officer_scope(update, context, names, "statistics")
    if scope is None:
        return
    chat_id = update.effective_chat.id
    query = statistics.StatsQuery(
        scope=scope, fiscal_year=year or newest, officer_id=update.effective_user.id,
        officer_scoped=context.identity.scope is not None, now=utcnow(), tz=context.runtime.settings.tz,
    )
    stats = await statistics.gather(context.session, query)
    await send_long(context.bot, chat_id, stats.text(context.lang), parse_mode=ParseMode.HTML)
    for chart in stats.charts(context.lang):
        if not chart.categories:
            continue
        await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
        try:
            png = await asyncio.to_thread(charts.render_png, chart)
        except Exception:  # a drawing bug must not cost the officer the figures he already has
            _LOG.exception("chart %s could not be drawn", chart.key)
            await context.bot.send_message(chat_id, context.t("stats.chart_failed"))
            continue
        await context.bot.send_photo(
            chat_id, photo=InputFile(png, filename=f"{chart.key}.png"),
            caption=html.escape(chart.title)[:1024], parse_mode=ParseMode.HTML,
        )


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /statistik."""
    app.add_handler(CommandHandler(commands.STATISTICS.names, show_statistics))
