"""What every `kopdesk` command does first: load the settings (or exit with status 2 and one
line per bad setting) and bring the database up to date."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from bot.logging_setup import configure_logging
from bot.settings import Settings, SettingsError, load_settings

T = TypeVar("T")


def load(**overrides: Any) -> Settings:
    """Load the settings or exit with status 2 and one line per bad setting."""
    try:
        settings = load_settings(**overrides)
    except SettingsError as error:
        for line in error.lines:
            click.echo(f"configuration error: {line}", err=True)
        sys.exit(2)
    if settings.clock_offset_file is not None:
        from bot.clock import OffsetFileClock, install

        install(OffsetFileClock(settings.clock_offset_file))
    return settings


def for_a_bot(command: str, *, webhook: bool = False) -> Settings:
    """For the commands that run the bot (`run`, `web`, `worker`): settings with a token (and a
    WEBHOOK_URL when `webhook`), or exit 2 with the reason; logging set up; the database migrated
    (on PostgreSQL under a lock, so processes starting together migrate once)."""
    settings = load()
    if settings.bot_token is None:
        click.echo(f"configuration error: BOT_TOKEN: required for `kopdesk {command}` (see .env.example)",
                   err=True)
        sys.exit(2)
    if webhook and not settings.webhook_url:
        click.echo(f"configuration error: WEBHOOK_URL: required for `kopdesk {command}` with webhooks",
                   err=True)
        sys.exit(2)
    configure_logging(settings.log_level, settings.secrets())
    upgrade_database(settings.database_url)
    return settings


def upgrade_database(url: str) -> None:
    """Apply the migrations that are missing (what `kopdesk db upgrade` does)."""
    from storage.migrate import upgrade

    upgrade(url)


def prepare() -> Settings:
    """For the data commands: settings, quiet logging, an up-to-date database."""
    settings = load()
    # WARNING: alembic's INFO lines would bury the command's own output.
    configure_logging("WARNING", settings.secrets())
    upgrade_database(settings.database_url)
    return settings


def run_with_database(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run `work(db)` on a database opened for it, and close it afterwards."""
    from storage.db import Database

    async def main() -> T:
        db = Database(settings.database_url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(main())


# Allocations between young-generation collections, and young collections between older ones.
# CPython's defaults (700, 10, 10) were made for small programs: a bot builds thousands of
# short-lived Telegram objects per second, and with them the collector ran about every 1.5
# updates and, three times a minute, scanned every object of the libraries (~125 ms each,
# the event loop stopped). See docs/PERFORMANCE.md.
GC_THRESHOLDS = (20_000, 50, 50)


def for_serving() -> None:
    """Before a long-running process starts serving: the event loop and the garbage collector.

    uvloop where installed (Linux, macOS); the objects built so far (modules, handlers, the
    engine) are moved out of the collector's sight with `gc.freeze()`, as they live as long as
    the process, and the thresholds are raised (GC_THRESHOLDS). Cycles are still collected.
    """
    import gc

    try:
        import uvloop
    except ImportError:  # e.g. Windows: the standard loop works, only slower
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)

