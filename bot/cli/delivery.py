"""`kopdesk worker`: the delivery engine alone, without update handling (SPEC 7, 13).

Registered on the main group by `bot.cli` through `register(main)`. On PostgreSQL any number of
workers share the outbox (rows are claimed with FOR UPDATE SKIP LOCKED) and SEND_RATE; on
SQLite run exactly one engine (set RUN_DELIVERY_WORKER=false on `kopdesk run` if it is this).
"""

from __future__ import annotations

import asyncio
import sys

import click

from bot.cli.common import load, upgrade_database
from bot.logging_setup import configure_logging


@click.command("worker")
@click.option("--worker-id", default=None,
              help="Name of this worker (default: host and process id; on SQLite, the host).")
def worker(worker_id: str | None) -> None:
    """Send what is in the outbox, within Telegram's limits, until stopped."""
    from bot.delivery.runner import run_worker
    from bot.runtime import Runtime

    settings = load()
    if settings.bot_token is None:
        click.echo("configuration error: BOT_TOKEN: required for `kopdesk worker` (see .env.example)", err=True)
        sys.exit(2)
    configure_logging(settings.log_level, settings.secrets())
    upgrade_database(settings.database_url)
    asyncio.run(run_worker(Runtime.create(settings), worker_id))


def register(main: click.Group) -> None:
    """Add `worker` to the `kopdesk` group."""
    main.add_command(worker)
