"""One clock for the whole program, so tests move time instead of sleeping.

Every "what time is it" in KopDesk asks `now()` (directly, or through `storage.types.utcnow`).
The process-wide clock is the system clock unless one is installed:

- `ManualClock` for tests in one process: `advance(timedelta(hours=24))`, `set(datetime)`.
- `OffsetFileClock` for tests that drive a separate `kopdesk` process: the setting
  `CLOCK_OFFSET_FILE` names a file holding a number of seconds to add to the system time. The
  test writes a new number to move the process's time; the file is re-read when it changes.
  Never set in production.

Scheduled work must therefore compare stored due times with `now()` on a periodic tick (a
JobQueue job that polls the database), never rely on a timer that fires at a wall-clock
instant: then moving the clock makes the next tick see what fell due.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the current time as a timezone-aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock a test sets and moves; it does not advance by itself."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware time")
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta) -> None:
        self._now += delta


class OffsetFileClock:
    """The system time plus an offset in seconds read from a file (for end-to-end tests)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._offset = timedelta(0)

    def _read(self) -> timedelta:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return timedelta(0)
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            text = self.path.read_text(encoding="utf-8").strip()
            try:
                self._offset = timedelta(seconds=float(text or 0))
            except ValueError:  # a half-written file: keep the last offset, read again later
                return self._offset
            self._stamp = stamp
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self._read()


_current: Clock = SystemClock()


def now() -> datetime:
    """The current time of the program's clock, timezone-aware, in UTC."""
    return _current.now()


def current() -> Clock:
    """The installed clock."""
    return _current


def install(clock: Clock) -> Clock:
    """Make `clock` the program's clock; returns the one it replaces (to restore it)."""
    global _current
    previous, _current = _current, clock
    return previous


def write_offset(path: Path, offset: timedelta) -> None:
    """Move an `OffsetFileClock` reading `path` (atomically, so no reader sees half a number)."""
    tmp = Path(f"{path}.tmp")
    tmp.write_text(str(offset.total_seconds()), encoding="utf-8")
    os.replace(tmp, path)
