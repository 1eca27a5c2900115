"""`kopdesk web` and `kopdesk worker`: the processes of a deployment (SPEC 13, docs/DEPLOY.md).

`web` receives Telegram's webhook calls and only logs them; `worker` handles what was logged
(PostgreSQL) and sends what is in the outbox. Any number of each share one PostgreSQL database.
`kopdesk run` remains the one-process bot (receiver, handler and sender together).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import click

from bot.cli.common import for_a_bot, for_serving


@click.command("worker")
@click.option("--worker-id", default=None,
              help="Name of this worker (default: host and process id; on SQLite, the host).")
@click.option("--delivery-only", is_flag=True,
              help="Only send the outbox (beside a `kopdesk run`); handle no updates.")
@click.option("--concurrency", default=32, show_default=True, help="Chats handled at once.")
def worker(worker_id: str | None, delivery_only: bool, concurrency: int) -> None:
    """Handle the updates the receivers logged, and send the outbox, until stopped."""
    from bot.runtime import Runtime

    settings = for_a_bot("worker")
    runtime = Runtime.create(settings)
    if worker_id:
        runtime.instance_id = worker_id
    if delivery_only or runtime.db.is_sqlite:
        from bot.delivery.runner import run_worker

        if not delivery_only:
            click.echo("SQLite: this worker only sends the outbox; `kopdesk run` handles the updates",
                       err=True)
        for_serving()
        asyncio.run(run_worker(runtime, worker_id))
        return
    from bot.pipeline.run import run_queue_worker

    for_serving()
    asyncio.run(run_queue_worker(runtime, concurrency=concurrency))


@click.command("web")
@click.option("--listen", default=None, help="Address to listen on (default WEBHOOK_LISTEN).")
@click.option("--port", type=int, default=None, help="Port (default WEBHOOK_PORT).")
@click.option("--set-webhook/--no-set-webhook", default=True, show_default=True,
              help="Tell Telegram the WEBHOOK_URL at start (every receiver may; it is idempotent).")
def web(listen: str | None, port: int | None, set_webhook: bool) -> None:
    """Receive Telegram's webhook calls and log each update for the workers, until stopped."""
    settings = for_a_bot("web", webhook=True)
    from bot.pipeline.run import run_receiver
    from bot.runtime import Runtime

    path = urlsplit(settings.webhook_url).path or "/"
    for_serving()
    asyncio.run(run_receiver(Runtime.create(settings), listen=listen or settings.webhook_listen,
                             port=port or settings.webhook_port, path=path, set_webhook=set_webhook))


def register(main: click.Group) -> None:
    """Add `worker` and `web` to the `kopdesk` group."""
    main.add_command(worker)
    main.add_command(web)
