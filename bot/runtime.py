"""What a running KopDesk holds: settings, the database, the outbound log.

One instance per application, handed to handlers through `KopContext.runtime`; never a module
global, so tests can run several bots side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.delivery.limits import SendBudget
from bot.message_log import OutboundLog
from bot.settings import Settings
from storage.db import Database


@dataclass
class Runtime:
    """The long-lived parts of one running bot."""

    settings: Settings
    db: Database
    outbound: OutboundLog
    # Telegram's limits belong to the bot: every send of this process waits here.
    budget: SendBudget = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = SendBudget(self.settings.send_rate,
                                     group_rate=(self.settings.group_send_rate, 60.0))

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        """Build the runtime for these settings (engine created, nothing connected yet)."""
        db = Database(settings.database_url)
        return cls(settings=settings, db=db, outbound=OutboundLog(db))
