"""What every export shares: the request, the result, the kinds registry, size limits, periods.

An export kind (`ExportKind`) names what it writes, which period it needs (a fiscal year, a
date range, or none) and a `write` coroutine that streams rows from its own database session
into files. /ekspor builds its buttons from `KINDS` and the CLI calls the same writers, so a new
kind (bot/exports/tickets.py) is one module that calls `register_kind`.

Size: Telegram accepts documents up to 50 MB from a bot (`EXPORT_MAX_BYTES`). A CSV larger than
that is cut into parts at row boundaries, each with the header; an XLSX (one zip) cannot be cut
after the fact and is refused with its size, pointing to the CLI, which has no limit.
"""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.safe_cells import SafeCsvWriter
from bot.services.parsing import ParseError, parse_date
from bot.services.scope import Scope
from storage.db import Database

Period = Literal["year", "range", "none"]


@dataclass(frozen=True)
class ExportRequest:
    """One export: what, for which scope and period, where to, how large a file may be."""

    kind: str
    scope: Scope
    out_dir: Path
    tz: ZoneInfo
    now: datetime
    fiscal_year: int | None = None
    first_day: date | None = None  # the date range, inclusive, in the office's timezone
    last_day: date | None = None
    max_bytes: int | None = None  # None: no limit (the CLI)
    stem: str | None = None  # file name without extension (default: from the kind and period)

    def utc_range(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC of the local date range."""
        assert self.first_day is not None and self.last_day is not None
        start = datetime.combine(self.first_day, time(), self.tz)
        end = datetime.combine(self.last_day + timedelta(days=1), time(), self.tz)
        return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


@dataclass
class ExportResult:
    """The files written (several parts for a large CSV), rows, and figures for the caption."""

    files: list[Path] = field(default_factory=list)
    rows: int = 0
    figures: dict[str, int] = field(default_factory=dict)


class ExportError(Exception):
    """An export that cannot be made as asked; `key` names the catalogue message."""

    def __init__(self, key: str, **values: Any) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


class TooLarge(ExportError):
    """The file would exceed the document limit and cannot be split."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__("export.too_large", size=size, limit=limit)
        self.size = size
        self.limit = limit


@dataclass(frozen=True)
class ExportKind:
    """One thing /ekspor and `kopdesk export` can write."""

    key: str  # short: it goes into button data; its button label is `export.kind_<key>`
    order: int
    period: Period
    extension: str
    write: Callable[[Database, ExportRequest], Awaitable[ExportResult]]
    words: tuple[str, ...] = ()  # what an officer may type after /ekspor to choose it


KINDS: dict[str, ExportKind] = {}


def register_kind(kind: ExportKind) -> None:
    """Add (or replace) an export kind."""
    KINDS[kind.key] = kind


def kinds() -> list[ExportKind]:
    """Every export kind, in menu order."""
    import bot.exports  # noqa: F401  the built-in kinds register themselves on import

    return sorted(KINDS.values(), key=lambda k: (k.order, k.key))


def kind_for_word(word: str) -> ExportKind | None:
    """The kind an officer named (`/ekspor laporan`), or None."""
    word = word.lower()
    return next((k for k in kinds() if word == k.key or word in k.words), None)


def file_stem(request: ExportRequest) -> str:
    """'laporan_2025', 'log_2026-11-01_2026-11-30', 'registri', plus the kecamatan if narrowed."""
    if request.stem:
        return request.stem
    parts = [{"reports": "laporan", "registry": "registri", "log": "log", "tickets": "tiket"}.get(request.kind, request.kind)]
    if request.fiscal_year is not None:
        parts.append(str(request.fiscal_year))
    if request.first_day and request.last_day:
        parts += [request.first_day.isoformat(), request.last_day.isoformat()]
    if request.scope.narrowed and len(request.scope.names) <= 2:
        parts += [re.sub(r"\W+", "-", n).strip("-").lower() for n in request.scope.names]
    return "_".join(parts)


# --- CSV in parts -------------------------------------------------------------------------------


class PartedCsv:
    """CSV files of at most `max_bytes` each, cut between rows; every part has the header.

    UTF-8 with a byte-order mark so Excel reads the accents right. Cells pass the formula guard.
    """

    def __init__(self, out_dir: Path, stem: str, header: list[str], max_bytes: int | None) -> None:
        self.out_dir, self.stem, self.header, self.max_bytes = out_dir, stem, header, max_bytes
        self.files: list[Path] = []
        self.rows = 0
        self._stream: Any = None
        self._size = 0
        self._rows_in_part = 0
        self._buffer = io.StringIO()
        self._encoder = SafeCsvWriter(self._buffer)

    def _encode(self, row: Iterable[Any]) -> bytes:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._encoder.writerow(row)
        return self._buffer.getvalue().encode("utf-8")

    def _open(self) -> None:
        if self._stream is not None:
            self._stream.close()
        path = self.out_dir / f"{self.stem}.part{len(self.files) + 1}.csv"
        self.files.append(path)
        self._stream = path.open("wb")
        head = "\ufeff".encode() + self._encode(self.header)
        self._stream.write(head)
        self._size, self._rows_in_part = len(head), 0

    def write(self, row: Iterable[Any]) -> None:
        """Append one row, starting a new part if this one would grow past the limit."""
        data = self._encode(row)
        if self._stream is None:
            self._open()
        elif self.max_bytes is not None and self._size + len(data) > self.max_bytes and self._rows_in_part:
            self._open()
        if self.max_bytes is not None and self._size + len(data) > self.max_bytes:
            raise TooLarge(self._size + len(data), self.max_bytes)  # one row alone is too big
        self._stream.write(data)
        self._size += len(data)
        self._rows_in_part += 1
        self.rows += 1

    def discard(self) -> None:
        """Close and remove what was written (after an error)."""
        if self._stream is not None:
            self._stream.close()
        for path in self.files:
            path.unlink(missing_ok=True)
        self.files = []

    def close(self) -> list[Path]:
        """Finish; a single part keeps the plain name, several are numbered '…_bagian-1-dari-3'."""
        if self._stream is None:
            self._open()
        self._stream.close()
        count = len(self.files)
        names = ([f"{self.stem}.csv"] if count == 1
                 else [f"{self.stem}_bagian-{i}-dari-{count}.csv" for i in range(1, count + 1)])
        self.files = [path.replace(self.out_dir / name) for path, name in zip(self.files, names, strict=True)]
        return self.files


def limited(path: Path, max_bytes: int | None) -> Path:
    """The path, unless the file is larger than the limit (then it is removed: TooLarge)."""
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        path.unlink()
        raise TooLarge(size, max_bytes)
    return path


# --- periods -------------------------------------------------------------------------------------

_RANGE_SEPARATORS = re.compile(r"\s+(?:s/d|s\.d\.?|sd|sampai|hingga|to|until|-|–|—)\s+", re.IGNORECASE)


def parse_range(text: str, today: date) -> tuple[date, date]:
    """'01/11/2026 30/11/2026', '1 November 2026 s/d 30 November 2026', '2026-11-01 - 2026-11-30'.

    Raises ExportError for an unreadable, backwards or future range.
    """
    text = " ".join(text.split())
    parts = _RANGE_SEPARATORS.split(text)
    if len(parts) != 2:
        words = text.split(" ")
        parts = words if len(words) == 2 else []
    if len(parts) != 2:
        raise ExportError("export.range_usage")
    try:
        first, last = (parse_date(p, today=today) for p in parts)
    except ParseError:
        raise ExportError("export.range_usage") from None
    return check_range(first, last, today)


def check_range(first: date, last: date, today: date) -> tuple[date, date]:
    """The range if it runs forward and ends by today; ExportError naming the problem otherwise."""
    if last < first:
        raise ExportError("export.range_backwards", first=first, last=last)
    if last > today:
        raise ExportError("export.range_future", last=last, today=today)
    return first, last


def preset_range(preset: str, today: date) -> tuple[date, date]:
    """The period a button names: 'd7' and 'd30' (last days, today included), 'm0' this month,
    'm1' last month."""
    if preset in ("d7", "d30"):
        return today - timedelta(days=int(preset[1:]) - 1), today
    if preset == "m0":
        return today.replace(day=1), today
    if preset == "m1":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    raise ExportError("export.range_usage")
