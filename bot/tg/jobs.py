"""Scheduled jobs that are derived from configuration, rebuilt at every start."""

from __future__ import annotations

import logging
from datetime import time
from typing import Any

from bot.services import report_flow
from storage.types import utcnow

_LOG = logging.getLogger(__name__)
STATUS_JOB = "status-refresh-daily"


async def refresh_statuses(context: Any) -> None:
    """Daily: re-apply the status rule, so a cooperative turns tidak aktif as years pass."""
    runtime = context.application.runtime
    settings = runtime.settings
    now = utcnow()
    async with runtime.db.session() as session:
        changed = await report_flow.refresh_all_statuses(
            session, today=now.astimezone(settings.tz).date(), now=now,
            inactive_after_years=settings.inactive_after_years,
        )
    _LOG.info("daily status refresh: %d cooperative(s) changed status", changed)


def schedule(app: Any) -> None:
    """Register the daily jobs (named, so a second call replaces instead of duplicating)."""
    tz = app.runtime.settings.tz
    for job in app.job_queue.get_jobs_by_name(STATUS_JOB):
        job.schedule_removal()
    app.job_queue.run_daily(refresh_statuses, time=time(2, 0, tzinfo=tz), name=STATUS_JOB)
    from bot.tg import ticks  # meetings, report campaign, digest (SPEC 6)

    ticks.schedule(app)
