"""Configuration: one pydantic-settings class, read from the environment and `.env`.

Built in `main()` (see `bot.cli`), never at import time, so every module imports without any
environment. Invalid settings are reported one line per setting by `load_settings`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_OFFSET_RE = re.compile(r"^(\d+)\s*([dhm])$")
_OFFSET_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_offset(text: str) -> timedelta:
    """Parse one reminder offset such as ``7d``, ``1d``, ``2h`` or ``30m``."""
    match = _OFFSET_RE.match(text.strip().lower())
    if not match:
        raise ValueError(f"{text.strip()!r} is not an offset like 7d, 2h or 30m")
    return timedelta(**{_OFFSET_UNITS[match.group(2)]: int(match.group(1))})


class Settings(BaseSettings):
    """Every setting of KopDesk; names are the environment variables (case-insensitive)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    database_url: str = "sqlite+aiosqlite:///kopdesk.db"
    telegram_api_url: str = "https://api.telegram.org/bot"
    officers_chat_id: int | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    error_chat_id: int | None = None
    timezone: str = "Asia/Makassar"
    default_language: Literal["id", "en"] = "id"
    region_name: str = "Kabupaten Kupang"
    office_name: str = "Dinas Perindustrian, Perdagangan, Koperasi dan UKM"
    send_rate: float = Field(25, gt=0)
    paid_broadcasts: bool = False
    # `kopdesk run` also runs the delivery engine; false when `kopdesk worker` processes do it.
    run_delivery_worker: bool = True
    # A row claimed by a worker that stopped answering goes back to the outbox after this.
    delivery_lease_seconds: float = Field(60, ge=2, le=3600)
    # Where each delivery worker keeps its send ledger (bot/delivery/ledger.py): a local
    # directory of this machine, kept across restarts. Empty: no ledger (a restart after a
    # crash then sends again what was sent in the last moments).
    send_ledger_dir: Path | None = Path("var/sends")
    reminder_offsets: Annotated[list[timedelta], NoDecode] = Field(
        default_factory=lambda: [timedelta(days=7), timedelta(days=1), timedelta(hours=2)]
    )
    report_deadline: str = "03-31"
    # Meetings, the report campaign, the digest (SPEC 6): how often the scheduler looks at the
    # database for due reminders; when the campaign starts; when officers get the digest.
    reminder_tick_seconds: float = Field(30, ge=0.2, le=3600)
    campaign_start: str = "01-15"
    campaign_skip_inactive: bool = False
    campaign_enabled: bool = True
    digest_time: str = "08:00"  # or "off"
    report_legal_deadline: str = "06-30"
    inactive_after_years: int = Field(2, ge=1, le=10)
    log_retention_days: int = Field(365, ge=1)
    # Largest file /ekspor sends (Telegram's bots may send documents up to 50 MB).
    export_max_bytes: int = Field(50_000_000, ge=1024, le=2_000_000_000)
    flood_limit_per_minute: int = Field(20, ge=1)
    # Telegram's limit per group chat (messages per minute), shared by every lane of the bot.
    group_send_rate: int = Field(20, ge=1, le=10_000)
    # Tickets (SPEC 5): raised again to officers when unanswered this long; checked every tick.
    ticket_escalate_after_hours: float = Field(24, gt=0)
    ticket_escalation_tick_seconds: float = Field(300, ge=0.5, le=86400)
    ticket_reopen_days: int = Field(7, ge=0, le=365)
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = Field(8443, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Tests only: a file holding seconds to add to the system time (bot/clock.py).
    clock_offset_file: Path | None = None

    @field_validator("bot_token", mode="before")
    @classmethod
    def _token_format(cls, value: object) -> object:
        if value in (None, ""):
            return None
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not _TOKEN_RE.match(raw.strip()):
            # Never echo the value: it is a secret even when malformed.
            raise ValueError("not a bot token of the form 123456:ABC-DEF (from @BotFather)")
        return raw.strip()

    @field_validator("send_ledger_dir", mode="before")
    @classmethod
    def _ledger_dir(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org/bot")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(re.fullmatch(r"-?\d+", p) for p in parts):
                raise ValueError("must be Telegram user ids separated by commas, e.g. 111,222")
            return [int(p) for p in parts]
        return value

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _offsets(cls, value: object) -> object:
        if isinstance(value, str):
            return [parse_offset(p) for p in value.split(",") if p.strip()]
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r} (e.g. Asia/Makassar)") from None
        return value

    @field_validator("digest_time")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if value.strip().lower() == "off":
            return "off"
        match = re.fullmatch(r"(\d{1,2})[:.](\d{2})", value.strip())
        if not match or not (int(match.group(1)) <= 23 and int(match.group(2)) <= 59):
            raise ValueError("must be HH:MM, e.g. 08:00, or off")
        return f"{int(match.group(1)):02d}:{match.group(2)}"

    @field_validator("report_deadline", "report_legal_deadline", "campaign_start")
    @classmethod
    def _month_day(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{2})-(\d{2})", value.strip())
        if not match or not (1 <= int(match.group(1)) <= 12 and 1 <= int(match.group(2)) <= 31):
            raise ValueError("must be MM-DD, e.g. 03-31")
        return value.strip()

    @field_validator("webhook_secret", mode="before")
    @classmethod
    def _webhook_secret(cls, value: object) -> object:
        if value in (None, ""):
            return None
        raw = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", raw):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return raw

    @model_validator(mode="after")
    def _send_rate_limit(self) -> Settings:
        ceiling = 1000 if self.paid_broadcasts else 30
        if self.send_rate > ceiling:
            raise ValueError(
                f"SEND_RATE: at most {ceiling} messages per second"
                + ("" if self.paid_broadcasts else " (set PAID_BROADCASTS=true for up to 1000)")
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The configured timezone object."""
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        """True when the database is the embedded SQLite default."""
        return self.database_url.startswith("sqlite")

    def secrets(self) -> list[str]:
        """The secret values that must never reach a log line."""
        found = [s.get_secret_value() for s in (self.bot_token, self.webhook_secret) if s]
        return [s for s in found if s]


class SettingsError(Exception):
    """Invalid configuration; `lines` holds one human-readable line per bad setting."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def describe_validation_error(error: ValidationError) -> list[str]:
    """One line per bad setting: the variable name and why, never the offending value."""
    lines = []
    for item in error.errors(include_input=False, include_url=False):
        name = str(item["loc"][0]).upper() if item["loc"] else ""
        message = str(item["msg"]).removeprefix("Value error, ")
        if not name and ":" in message:
            lines.append(message)
        else:
            lines.append(f"{name or 'settings'}: {message}")
    return lines


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment and `.env`, raising SettingsError if invalid."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(describe_validation_error(error)) from None
