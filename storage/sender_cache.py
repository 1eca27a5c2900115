"""The senders of recent updates, remembered between their updates.

Before every update the bot must know who wrote: his person row, his role, how many messages
he sent in the last minute (handlers/pre.py). That is a SELECT, and the largest part of an
update's cost when the answer itself comes from a catalogue. A burst — a restart's backlog,
a broadcast everybody answers — brings the same people again and again within seconds, so a
process that sees every update of its bot (`kopdesk run`; not the queue workers, which share
a chat's updates) keeps the facts for TTL:

* a hit puts the remembered person row into the update's session without a query (`attach`)
  and counts the message towards the flood limit in memory, on top of the count the database
  gave when the entry was loaded (messages that left the window since are still counted, so
  within TTL the limit can only bite early, never late);
* a write of this process to the tables the facts come from (people, officers, their scopes,
  manager links) forgets them when it commits: a DML statement names the Telegram user it
  concerns with the execution option `SENDER`, or forgets everyone; an ORM flush of a person
  or an officer forgets that user; of a scope or a link, everyone;
* an entry is stored only when the transaction that loaded it ends, from the session's own
  objects, and not if someone else's write forgot that user meanwhile (epochs);
* what another process writes (`kopdesk officers add` beside a running bot) is seen within TTL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.session import SessionTransaction

from storage.models import ManagerLink, Officer, OfficerScope, Person

TTL = timedelta(seconds=10)
# Execution option of a DML statement on `WATCHED` tables: the Telegram id it concerns.
SENDER = "kopdesk_sender"
WATCHED = frozenset({"people", "officers", "officer_scopes", "manager_links"})
EVERYONE = 0  # in a set of forgotten ids: all of them

_FORGET = "kopdesk_senders_forget"  # session.info: ids whose facts this session changed
_PENDING = "kopdesk_senders_pending"  # session.info: the sender loaded in this session
_COLUMNS = tuple(attr.key for attr in inspect(Person).column_attrs)


@dataclass
class Entry:
    """What is remembered of one sender."""

    person: dict[str, Any]  # the person row's columns
    identity: Any  # his role (bot.services.roles.Identity)
    count: int  # his messages in the flood window (this one included), as far as known
    loaded_at: datetime
    # The row as a detached ORM object, lent to one session at a time (`attach`).
    obj: Person


@dataclass
class _Pending:
    telegram_id: int
    person: Person
    identity: Any
    count: int
    epoch: int
    loaded_at: datetime


class SenderCache:
    """Sender facts by Telegram id, for TTL; see the module docstring."""

    MAX_FORGOTTEN = 10_000
    SWEEP_FROM = 1_024

    def __init__(self, ttl: timedelta = TTL) -> None:
        self.ttl = ttl
        self._entries: dict[int, Entry] = {}
        self._epoch = 0
        self._forgotten: dict[int, int] = {}  # telegram id -> epoch it was last forgotten at
        self._all_forgotten = 0  # epoch of the last "forget everyone"
        self.hits = 0
        self.misses = 0
        self._sweep_at = self.SWEEP_FROM  # entries before expired ones are dropped

    # -- reading -------------------------------------------------------------------------
    def get(self, telegram_id: int, now: datetime) -> Entry | None:
        """The remembered facts, if loaded less than TTL ago."""
        entry = self._entries.get(telegram_id)
        if entry is None or now - entry.loaded_at >= self.ttl:
            self.misses += 1
            if entry is not None:
                del self._entries[telegram_id]
            return None
        self.hits += 1
        return entry

    def epoch(self) -> int:
        """Taken before loading a sender: `expect` compares it with later forgets."""
        return self._epoch

    @staticmethod
    def attach(session: Any, entry: Entry) -> Person | None:
        """The remembered person as a clean, persistent object of `session` (no query), or
        None if the session holds that person already.

        The entry's own object is lent when no other session has it (a session's end detaches
        it again; a rollback while it had it forgets the entry, see `_on_rollback`), else a copy.
        """
        person = entry.obj if inspect(entry.obj).detached else _detached(entry.person)
        try:
            session.add(person)
        except Exception:  # another object with that identity: let the caller load it
            return None
        return person

    # -- writing -------------------------------------------------------------------------
    def expect(self, session: Any, telegram_id: int, person: Person, identity: Any, count: int,
               *, epoch: int, now: datetime) -> None:
        """Remember this sender once `session`'s transaction ends well (see module docstring)."""
        session.info[_PENDING] = _Pending(telegram_id, person, identity, count, epoch, now)

    def forget(self, telegram_id: int) -> None:
        """Forget one sender (EVERYONE: all)."""
        self._epoch += 1
        if telegram_id == EVERYONE:
            self._entries.clear()
            self._forgotten.clear()
            self._all_forgotten = self._epoch
            return
        self._entries.pop(telegram_id, None)
        if len(self._forgotten) >= self.MAX_FORGOTTEN:
            self._forgotten.clear()
            self._all_forgotten = self._epoch
        self._forgotten[telegram_id] = self._epoch

    def _changed_since(self, telegram_id: int, epoch: int) -> bool:
        return self._all_forgotten > epoch or self._forgotten.get(telegram_id, -1) > epoch

    def _store(self, pending: _Pending) -> None:
        values = inspect(pending.person).dict
        if any(key not in values for key in _COLUMNS):  # expired: not a row we can trust
            return
        row = {key: values[key] for key in _COLUMNS}
        self._entries[pending.telegram_id] = Entry(row, pending.identity, pending.count,
                                                   pending.loaded_at, _detached(row))
        if len(self._entries) >= self._sweep_at:  # senders who did not come back
            cutoff = pending.loaded_at - self.ttl
            for telegram_id in [k for k, e in self._entries.items() if e.loaded_at <= cutoff]:
                del self._entries[telegram_id]
            self._sweep_at = max(self.SWEEP_FROM, 2 * len(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    # -- the session events --------------------------------------------------------------
    def watch(self, session_class: type[Session]) -> None:
        """Listen to the sessions of `session_class` (one database's)."""
        event.listen(session_class, "do_orm_execute", self._on_execute)
        event.listen(session_class, "after_flush", self._on_flush)
        event.listen(session_class, "after_commit", self._on_commit)
        event.listen(session_class, "after_rollback", self._on_rollback)
        event.listen(session_class, "after_transaction_end", self._on_end)

    def _on_execute(self, state: ORMExecuteState) -> None:
        if not (state.is_insert or state.is_update or state.is_delete):
            return
        table = getattr(state.statement, "table", None)
        if getattr(table, "name", None) not in WATCHED:
            return
        concerned = state.execution_options.get(SENDER, EVERYONE)
        # An INSERT leaves no loaded object stale; an UPDATE or DELETE may.
        key = "inserted" if state.is_insert and table.name == "people" else "stale"
        state.session.info.setdefault(_FORGET, {"stale": set(), "inserted": set()})[key].add(concerned)

    def _on_flush(self, session: Session, _context: Any) -> None:
        marks = session.info.setdefault(_FORGET, {"stale": set(), "inserted": set()})
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, Person):
                marks["inserted"].add(obj.telegram_id)  # the object holds what was written
            elif isinstance(obj, Officer):
                marks["stale"].add(obj.telegram_id)
            elif isinstance(obj, ManagerLink | OfficerScope):
                marks["stale"].add(EVERYONE)

    def _on_commit(self, session: Session) -> None:
        pending: _Pending | None = session.info.pop(_PENDING, None)
        marks = session.info.pop(_FORGET, None)
        stale: set[int] = marks["stale"] if marks else set()
        keep = (pending is not None and EVERYONE not in stale and pending.telegram_id not in stale
                and not self._changed_since(pending.telegram_id, pending.epoch))
        if marks:
            for telegram_id in (*stale, *marks["inserted"]):
                self.forget(telegram_id)
        if keep and pending is not None:
            self._store(pending)

    def _on_rollback(self, session: Session) -> None:
        session.info.pop(_PENDING, None)  # its objects are expired now
        session.info.pop(_FORGET, None)
        for telegram_id, entry in list(self._entries.items()):
            if entry.obj in session:  # lent to it: expired too
                self.forget(telegram_id)

    def _on_end(self, session: Session, transaction: SessionTransaction) -> None:
        """A transaction that ends without commit or rollback (a read-only session closed)."""
        if transaction.parent is not None or _FORGET in session.info:
            return
        pending: _Pending | None = session.info.pop(_PENDING, None)
        if pending is not None and not self._changed_since(pending.telegram_id, pending.epoch):
            self._store(pending)


def _detached(row: dict[str, Any]) -> Person:
    """A person object for `row` as if loaded by a session that has ended."""
    person = Person(**row)
    make_transient_to_detached(person)
    return person
