"""Configuration: readable errors, secret token, parsing of lists, the send-rate ceiling."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.settings import Settings, SettingsError, load_settings
from tests.support.cli import REPO, clean_env, run_cli

# A value that is not a token; it must never be printed, even in an error.
MALFORMED_TOKEN = "not-a-token-SuperSecretValue42"
TOKEN = "123456:AAF-valid_Token-value"


@pytest.fixture(autouse=True)
def no_settings_in_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test starts without any KopDesk variable and outside the repository (no .env)."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def _errors(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings(_env_file=None)
    return caught.value.lines


def test_each_bad_setting_gives_one_line_naming_it_and_why(monkeypatch: pytest.MonkeyPatch) -> None:
    """Several invalid settings give exactly one line each: the variable name and the reason."""
    lines = _errors(
        monkeypatch,
        BOT_TOKEN=MALFORMED_TOKEN,
        ADMIN_IDS="1,abc",
        TIMEZONE="Mars/Olympus",
        REPORT_DEADLINE="13-45",
        DATABASE_URL="mysql://root@localhost/kopdesk",
        INACTIVE_AFTER_YEARS="0",
    )
    by_name = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines}
    assert len(lines) == 6, lines
    assert set(by_name) == {
        "BOT_TOKEN", "ADMIN_IDS", "TIMEZONE", "REPORT_DEADLINE", "DATABASE_URL",
        "INACTIVE_AFTER_YEARS",
    }
    assert "BotFather" in by_name["BOT_TOKEN"]
    assert "comma" in by_name["ADMIN_IDS"]
    assert "timezone" in by_name["TIMEZONE"]
    assert "MM-DD" in by_name["REPORT_DEADLINE"]
    assert "sqlite+aiosqlite" in by_name["DATABASE_URL"]
    assert "greater than or equal to 1" in by_name["INACTIVE_AFTER_YEARS"]
    assert all("\n" not in line for line in lines)


def test_valid_environment_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A complete valid environment loads, values converted to their types."""
    for name, value in {
        "BOT_TOKEN": TOKEN, "OFFICERS_CHAT_ID": "-1001234", "SEND_RATE": "10",
        "DEFAULT_LANGUAGE": "en", "LOG_LEVEL": "DEBUG",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(_env_file=None)
    assert settings.officers_chat_id == -1001234
    assert settings.send_rate == 10
    assert settings.default_language == "en"
    assert settings.log_level == "DEBUG"


def test_bot_token_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """BOT_TOKEN is a SecretStr: its value is hidden from repr/str of the settings."""
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    settings = load_settings(_env_file=None)
    assert isinstance(settings.bot_token, SecretStr)
    assert settings.bot_token.get_secret_value() == TOKEN
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    assert settings.secrets() == [TOKEN]


def test_malformed_token_value_never_in_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A malformed BOT_TOKEN is refused without echoing its value."""
    lines = _errors(monkeypatch, BOT_TOKEN=MALFORMED_TOKEN)
    assert len(lines) == 1 and lines[0].startswith("BOT_TOKEN:")
    assert MALFORMED_TOKEN not in "\n".join(lines)
    assert "SuperSecretValue42" not in "\n".join(lines)


def test_admin_ids_parse_from_commas(monkeypatch: pytest.MonkeyPatch) -> None:
    """ADMIN_IDS "1,2" (spaces allowed) becomes [1, 2]; empty means no admins."""
    monkeypatch.setenv("ADMIN_IDS", "1,2")
    assert load_settings(_env_file=None).admin_ids == [1, 2]
    monkeypatch.setenv("ADMIN_IDS", " 111 , 222 ")
    assert load_settings(_env_file=None).admin_ids == [111, 222]
    monkeypatch.setenv("ADMIN_IDS", "")
    assert load_settings(_env_file=None).admin_ids == []


def test_reminder_offsets_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    """REMINDER_OFFSETS "7d,1d,2h" becomes three timedeltas; minutes work; junk is refused."""
    monkeypatch.setenv("REMINDER_OFFSETS", "7d,1d,2h")
    assert load_settings(_env_file=None).reminder_offsets == [
        timedelta(days=7), timedelta(days=1), timedelta(hours=2)
    ]
    monkeypatch.setenv("REMINDER_OFFSETS", "30m")
    assert load_settings(_env_file=None).reminder_offsets == [timedelta(minutes=30)]
    lines = _errors(monkeypatch, REMINDER_OFFSETS="7d,soon")
    assert len(lines) == 1 and lines[0].startswith("REMINDER_OFFSETS:") and "'soon'" in lines[0]


def test_send_rate_above_30_needs_paid_broadcasts(monkeypatch: pytest.MonkeyPatch) -> None:
    """SEND_RATE over 30 is refused (naming SEND_RATE and PAID_BROADCASTS) unless paid, max 1000."""
    monkeypatch.setenv("SEND_RATE", "30")
    assert load_settings(_env_file=None).send_rate == 30
    lines = _errors(monkeypatch, SEND_RATE="31")
    assert len(lines) == 1
    assert lines[0].startswith("SEND_RATE:") and "PAID_BROADCASTS" in lines[0]
    monkeypatch.setenv("PAID_BROADCASTS", "true")
    assert load_settings(_env_file=None).send_rate == 31
    monkeypatch.setenv("SEND_RATE", "1000")
    assert load_settings(_env_file=None).send_rate == 1000
    lines = _errors(monkeypatch, SEND_RATE="1001")
    assert len(lines) == 1 and lines[0].startswith("SEND_RATE:") and "1000" in lines[0]


@pytest.mark.parametrize("command", ["check", "run"])
def test_cli_invalid_env_exits_2_without_traceback(command: str, tmp_path: Path) -> None:
    """check/run with invalid settings: exit 2, a line per setting, no traceback, no token."""
    result = run_cli(
        command,
        cwd=tmp_path,
        BOT_TOKEN=MALFORMED_TOKEN,
        ADMIN_IDS="x,y",
        SEND_RATE="fast",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output
    assert MALFORMED_TOKEN not in output and "SuperSecretValue42" not in output
    lines = result.stderr.strip().splitlines()
    assert [line.split(":")[1].strip() for line in lines] == ["BOT_TOKEN", "ADMIN_IDS", "SEND_RATE"]
    assert all(line.startswith("configuration error: ") for line in lines)


@pytest.mark.parametrize("token_env", [{}, {"BOT_TOKEN": ""}])
def test_cli_run_without_token_exits_2_naming_bot_token(
    token_env: dict[str, str], tmp_path: Path
) -> None:
    """`kopdesk run` without BOT_TOKEN (unset or empty) exits 2 with a line naming BOT_TOKEN."""
    result = run_cli("run", cwd=tmp_path, **token_env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("configuration error: BOT_TOKEN:")
    # It stopped before touching any database.
    assert not list(tmp_path.iterdir())


def _all_modules() -> list[str]:
    names = []
    for package in ("bot", "handlers", "storage"):
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO)
            if relative.parts[:2] == ("storage", "migrations"):
                continue  # Alembic scripts, run by Alembic only
            parts = list(relative.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts[-1] == "__main__":
                continue
            names.append(".".join(parts))
    return names


def test_every_module_imports_without_environment(tmp_path: Path) -> None:
    """Every bot/handlers/storage module imports with no settings, or invalid ones, in the env."""
    modules = _all_modules()
    assert {"bot.settings", "bot.cli", "bot.tg.build", "handlers.basics", "storage.db"} <= set(
        modules
    )
    script = textwrap.dedent(
        f"""
        import importlib
        for name in {modules!r}:
            importlib.import_module(name)
        print("imported", len({modules!r}))
        """
    )
    invalid = {
        "BOT_TOKEN": MALFORMED_TOKEN, "DATABASE_URL": "mysql://x", "SEND_RATE": "fast",
        "ADMIN_IDS": "a,b", "TIMEZONE": "Nowhere/Never",
    }
    for env in ({}, invalid):
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=tmp_path,
            env=clean_env(**env),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"imported {len(modules)}"
