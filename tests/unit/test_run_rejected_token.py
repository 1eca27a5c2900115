"""`kopdesk run` with a token the Bot API rejects: a clear line, no traceback, no token."""

from __future__ import annotations

from tests.support.cli import run_cli
from tests.support.fake_api import rejecting_bot_api

TOKEN = "424242:REVOKED-token-VERYSECRET"


def test_run_with_rejected_token_exits_cleanly(tmp_path) -> None:
    """The process stops with status 2 and a line naming BOT_TOKEN; the token is never printed."""
    with rejecting_bot_api() as api_url:
        result = run_cli(
            "run", cwd=tmp_path, BOT_TOKEN=TOKEN, TELEGRAM_API_URL=api_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
        )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "check BOT_TOKEN" in result.stderr
    assert "VERYSECRET" not in output
    assert "Traceback" not in output
