"""The `kopdesk` group and the commands that run the bot: run, demo, check, db, prune (SPEC 12)."""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import click

from bot.logging_setup import configure_logging, redact
from bot.cli.common import for_a_bot, for_serving, load, upgrade_database
from bot.settings import Settings

_LOG = logging.getLogger("kopdesk")


@click.group()
def main() -> None:
    """KopDesk: the Telegram helpdesk of a cooperative office."""


@main.command()
@click.option("--webhook", is_flag=True, help="Receive updates by webhook (WEBHOOK_URL) instead of polling.")
def run(webhook: bool) -> None:
    """Run the bot against Telegram (or TELEGRAM_API_URL) until stopped."""
    settings = for_a_bot("run", webhook=webhook)

    from telegram.error import InvalidToken

    from bot.runtime import Runtime
    from bot.tg.build import build_application

    try:
        asyncio.run(_wait_for_api(settings))
    except InvalidToken as exc:
        click.echo(f"telegram: {redact(str(exc), settings.secrets())}; check BOT_TOKEN", err=True)
        sys.exit(2)
    app = build_application(Runtime.create(settings))
    _LOG.info("KopDesk starting (%s)", "webhook" if webhook else "long polling")
    _serve(app, settings, webhook)


async def _wait_for_api(settings: Settings) -> None:
    """Check the token before starting; while the Bot API is unreachable, wait and retry."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError

    delay = 1.0
    while True:
        try:
            async with Bot(settings.bot_token.get_secret_value(), base_url=settings.telegram_api_url):
                return
        except InvalidToken:
            raise
        except NetworkError as exc:
            _LOG.warning("Bot API unreachable (%s); retrying in %.0fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 60.0)


def _serve(app: Any, settings: Settings, webhook: bool) -> None:
    from bot.tg.build import ALLOWED_UPDATES

    for_serving()
    if webhook:
        app.run_webhook(
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            url_path=urlsplit(settings.webhook_url).path.lstrip("/"),
            webhook_url=settings.webhook_url,
            secret_token=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES, drop_pending_updates=False)


@main.command()
def check() -> None:
    """Check configuration, database and Telegram reachability, one line each."""
    settings = load()
    configure_logging("WARNING", settings.secrets())
    click.echo("configuration: ok")
    failures = asyncio.run(_check(settings))
    sys.exit(1 if failures else 0)


async def _check(settings: Settings) -> int:
    from sqlalchemy import text
    from telegram import Bot
    from telegram.error import TelegramError

    from storage.db import Database

    failures = 0
    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            revision = (
                await session.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
        click.echo(f"database: ok ({db.engine.dialect.name}, revision {revision})")
    except Exception as exc:
        failures += 1
        click.echo(f"database: FAILED ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}; run `kopdesk db upgrade`?)")
    finally:
        await db.dispose()
    if settings.bot_token is None:
        failures += 1
        click.echo("telegram: FAILED (BOT_TOKEN is not set)")
        return failures
    try:
        async with Bot(settings.bot_token.get_secret_value(), base_url=settings.telegram_api_url) as bot:
            click.echo(f"telegram: ok (@{bot.username} at {settings.telegram_api_url})")
    except TelegramError as exc:
        failures += 1
        # PTB's InvalidToken names the token: never print it.
        click.echo(f"telegram: FAILED ({type(exc).__name__}: {redact(str(exc), settings.secrets())})")
    return failures


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations to DATABASE_URL."""
    settings = load()
    configure_logging(settings.log_level, settings.secrets())
    upgrade_database(settings.database_url)
    click.echo("database: up to date")


@main.command()
@click.option("--port", default=8081, show_default=True, help="Port of the Bot API sandbox.")
@click.option("--no-chat", is_flag=True, help="Do not open the terminal chat; run until Ctrl-C.")
@click.option("--user-id", default=1001, show_default=True, help="Telegram id you chat as.")
@click.option("--as-admin", is_flag=True, help="Chat as an admin (try /undang, /koperasi, /petugas).")
def demo(port: int, no_chat: bool, user_id: int, as_admin: bool) -> None:
    """Run the bot on the built-in Bot API sandbox with demo data, no token needed, and chat."""
    from bot.tg.build import SANDBOX_TOKEN

    overrides: dict[str, Any] = {"telegram_api_url": f"http://127.0.0.1:{port}/bot", "bot_token": SANDBOX_TOKEN}
    if as_admin:
        overrides["admin_ids"] = [user_id]
    settings = load(**overrides)
    configure_logging("WARNING", settings.secrets())
    upgrade_database(settings.database_url)
    asyncio.run(_demo(settings, port, no_chat, user_id))


