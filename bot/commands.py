"""The bot's commands: names, English aliases and the roles that may use them (SPEC 2).

Handlers take their command names from here and `setMyCommands` publishes the lists per role,
so the menu Telegram shows and what the bot accepts cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.roles import ADMINS, ALL_ROLES, GUESTS, MANAGERS, STAFF, Role


@dataclass(frozen=True)
class CommandSpec:
    """One command: Indonesian name, English alias, who may use it."""

    name: str
    alias: str
    roles: frozenset[Role]

    @property
    def names(self) -> list[str]:
        """Both spellings, for a CommandHandler."""
        return list(dict.fromkeys([self.name, self.alias]))

    @property
    def description_key(self) -> str:
        """Catalogue key of the one-line description shown in Telegram's menu."""
        return f"cmd.{self.name}"


START = CommandSpec("start", "start", ALL_ROLES)  # Telegram's own; no translation
HELP = CommandSpec("bantuan", "help", ALL_ROLES)
LANGUAGE = CommandSpec("bahasa", "language", ALL_ROLES)
CANCEL = CommandSpec("batal", "cancel", ALL_ROLES)
REGISTER = CommandSpec("daftar", "register", GUESTS)
PROFILE = CommandSpec("profil", "profile", MANAGERS)
REPORT = CommandSpec("laporan", "report", MANAGERS)
# Inside a report only; not published in the command menu.
SKIP = CommandSpec("lewati", "skip", ALL_ROLES)
INVITE = CommandSpec("undang", "invite", STAFF)
COOPERATIVE = CommandSpec("koperasi", "coop", STAFF)
STATUS = CommandSpec("status", "setstatus", STAFF)
OFFICERS = CommandSpec("petugas", "officers", ADMINS)
BROADCAST = CommandSpec("siaran", "broadcast", STAFF)
PROGRAMS = CommandSpec("program", "programs", ALL_ROLES)
ASK = CommandSpec("tanya", "ask", MANAGERS)
MY_TICKETS = CommandSpec("tiket_saya", "mytickets", MANAGERS)
TICKETS = CommandSpec("tiket", "tickets", STAFF)
MEETINGS = CommandSpec("rapat", "meetings", MANAGERS | STAFF)
NEW_MEETING = CommandSpec("rapat_baru", "newmeeting", STAFF)
STATISTICS = CommandSpec("statistik", "stats", STAFF)
EXPORT = CommandSpec("ekspor", "export", STAFF)

# In the order Telegram's command menu lists them.
COMMANDS: list[CommandSpec] = [
    START, REGISTER, REPORT, PROGRAMS, ASK, MY_TICKETS, MEETINGS, PROFILE, INVITE, TICKETS,
    COOPERATIVE, STATUS, OFFICERS, BROADCAST, NEW_MEETING, STATISTICS, EXPORT, HELP, LANGUAGE,
    CANCEL,
]


def commands_for(role: Role) -> list[CommandSpec]:
    """The commands a role may use, in menu order."""
    return [spec for spec in COMMANDS if role in spec.roles]
