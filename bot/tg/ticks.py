"""The scheduler's tick: one periodic JobQueue job that compares due times in the database with
the one clock (SPEC 6). Nothing scheduled lives only in memory, so a restart loses nothing and
moving the clock in a test makes the next tick see what fell due.

Each part runs in its own short transaction, so one failing part does not hold back the others:
meeting reminders (`bot.services.reminders`), the annual-report campaign
(`bot.services.campaign`) and the officers' daily digest (`bot.services.digest`). Due reminders are claimed in chunks of `reminders.CLAIM`, one
transaction each, until none is left: thousands falling due at once all reach the outbox in the
same tick. The first tick
runs at start-up: reminders that fell due while the bot was down go out at once (or are dropped
if their meeting began), and a digest missed at 08:00 is sent.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.services import campaign, digest, reminders
from bot.runtime import gone_from_this_host
from storage.repositories import leases
from storage.types import utcnow

_LOG = logging.getLogger(__name__)
TICK_JOB = "scheduler-tick"
LEASE = "scheduler"  # the lease of the deployment's scheduled work (storage.models_delivery)
LEASE_TICKS = 3  # the lease lasts three tick intervals: a dead holder is replaced after that


async def leads(app: Any) -> bool:
    """Whether this process runs the deployment's scheduled work now: it takes or renews the
    scheduler lease. Several processes on one database (SPEC 13) each run the same jobs; only
    the holder does the work, so nothing scheduled happens once per process."""
    runtime = app.runtime
    ttl = timedelta(seconds=LEASE_TICKS * runtime.settings.reminder_tick_seconds)
    try:
        async with runtime.db.session() as session:
            held = await leases.hold(session, LEASE, runtime.instance_id, now=utcnow(), ttl=ttl)
            if not held:
                # Restarted after a crash on the same machine: the holder is our dead self.
                holder = await leases.holder_of(session, LEASE)
                if holder is not None and gone_from_this_host(holder):
                    _LOG.info("the scheduler lease of %s, no longer running, is taken over", holder)
                    await leases.release(session, LEASE, holder)
                    held = await leases.hold(session, LEASE, runtime.instance_id, now=utcnow(), ttl=ttl)
    except Exception:  # noqa: BLE001 -- logged; the next tick asks again
        _LOG.exception("could not take or renew the scheduler lease")
        return False
    if held != app.bot_data.get("_leads"):
        app.bot_data["_leads"] = held
        _LOG.info("this process %s the deployment's scheduled work",
                  "now runs" if held else "leaves to another process")
    return held


async def give_up_lease(app: Any) -> None:
    """At a clean stop: another process may take the scheduled work over at once."""
    if not app.bot_data.get("_leads"):
        return
    try:
        async with app.runtime.db.session() as session:
            await leases.release(session, LEASE, app.runtime.instance_id)
    except Exception:  # noqa: BLE001 -- the lease expires by itself
        _LOG.warning("could not give up the scheduler lease; it expires by itself")


async def tick(context: Any) -> None:
    """Queue whatever fell due; wake this process's delivery engine if something was queued."""
    app = context.application
    if not await leads(app):
        return
    runtime = app.runtime
    settings = runtime.settings
    queued = 0
    parts = (
        ("meeting reminders", lambda s, now: reminders.tick(
            s, now=now, tz=settings.tz, default_lang=settings.default_language,
            skip_locked=not runtime.db.is_sqlite)),
        ("report campaign", lambda s, now: campaign.tick(s, now=now, settings=settings)),
        ("daily digest", lambda s, now: digest.tick(s, now=now, settings=settings)),
    )
    for name, part in parts:
        try:
            while True:
                async with runtime.db.session() as session:
                    result = await part(session, utcnow())
                done = getattr(result, "queued", 0)
                queued += done
                # A full claim means more may be due: drain them now (each chunk its own
                # transaction), not one chunk per tick interval.
                if name != "meeting reminders" or done < reminders.CLAIM:
                    break
                if found := app.bot_data.get("_delivery_engine"):
                    found[0].wake()
        except Exception:  # noqa: BLE001 -- logged; the next tick tries again (nothing was committed)
            _LOG.exception("scheduler tick: %s failed", name)
    if queued:
        found = app.bot_data.get("_delivery_engine")
        if found is not None:
            found[0].wake()


def schedule(app: Any) -> None:
    """Register the tick (named: a second call replaces it instead of adding another).

    Called before the JobQueue starts. An interval job whose first run is "now" would not run
    at start-up: APScheduler computes its next run when the scheduler starts, and by then "now"
    has passed, so it skips to one interval later. The start-up tick is therefore its own
    one-off job, allowed to run however late it starts (misfire_grace_time=None), and the
    periodic one begins an interval later.
    """
    for job in app.job_queue.get_jobs_by_name(TICK_JOB):
        job.schedule_removal()
    interval = app.runtime.settings.reminder_tick_seconds
    app.job_queue.run_once(tick, when=0, name=TICK_JOB, job_kwargs={"misfire_grace_time": None})
    app.job_queue.run_repeating(tick, interval=interval, first=interval, name=TICK_JOB,
                                job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None})