async def _demo_invite(runtime: Any) -> str:
    """Seed the demo registry (idempotent) and issue an invite code for its first cooperative."""
    from sqlalchemy import select

    from bot.seed import seed_demo
    from bot.services.registration import create_invite
    from storage.models import Cooperative
    from storage.types import utcnow

    await seed_demo(runtime.db, tz=runtime.settings.tz)
    async with runtime.db.session() as session:
        coop = (await session.execute(select(Cooperative).order_by(Cooperative.id).limit(1))).scalar_one()
        invite = await create_invite(session, cooperative=coop, officer_telegram_id=0, now=utcnow())
        return f"{invite.code} ({coop.name})"


async def _next_update_id(runtime: Any) -> int | None:
    """One above the highest update_id in the message log; None for an empty log."""
    from storage.repositories.message_log import highest_update_id

    async with runtime.db.session() as session:
        highest = await highest_update_id(session)
    return None if highest is None else highest + 1


async def _demo(settings: Settings, port: int, no_chat: bool, user_id: int) -> None:
    from bot.runtime import Runtime
    from bot.sandbox import Sandbox, SandboxClient
    from bot.sandbox.terminal import run_terminal_chat
    from bot.tg.build import ALLOWED_UPDATES, SANDBOX_TOKEN, build_application

    runtime = Runtime.create(settings)
    # The sandbox numbers updates from a fixed start; on a database that already logged updates
    # it continues above them, as Telegram's numbering would for a bot that keeps running.
    sandbox = Sandbox(port=port, bot_token=SANDBOX_TOKEN, first_update_id=await _next_update_id(runtime))
    await sandbox.start()
    app = build_application(runtime)
    invite = await _demo_invite(runtime)
    click.echo(f"KopDesk demo: Bot API sandbox at {sandbox.base_url}, control API at {sandbox.control_url}")
    click.echo(f"Browser chat: {sandbox.url}/  ·  demo registry: 401 synthetic cooperatives")
    click.echo(f"Try an invite code: /start {invite}")
    try:
        async with app:
            await app.post_init(app)  # run_polling would call it; here the loop is ours
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0)
            await app.start()
            if no_chat:
                click.echo("Running; press Ctrl-C to stop.")
                await asyncio.Event().wait()
            else:
                click.echo("Type a message (try /start), #N to press button N, /keluar to quit.")
                async with SandboxClient(sandbox.control_url) as client:
                    await run_terminal_chat(client, user_id=user_id)
            await app.updater.stop()
            await app.stop()
            if app.post_shutdown:
                await app.post_shutdown(app)
    finally:
        await runtime.db.dispose()
        await sandbox.stop()


_DURATION = re.compile(r"^(\d+)([dh])$")


@main.group()
def logs() -> None:
    """The message log."""


@logs.command("prune")
@click.option("--older-than", default=None, help="Age such as 365d or 48h (default LOG_RETENTION_DAYS).")
def logs_prune(older_than: str | None) -> None:
    """Delete raw inbound and outbound logs older than the given age."""
    settings = load()
    if older_than is None:
        age = timedelta(days=settings.log_retention_days)
    else:
        match = _DURATION.match(older_than)
        if not match:
            click.echo("--older-than: use a number of days or hours, e.g. 365d or 48h", err=True)
            sys.exit(2)
        n = int(match.group(1))
        age = timedelta(days=n) if match.group(2) == "d" else timedelta(hours=n)
    inbound, outbound = asyncio.run(_prune(settings, age))
    click.echo(f"removed {inbound} inbound and {outbound} outbound log rows older than {older_than or f'{settings.log_retention_days}d'}")


async def _prune(settings: Settings, age: timedelta) -> tuple[int, int]:
    from storage.db import Database
    from storage.repositories import message_log
    from storage.types import utcnow

    db = Database(settings.database_url)
    try:
        async with db.session() as session:
            return await message_log.prune(session, utcnow() - age)
    finally:
        await db.dispose()
