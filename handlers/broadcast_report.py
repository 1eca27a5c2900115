"""The broadcast feature's reporter: the delivery engine calls it as a broadcast goes out.

It edits the officer's progress message ("Terkirim 120/401"; the engine calls it at most every
two seconds) and, when every recipient has a final result, sends the final report: sent,
failed, blocked, and the commonest reasons in Telegram's words.
"""

from __future__ import annotations

import logging

from markupsafe import Markup
from telegram import Bot, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden

from bot.delivery.outbox import reasons
from bot.delivery.reports import BatchReport
from bot.i18n import html, shorten, t
from bot.services import broadcasts
from storage.db import Database
from storage.types import utcnow

_LOG = logging.getLogger(__name__)


async def report_broadcast(bot: Bot, db: Database, report: BatchReport) -> None:
    """Edit the progress message; at the end, send the final report and close the broadcast."""
    if report.source_id is None:
        return
    async with db.session() as session:
        broadcast = await broadcasts.get(session, int(report.source_id))
        why = await reasons(session, report.batch_id) if report.final else []
    if broadcast is None:
        return
    lang, chat_id, p = broadcast.language, broadcast.chat_id, report.progress
    counts = {"id": broadcast.id, "sent": p.sent, "total": p.total, "failed": p.failed, "blocked": p.blocked}
    if broadcast.progress_message_id:
        await report.pace(chat_id)
        try:
            await bot.edit_message_text(
                t(lang, "siaran.progress_done" if report.final else "siaran.progress", **counts),
                chat_id=chat_id, message_id=broadcast.progress_message_id,
            )
        except BadRequest as exc:  # "message is not modified", or the officer deleted it
            _LOG.info("progress of broadcast %s not edited: %s", broadcast.id, exc.message)
        except Forbidden:
            pass  # the officer blocked the bot; the results stay in the history
    if not report.final:
        return
    lines = [html(lang, "siaran.report", **counts)]
    if why:
        lines.append(html(lang, "siaran.report_reasons"))
        lines += [html(lang, "siaran.report_reason", reason=shorten(r, 200), count=n) for r, n in why]
    reply = (ReplyParameters(broadcast.progress_message_id, allow_sending_without_reply=True)
             if broadcast.progress_message_id else None)
    await report.pace(chat_id)
    try:
        await bot.send_message(chat_id, Markup("\n").join(lines), parse_mode=ParseMode.HTML,
                               reply_parameters=reply)
    except Forbidden:
        pass
    try:
        async with db.session() as session:
            await broadcasts.finish(session, broadcast.id, utcnow())
    except Exception:  # the report went out; a failed mark must not send it twice
        _LOG.exception("could not mark broadcast %s done", broadcast.id)
