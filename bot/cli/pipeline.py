"""`kopdesk web` and `kopdesk worker`: the processes of a deployment (SPEC 13, docs/DEPLOY.md).

`web` receives Telegram's webhook calls and only logs them; `worker` handles what was logged
(PostgreSQL) and sends what is in the outbox. Any number of each share one PostgreSQL database.
`kopdesk run` remains the one-process bot (receiver, handler and sender together).
"""

from __future__ import annotations

import asyncio
import sys
from urllib.parse import urlsplit

import click

from bot.cli.common import load, upgrade_database
from bot.logging_setup import configure_logging
from bot.settings import Settings


def _settings_for(command: str) -> Settings:
    settings = load()
    if settings.bot_token is None:
        click.echo(f"configuration error: BOT_TOKEN: required for `kopdesk {command}` (see .env.example)",
                   err=True)
        sys.exit(2)
    configure_logging(settings.log_level, settings.secrets())
    upgrade_database(settings.database_url)  # one process migrates, the others wait (a lock)
    return settings


@click.command("worker")
@click.option("--worker-id", default=None,
              help="Name of this worker (default: host and process id; on SQLite, the host).")
@click.option("--delivery-only", is_flag=True,
              help="Only send the outbox (beside a `kopdesk run`); handle no updates.")
@click.option("--concurrency", default=32, show_default=True, help="Chats handled at once.")
def worker(worker_id: str | None, delivery_only: bool, concurrency: int) -> None:
    """Handle the updates the receivers logged, and send the outbox, until stopped."""
    from bot.runtime import Runtime

    settings = _settings_for("worker")
    runtime = Runtime.create(settings)
    if worker_id:
        runtime.instance_id = worker_id
    if delivery_only or runtime.db.is_sqlite:
        from bot.delivery.runner import run_worker

        if not delivery_only:
            click.echo("SQLite: this worker only sends the outbox; `kopdesk run` handles the updates",
                       err=True)
        asyncio.run(run_worker(runtime, worker_id))
        return
    from bot.pipeline.run import run_queue_worker

    asyncio.run(run_queue_worker(runtime, concurrency=concurrency))


@click.command("web")
@click.option("--listen", default=None, help="Address to listen on (default WEBHOOK_LISTEN).")
@click.option("--port", type=int, default=None, help="Port (default WEBHOOK_PORT).")
@click.option("--set-webhook/--no-set-webhook", default=True, show_default=True,
              help="Tell Telegram the WEBHOOK_URL at start (every receiver may; it is idempotent).")
def web(listen: str | None, port: int | None, set_webhook: bool) -> None:
    """Receive Telegram's webhook calls and log each update for the workers, until stopped."""
    settings = _settings_for("web")
    if not settings.webhook_url:
        click.echo("configuration error: WEBHOOK_URL: required for `kopdesk web`", err=True)
        sys.exit(2)
    from bot.pipeline.run import run_receiver
    from bot.runtime import Runtime

    path = urlsplit(settings.webhook_url).path or "/"
    asyncio.run(run_receiver(Runtime.create(settings), listen=listen or settings.webhook_listen,
                             port=port or settings.webhook_port, path=path, set_webhook=set_webhook))


def register(main: click.Group) -> None:
    """Add `worker` and `web` to the `kopdesk` group."""
    main.add_command(worker)
    main.add_command(web)
