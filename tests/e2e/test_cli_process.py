"""The command line as an operator uses it: webhook mode, `check`, `demo`."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.i18n import t
from bot.sandbox import SandboxClient
from storage.db import Database
from storage.models import InboundUpdate
from tests.e2e.conftest import TOKEN, BotProcess

pytestmark = pytest.mark.e2e
USER = 5151


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run_cli(*args: str, env: dict[str, str], cwd: Path, stdin: bytes | None = None, timeout: float = 90) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args, env=env, cwd=cwd,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(stdin), timeout)
    return proc.returncode, out.decode()


async def test_webhook_mode(bot_env: dict[str, str], client: SandboxClient, tmp_path: Path) -> None:
    """`kopdesk run --webhook`: the sandbox delivers updates with the secret; the bot answers."""
    port = free_port()
    env = dict(bot_env, WEBHOOK_URL=f"http://127.0.0.1:{port}/telegram", WEBHOOK_SECRET="webhook-secret-123",
               WEBHOOK_LISTEN="127.0.0.1", WEBHOOK_PORT=str(port))
    process = BotProcess(env, tmp_path / "bot.log", client, args=("run", "--webhook"), ready_method="setWebhook")
    await process.start()
    try:
        await client.send_text(USER, "/start")
        [reply] = await client.wait_for_messages(USER, count=1, timeout=20)
        assert reply["text"].startswith("Selamat datang")
        webhook = await client.webhook()
        assert webhook["info"]["url"] == f"http://127.0.0.1:{port}/telegram"
        assert webhook["deliveries"] and all(d.get("status") == 200 for d in webhook["deliveries"])
    finally:
        await process.stop()
    assert "webhook-secret-123" not in process.log() and TOKEN not in process.log()


async def test_check_reports_each_part(bot_env: dict[str, str], client: SandboxClient, tmp_path: Path) -> None:
    """`kopdesk check`: a line for configuration, database and the Bot API; exit 0 when all are up."""
    code, out = await run_cli("db", "upgrade", env=bot_env, cwd=tmp_path)
    assert code == 0, out
    code, out = await run_cli("check", env=bot_env, cwd=tmp_path)
    assert code == 0, out
    assert "configuration: ok" in out and "database: ok" in out and "telegram: ok (@kopdesk_bot" in out
    assert TOKEN not in out


async def test_check_fails_when_api_unreachable(bot_env: dict[str, str], tmp_path: Path) -> None:
    """`kopdesk check` exits non-zero and says which part failed when the Bot API is down."""
    env = dict(bot_env, TELEGRAM_API_URL=f"http://127.0.0.1:{free_port()}/bot")
    code, out = await run_cli("check", env=env, cwd=tmp_path)
    assert code == 1
    assert "telegram: FAILED" in out and TOKEN not in out


async def test_demo_chat_in_terminal(tmp_path: Path) -> None:
    """`kopdesk demo`: no token, sandbox and bot in one process, a person chats in the terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    code, out = await run_cli(
        "demo", "--port", str(free_port()), env=env, cwd=tmp_path,
        stdin="/start\n/bahasa\n#2\n/help\n/keluar\n".encode(),
    )
    assert code == 0, out
    assert "Selamat datang di KopDesk" in out
    assert "[1] 🇮🇩 Bahasa Indonesia  [2] 🇬🇧 English" in out
    assert t("en", "lang.set") in out
    assert t("en", "help.header") in out
    assert re.search(r"Try an invite code: /start [A-Z0-9]{8} \(", out)


async def test_demo_as_admin_finds_a_demo_cooperative(tmp_path: Path) -> None:
    """`kopdesk demo --as-admin`: the seeded registry is there to search."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}"
    code, out = await run_cli(
        "demo", "--as-admin", "--port", str(free_port()), env=env, cwd=tmp_path,
        stdin="/koperasi Sumber Rejeki\n/keluar\n".encode(),
    )
    assert code == 0, out
    assert re.search(r"Ada \d+ koperasi yang cocok", out) and "Sumber Rejeki" in out


async def test_demo_restarted_on_the_same_database_answers_at_once(tmp_path: Path) -> None:
    """A second `kopdesk demo` on the same database answers its first messages (none swallowed)
    and numbers its updates above those the first session logged."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
    database = tmp_path / "demo.db"
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{database}"
    sessions = []
    for _ in range(2):
        code, out = await run_cli(
            "demo", "--port", str(free_port()), env=env, cwd=tmp_path, stdin="/start\n/bantuan\n/keluar\n".encode(),
        )
        assert code == 0, out
        sessions.append(out)
        db = Database(env["DATABASE_URL"])
        try:
            async with db.session() as session:
                rows = (await session.execute(
                    select(InboundUpdate.update_id, InboundUpdate.handled_at).order_by(InboundUpdate.id)
                )).all()
        finally:
            await db.dispose()
    first, second = rows[:2], rows[2:]
    assert len(second) == 2 and all(handled for _, handled in rows)
    assert min(u for u, _ in second) > max(u for u, _ in first)
    for out in sessions:
        assert "Selamat datang" in out, out
        assert t("id", "help.header") in out, out
