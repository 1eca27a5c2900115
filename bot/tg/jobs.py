"""Scheduled jobs that are derived from configuration, rebuilt at every start."""

from __future__ import annotations

import logging
from datetime import time, timedelta
from typing import Any

from bot.services import report_flow
from bot.tg.ticks import leads
from storage.types import utcnow

_LOG = logging.getLogger(__name__)
STATUS_JOB = "status-refresh-daily"
ESCALATION_JOB = "ticket-escalation"


async def refresh_statuses(context: Any) -> None:
    """Daily: re-apply the status rule, so a cooperative turns tidak aktif as years pass."""
    if not await leads(context.application):
        return
    runtime = context.application.runtime
    settings = runtime.settings
    now = utcnow()
    async with runtime.db.session() as session:
        changed = await report_flow.refresh_all_statuses(
            session, today=now.astimezone(settings.tz).date(), now=now,
            inactive_after_years=settings.inactive_after_years,
        )
    _LOG.info("daily status refresh: %d cooperative(s) changed status", changed)


async def escalate_tickets(context: Any) -> None:
    """Every tick: raise again in the officers' chat the tickets unanswered for too long.

    The due times are in the database (`tickets.waiting_since`, `escalated_at`), compared with
    the clock's now(): a restart or a moved clock changes nothing about what is due.
    """
    from bot.services.tickets import Officers, escalate_due
    if not await leads(context.application):
        return
    runtime = context.application.runtime
    settings = runtime.settings
    chat = settings.officers_chat_id or (settings.admin_ids[0] if settings.admin_ids else None)
    async with runtime.db.session() as session:
        raised = await escalate_due(session, Officers(chat, settings.default_language), utcnow(),
                                    timedelta(hours=settings.ticket_escalate_after_hours))
    if raised:
        _LOG.info("raised %d unanswered ticket(s) again", raised)


def schedule(app: Any) -> None:
    """Register the periodic jobs (named, so a second call replaces instead of duplicating)."""
    settings = app.runtime.settings
    tz = settings.tz
    for name in (STATUS_JOB, ESCALATION_JOB):
        for job in app.job_queue.get_jobs_by_name(name):
            job.schedule_removal()
    app.job_queue.run_daily(refresh_statuses, time=time(2, 0, tzinfo=tz), name=STATUS_JOB)
    tick = settings.ticket_escalation_tick_seconds
    app.job_queue.run_repeating(escalate_tickets, interval=tick, first=tick, name=ESCALATION_JOB)
    from bot.tg import ticks  # meetings, report campaign, digest (SPEC 6)

    ticks.schedule(app)
