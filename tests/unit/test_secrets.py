"""Secrets never reach a log line: the bot token is redacted from messages, args and tracebacks."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from telegram.error import NetworkError
from telegram.request import HTTPXRequest

from bot.logging_setup import REDACTED, SecretFilter, configure_logging
from bot.runtime import Runtime
from bot.settings import Settings
from bot.tg.build import build_application
from tests.support.cli import run_cli
from tests.support.fake_api import rejecting_bot_api

TOKEN = "123456:TEST-TOKEN-abcdefghijklmnop"
TOKEN_SECRET_PART = "TEST-TOKEN-abcdefghijklmnop"
WEBHOOK_SECRET = "hook_SECRET-value"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """Where `configure_logging` writes during the test; the previous logging set-up returns after."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    saved_levels = {name: logging.getLogger(name).level for name in ("httpx", "apscheduler")}
    stream = io.StringIO()
    yield stream
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved_handlers:
        root.addHandler(handler)
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


def test_token_redacted_from_message(log_stream: io.StringIO) -> None:
    """A token written into the message itself is replaced by [REDACTED]."""
    configure_logging("INFO", [TOKEN], stream=log_stream)
    logging.getLogger("kopdesk.test").warning(f"calling https://api.telegram.org/bot{TOKEN}/getMe")
    out = log_stream.getvalue()
    assert f"calling https://api.telegram.org/bot{REDACTED}/getMe" in out
    assert TOKEN_SECRET_PART not in out


def test_token_redacted_from_args(log_stream: io.StringIO) -> None:
    """A token passed as a %-argument is redacted after formatting; other args stay."""
    configure_logging("INFO", [TOKEN, WEBHOOK_SECRET], stream=log_stream)
    logging.getLogger("kopdesk.test").info("url %s, secret %s, chat %d", TOKEN, WEBHOOK_SECRET, 42)
    out = log_stream.getvalue()
    assert f"url {REDACTED}, secret {REDACTED}, chat 42" in out
    assert TOKEN_SECRET_PART not in out and WEBHOOK_SECRET not in out


def test_token_redacted_from_traceback(log_stream: io.StringIO) -> None:
    """An exception whose text holds the token is logged with its traceback, token redacted."""
    configure_logging("INFO", [TOKEN], stream=log_stream)
    try:
        raise RuntimeError(f"connection to /bot{TOKEN}/sendMessage refused")
    except RuntimeError:
        logging.getLogger("kopdesk.test").exception("send failed")
    out = log_stream.getvalue()
    assert "Traceback (most recent call last)" in out
    assert f"RuntimeError: connection to /bot{REDACTED}/sendMessage refused" in out
    assert TOKEN_SECRET_PART not in out


def test_filter_redacts_every_handler_output_path() -> None:
    """SecretFilter rewrites the record itself, so any formatter after it sees no secret."""
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "token=%s", (TOKEN,), exc_info=None
    )
    try:
        raise ValueError(TOKEN)
    except ValueError as exc:
        record.exc_info = (type(exc), exc, exc.__traceback__)
    assert SecretFilter([TOKEN]).filter(record) is True
    formatted = logging.Formatter().format(record)
    assert f"token={REDACTED}" in formatted and f"ValueError: {REDACTED}" in formatted
    assert TOKEN_SECRET_PART not in formatted


async def test_failing_application_logs_no_token(log_stream: io.StringIO, tmp_path) -> None:
    """An application whose Bot API is unreachable logs (even at DEBUG) nothing with the token."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'secrets.db'}",
        telegram_api_url="http://127.0.0.1:9/bot",
    )
    configure_logging("DEBUG", settings.secrets(), stream=log_stream)
    runtime = Runtime.create(settings)
    requests = [HTTPXRequest(connect_timeout=2), HTTPXRequest(connect_timeout=2)]
    try:
        app = build_application(runtime, request=requests[0], get_updates_request=requests[1])
        with pytest.raises(NetworkError) as failed:
            await app.initialize()  # getMe against a closed port
        logging.getLogger("kopdesk").error("start-up failed", exc_info=failed.value)
    finally:
        for request in requests:
            await request.shutdown()
        await runtime.db.dispose()
    out = log_stream.getvalue()
    # The failure was logged, and PTB's DEBUG lines that carry the API URL were redacted...
    assert "start-up failed" in out and "NetworkError" in out
    assert f"http://127.0.0.1:9/bot{REDACTED}" in out
    # ...so the token appears nowhere, whole or in part.
    assert TOKEN not in out
    assert TOKEN_SECRET_PART not in out


REVOKED = "123456:REVOKED-token-SECRETPART"


def test_check_with_rejected_token_prints_no_token(tmp_path) -> None:
    """`kopdesk check` with a token the Bot API rejects reports it without printing the token."""
    with rejecting_bot_api() as api_url:
        result = run_cli(
            "check",
            cwd=tmp_path,
            BOT_TOKEN=REVOKED,
            TELEGRAM_API_URL=api_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'check.db'}",
        )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "telegram: FAILED" in result.stdout
    assert "SECRETPART" not in output


def test_run_with_rejected_token_prints_no_token(tmp_path) -> None:
    """`kopdesk run` with a token the Bot API rejects fails without printing the token."""
    with rejecting_bot_api() as api_url:
        result = run_cli(
            "run",
            cwd=tmp_path,
            BOT_TOKEN=REVOKED,
            TELEGRAM_API_URL=api_url,
            DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
            LOG_LEVEL="WARNING",
        )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "InvalidToken" in output or "rejected" in output
    assert "SECRETPART" not in output
