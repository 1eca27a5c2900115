"""End-to-end fixtures: the real `kopdesk run` process against the Bot API sandbox.

The sandbox runs in the test's event loop on 127.0.0.1 (port 0); the bot is a separate
process started exactly as an operator would start it, configured only by environment
variables, and driven over HTTP through the sandbox's control API.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.sandbox import Sandbox, SandboxClient
from storage.db import Database
from storage.models import InboundUpdate
from tests.conftest import ADMIN_ID, OFFICERS_CHAT, TEST_TOKEN

TOKEN = TEST_TOKEN
READY_TIMEOUT = 60.0

pytestmark = pytest.mark.e2e


async def wait_until(condition, *, timeout: float = 20.0, interval: float = 0.05, what: str = ""):
    """Poll an async condition until it returns a truthy value; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")
        await asyncio.sleep(interval)


class BotProcess:
    """One `kopdesk run` process; can be killed with SIGKILL and started again."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        client: SandboxClient,
        args: tuple[str, ...] = ("run",),
        ready_method: str = "getUpdates",
    ) -> None:
        self.args = args
        self.ready_method = ready_method
        self.env = env
        self.log_path = log_path
        self.client = client
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        """Start the process and wait until it polls (or set its webhook on) the sandbox."""
        before = len(await self.client.calls(method=self.ready_method))
        self.starts += 1
        log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *self.args,
            env=self.env, stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL,
        )
        log.close()

        async def polling() -> bool:
            if self.proc.returncode is not None:
                raise AssertionError(f"kopdesk run exited {self.proc.returncode}:\n{self.log()}")
            return len(await self.client.calls(method=self.ready_method)) > before

        await wait_until(polling, timeout=READY_TIMEOUT, what=f"the bot to call {self.ready_method}")

    async def kill9(self) -> None:
        """SIGKILL: no clean shutdown, no flush."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> None:
        """SIGTERM and wait, as a service manager would."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 20)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def log(self) -> str:
        """What the process printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def bot_env(sandbox: Sandbox, database_url: str, tmp_path: Path) -> dict[str, str]:
    """The environment of the bot process: only what an operator would set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=sandbox.base_url,
        DATABASE_URL=database_url,
        SEND_LEDGER_DIR=str(tmp_path / "sends"),
        ADMIN_IDS=str(ADMIN_ID),
        OFFICERS_CHAT_ID=str(OFFICERS_CHAT),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        # No daily digest or report campaign unless a test asks: they would add messages to
        # the officers' and managers' chats depending on the day the suite runs.
        DIGEST_TIME="off",
        CAMPAIGN_ENABLED="false",
    )
    return env


@pytest.fixture
async def bot(bot_env: dict[str, str], client: SandboxClient, tmp_path: Path) -> AsyncIterator[BotProcess]:
    """The running bot process (stopped at the end; its log is printed if the test failed)."""
    process = BotProcess(bot_env, tmp_path / "bot.log", client)
    await process.start()
    yield process
    await process.stop()
    sys.stdout.write(f"\n--- bot log ---\n{process.log()[-5000:]}\n")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """Direct access to the bot's database, to check what it stored."""
    database = Database(database_url)
    yield database
    await database.dispose()


async def handled(db: Database, update_id: int) -> bool:
    """True once the update's handling committed (handled or throttled)."""
    async with db.session() as session:
        row = (
            await session.execute(
                select(InboundUpdate.handled_at, InboundUpdate.throttled).where(
                    InboundUpdate.update_id == update_id
                )
            )
        ).one_or_none()
    return bool(row and (row.handled_at or row.throttled))


async def settled(db: Database, user_id: int) -> bool:
    """True once every update this user sent so far has been handled (or throttled)."""
    from sqlalchemy import func

    async with db.session() as session:
        open_updates = (
            await session.execute(
                select(func.count()).where(
                    InboundUpdate.user_id == user_id,
                    InboundUpdate.handled_at.is_(None),
                    InboundUpdate.throttled.is_(False),
                )
            )
        ).scalar_one()
    return open_updates == 0
