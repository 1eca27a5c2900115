"""What a running KopDesk holds: settings, the database, the outbound log.

One instance per application, handed to handlers through `KopContext.runtime`; never a module
global, so tests can run several bots side by side.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from bot.delivery.limits import SendBudget
from bot.message_log import OutboundLog
from bot.settings import Settings
from storage.db import Database


def default_worker_id(db: Database) -> str:
    """This process among the deployment's (its delivery worker, its share of the send budget,
    its claim on the scheduler lease). SQLite: one id per host, so a restart takes back at once
    what it left; PostgreSQL: host and pid."""
    host = socket.gethostname()
    return f"sqlite@{host}" if db.is_sqlite else f"{host}:{os.getpid()}"


def gone_from_this_host(instance_id: str) -> bool:
    """True if `instance_id` (host:pid) names a process of this host that no longer runs: a
    bot restarted after a crash need not wait for the leases its dead predecessor held."""
    host, _, pid_text = instance_id.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


@dataclass
class Runtime:
    """The long-lived parts of one running bot."""

    settings: Settings
    db: Database
    outbound: OutboundLog
    # Telegram's limits belong to the bot: every send of this process waits here.
    budget: SendBudget = field(default=None)  # type: ignore[assignment]
    # This process among the deployment's (default: `default_worker_id`).
    instance_id: str = ""

    def __post_init__(self) -> None:
        if not self.instance_id:
            self.instance_id = default_worker_id(self.db)
        if self.budget is None:
            self.budget = SendBudget(self.settings.send_rate,
                                     group_rate=(self.settings.group_send_rate, 60.0))

    @classmethod
    def create(cls, settings: Settings) -> Runtime:
        """Build the runtime for these settings (engine created, nothing connected yet)."""
        db = Database(settings.database_url)
        return cls(settings=settings, db=db, outbound=OutboundLog(db))
