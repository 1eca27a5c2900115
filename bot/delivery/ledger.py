"""The send ledger: what this worker put on the wire, written before the database knows.

The journal writes send results to the database a moment after Telegram answered (group
commit). A `kill -9` in that moment used to leave rows in `sending` that Telegram had already
accepted, and the restart sent them again. The ledger closes that gap with a local append-only
file per worker, written with one `write(2)` per record and no buffering in the process, so a
record survives the process being killed (not a power cut: the page cache is not flushed):

    a <row>           the row's request is leaving (its headers were just written)
    s <row> <msg_id>  Telegram accepted it
    n <row>           Telegram did not take it (an error, a 429): safe to send again

On start, a worker reads the ledger its previous run left (SQLite: the same worker id; on
PostgreSQL: ids of dead processes of this host) and settles that run's rows still in `sending`:
`s` → sent (and logged), never sent again; `a` without an answer → *uncertain*: the request
was on the wire and may have arrived. Sources registered as at-most-once (reminders, where a
second copy is worse than a missed one, since the next reminder follows) are failed with that
reason; everything else is sent again (at-least-once, as before, but now only for requests
truly in flight at the kill). Rows without a record were never sent: back to pending.

Files are segments (`<worker>.<n>.ledger`); a segment is deleted once every row it mentions is
committed by the journal, so the directory holds a few kilobytes to a few megabytes.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

_LOG = logging.getLogger(__name__)
ROTATE_RECORDS = 20_000  # records per segment before a new one is started
_SAFE = re.compile(r"[^A-Za-z0-9@:._-]")


def file_stem(worker_id: str) -> str:
    """The worker id as a file name (ids are host names, pids and the like; be safe anyway)."""
    return _SAFE.sub("_", worker_id)


@dataclass
class LedgerState:
    """What a ledger says of each row, the last record winning."""

    sent: dict[int, int | None] = field(default_factory=dict)  # row → Telegram message id
    uncertain: set[int] = field(default_factory=set)  # on the wire when the process died
    unsent: set[int] = field(default_factory=set)  # Telegram did not take it

    def apply(self, line: str) -> None:
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            return  # a torn or foreign line: ignore
        kind, row = parts[0], int(parts[1])
        self.sent.pop(row, None)
        self.uncertain.discard(row)
        self.unsent.discard(row)
        if kind == "a":
            self.uncertain.add(row)
        elif kind == "s":
            self.sent[row] = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
        elif kind == "n":
            self.unsent.add(row)


def segments(directory: Path, worker_id: str) -> list[Path]:
    """The worker's segment files, oldest first."""
    stem = file_stem(worker_id)
    found = []
    for path in directory.glob(f"{stem}.*.ledger"):
        number = path.name[len(stem) + 1:-len(".ledger")]
        if number.isdigit():
            found.append((int(number), path))
    return [p for _, p in sorted(found)]


def ledger_workers(directory: Path) -> set[str]:
    """Worker ids (as file stems) with a ledger in `directory`."""
    if not directory.is_dir():
        return set()
    return {p.name.rsplit(".", 2)[0] for p in directory.glob("*.*.ledger")}


def read(directory: Path, worker_id: str) -> LedgerState:
    """Everything the worker's segments say, in order."""
    state = LedgerState()
    for path in segments(directory, worker_id):
        try:
            text = path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            continue
        for line in text.splitlines():
            state.apply(line)
    return state


def in_use(directory: Path, worker_id: str) -> bool:
    """True if a running worker holds one of these segments (each holds its current one with
    an exclusive `flock`): a process that only looks dead — another container with the same
    host name, say — keeps its ledger."""
    for path in segments(directory, worker_id):
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the lock we may have taken
    return False


def remove(directory: Path, worker_id: str) -> None:
    """Delete the worker's segments (after what they said is in the database)."""
    for path in segments(directory, worker_id):
        path.unlink(missing_ok=True)


class SendLedger:
    """The running worker's ledger. Without a directory it records nothing (tests, tools)."""

    def __init__(self, directory: Path | None, worker_id: str, *,
                 rotate_records: int = ROTATE_RECORDS) -> None:
        self.directory = directory
        self.worker_id = worker_id
        self._rotate = rotate_records
        self._fd: int | None = None
        self._segment = 0
        self._records = 0
        self._rows: dict[int, set[int]] = {}  # uncommitted row → segments that mention it
        self._open: dict[int, int] = {}  # segment → uncommitted rows it mentions

    def open(self) -> None:
        """Start a new segment after any the previous run left (they are read first)."""
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = segments(self.directory, self.worker_id)
        last = int(existing[-1].name.rsplit(".", 2)[1]) if existing else 0
        self._start_segment(last + 1)

    def _start_segment(self, number: int) -> None:
        assert self.directory is not None
        previous, old_fd = self._segment, self._fd
        self._segment, self._records = number, 0
        self._open.setdefault(number, 0)
        path = self.directory / f"{file_stem(self.worker_id)}.{number}.ledger"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)  # ours while we run (see `in_use`)
        if old_fd is not None:
            os.close(old_fd)
            self._collect(previous)  # no longer current: gone once its rows are committed

    def _write(self, row_id: int, line: str) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, line.encode("ascii"))
        except OSError:  # a full disk must not stop delivery; the guarantee falls back
            _LOG.exception("could not write the send ledger")
            return
        segs = self._rows.setdefault(row_id, set())
        if self._segment not in segs:
            segs.add(self._segment)
            self._open[self._segment] = self._open.get(self._segment, 0) + 1
        self._records += 1
        if self._records >= self._rotate:
            self._start_segment(self._segment + 1)

    def attempt(self, row_id: int) -> None:
        """The row's request is leaving (called through `bot.delivery.http.ON_WIRE`)."""
        self._write(row_id, f"a {row_id}\n")

    def sent(self, row_id: int, message_id: int | None) -> None:
        """Telegram accepted the row."""
        self._write(row_id, f"s {row_id} {message_id or 0}\n")

    def unsent(self, row_id: int) -> None:
        """Telegram did not take the row; sending it again sends it once."""
        self._write(row_id, f"n {row_id}\n")

    def committed(self, row_ids: Iterable[int]) -> None:
        """The journal wrote these rows' results: their records are no longer needed."""
        touched: set[int] = set()
        for row_id in row_ids:
            for seg in self._rows.pop(row_id, ()):
                self._open[seg] -= 1
                touched.add(seg)
        for seg in touched:
            self._collect(seg)

    def _collect(self, seg: int) -> None:
        if seg == self._segment or self._open.get(seg, 0) > 0 or self.directory is None:
            return
        self._open.pop(seg, None)
        path = self.directory / f"{file_stem(self.worker_id)}.{seg}.ledger"
        path.unlink(missing_ok=True)

    def unsettled(self) -> list[int]:
        """Rows whose records the journal has not written: at shutdown they stay `sending`, for
        the next start to settle from the file, instead of going back to pending blindly."""
        return list(self._rows)

    def close(self, *, clean: bool) -> None:
        """Stop writing; `clean` (every result committed) also deletes the files."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if clean and self.directory is not None and not self._rows:
            remove(self.directory, self.worker_id)
