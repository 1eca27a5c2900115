"""Import and export of the cooperative registry as CSV or XLSX (`kopdesk coops import|export`).

The file is read as a stream, twice: the first pass validates every row and remembers only the
bad line numbers (and, on disk, the registration numbers seen, to catch duplicates); the second
pass writes the good rows in batches inside one transaction. So a file of 210,000 rows needs no
more memory than one of 2,100, and "nothing is written if any row is bad" holds without keeping
rows around. The format is documented in docs/IMPORT_FORMAT.md.
"""

from __future__ import annotations

import csv
import sqlite3
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.safe_cells import SafeCsvWriter, SafeXlsxSheet, csv_text
from bot.services.registry import (
    HEADER,
    MAX_LENGTH,
    CooperativeRecord,
    FieldError,
    HeaderPlan,
    KecamatanResolver,
    cell_text,
    plan_header,
    validate_row,
)
from storage.db import Database
from storage.repositories import registry as repo
from storage.types import utcnow

BATCH_SIZE = 1000


@dataclass(frozen=True)
class RowError:
    """One problem in the file; `column` None means the whole row (or file) is affected."""

    line: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.reason}"


@dataclass
class ImportResult:
    """What an import did. `written` is False when nothing was stored."""

    rows: int = 0  # non-blank data rows in the file
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid: int = 0  # rows with at least one error
    errors: list[RowError] = field(default_factory=list)
    written: bool = False
    created_kecamatan: list[str] = field(default_factory=list)
    fatal: bool = False  # the file as a whole is unusable (header, encoding, format)


class ImportFileError(Exception):
    """The file cannot be read any further (not UTF-8, broken CSV quoting, bad extension)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


# --- reading ------------------------------------------------------------------------------


@dataclass
class _Sheet:
    header: list[Any]
    rows: Iterator[tuple[int, list[Any]]]  # (line number, cells)
    total: int | None  # data rows, for the progress bar (an estimate for CSV)


def _count_lines(path: Path) -> int:
    count = 0
    last = b"\n"
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


@contextmanager
def _open_csv(path: Path) -> Iterator[_Sheet]:
    # utf-8-sig drops a byte-order mark if there is one (Excel's "CSV UTF-8" writes it).
    with path.open(newline="", encoding="utf-8-sig", errors="strict") as f:
        try:
            first = f.readline()
        except UnicodeDecodeError:
            raise ImportFileError(1, "the file is not UTF-8 text; save it as CSV UTF-8") from None
        # Excel in an Indonesian locale separates with ";" because "," is the decimal mark.
        delimiter = ";" if first.count(";") > first.count(",") else ","
        f.seek(0)
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        header = next(reader, [])

        def rows() -> Iterator[tuple[int, list[Any]]]:
            while True:
                line = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except UnicodeDecodeError:
                    raise ImportFileError(line, "not UTF-8 text from here on; save the file as CSV UTF-8") from None
                except csv.Error as exc:
                    raise ImportFileError(line, f"broken CSV: {exc}") from None
                # Undo the export's formula guard (bot.safe_cells): "'+62 …" → "+62 …".
                yield line, [csv_text(c) for c in cells]

        yield _Sheet(header, rows(), max(_count_lines(path) - 1, 0))


@contextmanager
def _open_xlsx(path: Path) -> Iterator[_Sheet]:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError... all mean "not a workbook"
        raise ImportFileError(1, f"cannot open as an XLSX workbook: {exc}") from None
    try:
        # read_only streams the sheet XML; the first sheet holds the registry.
        sheet = workbook.worksheets[0]
        values = sheet.iter_rows(values_only=True)
        header = list(next(values, ()) or ())
        total = (sheet.max_row - 1) if sheet.max_row else None
        yield _Sheet(header, ((line, list(cells)) for line, cells in enumerate(values, start=2)), total)
    finally:
        workbook.close()


def _open(path: Path) -> Any:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _open_csv(path)
    if suffix == ".xlsx":
        return _open_xlsx(path)
    raise ValueError(f"{path.name}: use a .csv or .xlsx file")


# --- validation ---------------------------------------------------------------------------


class _SeenNumbers:
    """Registration numbers met so far, kept in a temporary on-disk SQLite table.

    A Python set would grow with the file; this keeps memory flat at the cost of ~1 µs a row.
    """

    def __init__(self) -> None:
        self._db = sqlite3.connect("")  # "" = a private temporary file, removed on close
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute("CREATE TABLE seen (number TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")

    def first_line(self, number: str, line: int) -> int | None:
        """None the first time `number` is met; afterwards the line where it was first seen."""
        if self._db.execute("INSERT OR IGNORE INTO seen VALUES (?, ?)", (number, line)).rowcount:
            return None
        return self._db.execute("SELECT line FROM seen WHERE number = ?", (number,)).fetchone()[0]

    def close(self) -> None:
        """Drop the table and its file."""
        self._db.close()


def _cells_by_field(plan: HeaderPlan, width: int, cells: list[Any]) -> tuple[dict[str, Any], FieldError | None]:
    values = {c.field: cells[i] if i < len(cells) else None for i, c in plan.positions.items()}
    extra = [v for v in cells[width:] if cell_text(v) is not None]
    error = None
    if extra:
        error = FieldError(None, f"{width + len(extra)} values but the header has {width} columns")
    return values, error


def _row(record: CooperativeRecord, kecamatan_id: int) -> dict[str, Any]:
    values = record.model_dump(exclude={"kecamatan"})
    values["kecamatan_id"] = kecamatan_id
    return values


def _is_blank(cells: list[Any]) -> bool:
    return all(cell_text(c) is None for c in cells)


# --- import -------------------------------------------------------------------------------


async def import_cooperatives(
    db: Database,
    path: str | Path,
    *,
    skip_invalid: bool = False,
    progress: bool = True,
    create_kecamatan: bool = False,
) -> ImportResult:
    """Validate and upsert a registry file (CSV or XLSX) by registration number.

    Every bad row is reported with its line and column. Unless `skip_invalid`, nothing is written
    when any row is bad; with it, the good rows are written. `create_kecamatan` adds kecamatan the
    database does not know instead of rejecting their rows.
    """
    path = Path(path)
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ValueError(f"{path.name}: use a .csv or .xlsx file")
    result = ImportResult()
    async with db.session() as session:
        known = [(k.id, k.name, k.code) for k in await repo.list_kecamatan(session)]
    resolver = KecamatanResolver(known)
    try:
        bad_lines, new_kecamatan, fields = _check(path, resolver, create_kecamatan, result, progress)
    except ImportFileError as exc:
        result.errors.append(RowError(exc.line, None, exc.reason))
        result.fatal = True
        return result
    if result.fatal or (result.errors and not skip_invalid):
        return result
    if result.rows == result.invalid:
        return result
    await _write(db, path, resolver, bad_lines, new_kecamatan, fields, result, progress)
    return result


def _check(
    path: Path,
    resolver: KecamatanResolver,
    create_kecamatan: bool,
    result: ImportResult,
    progress: bool,
) -> tuple[set[int], list[str], frozenset[str]]:
    """Pass 1: validate every row; returns the bad lines, kecamatan to create, columns given."""
    bad_lines: set[int] = set()
    new_kecamatan: dict[str, str] = {}  # resolver key → name as first written
    with _open(path) as sheet:
        plan = plan_header(sheet.header)
        if plan.errors:
            result.errors.extend(RowError(1, e.column, e.reason) for e in plan.errors)
            result.fatal = True
            return bad_lines, [], plan.fields
        width = len(sheet.header)
        seen = _SeenNumbers()
        bar = tqdm(total=sheet.total, unit=" rows", desc="checking", file=sys.stderr,
                   disable=not progress, mininterval=0.5)
        try:
            for line, cells in sheet.rows:
                bar.update(1)
                if _is_blank(cells):
                    continue
                result.rows += 1
                values, extra = _cells_by_field(plan, width, cells)
                _record, _kid, errors = validate_row(values, None if create_kecamatan else resolver)
                if extra:
                    errors.insert(0, extra)
                number = cell_text(values.get("registration_number"))
                if number and len(number) <= MAX_LENGTH["registration_number"]:
                    first = seen.first_line(number, line)
                    if first is not None:
                        errors.append(FieldError(
                            "nomor_badan_hukum", f"{number!r} already appears on line {first}"
                        ))
                if create_kecamatan and not errors:
                    name = cell_text(values["kecamatan"]) or ""
                    if resolver.resolve(name) is None:
                        new_kecamatan.setdefault(resolver.key(name), name)
                if errors:
                    bad_lines.add(line)
                    result.invalid += 1
                    errors.sort(key=lambda e: HEADER.index(e.column) if e.column in HEADER else -1)
                    result.errors.extend(RowError(line, e.column, e.reason) for e in errors)
        finally:
            bar.close()
            seen.close()
    return bad_lines, list(new_kecamatan.values()), plan.fields


async def _write(
    db: Database,
    path: Path,
    resolver: KecamatanResolver,
    bad_lines: set[int],
    new_kecamatan: list[str],
    fields: frozenset[str],
    result: ImportResult,
    progress: bool,
) -> None:
    """Pass 2: upsert the good rows in batches, all in one transaction."""
    columns = [("kecamatan_id" if f == "kecamatan" else f) for f in fields if f != "registration_number"]
    now = utcnow()
    async with db.session() as session:
        await repo.prepare_bulk_upsert(session)
        if new_kecamatan:
            await repo.ensure_kecamatan(session, new_kecamatan)
            resolver = KecamatanResolver(
                [(k.id, k.name, k.code) for k in await repo.list_kecamatan(session)]
            )
            result.created_kecamatan = sorted(new_kecamatan)
        counts = repo.UpsertCounts()
        batch: list[dict[str, Any]] = []
        with _open(path) as sheet:
            plan = plan_header(sheet.header)
            width = len(sheet.header)
            bar = tqdm(total=result.rows - result.invalid, unit=" rows", desc="writing",
                       file=sys.stderr, disable=not progress, mininterval=0.5)
            try:
                for line, cells in sheet.rows:
                    if line in bad_lines or _is_blank(cells):
                        continue
                    values, _extra = _cells_by_field(plan, width, cells)
                    record, kecamatan_id, errors = validate_row(values, resolver)
                    if record is None or kecamatan_id is None:
                        # The file changed between the passes: roll everything back.
                        raise ImportFileError(line, "the file changed while it was being imported")
                    batch.append(_row(record, kecamatan_id))
                    if len(batch) >= BATCH_SIZE:
                        counts.add(await repo.upsert_cooperatives(session, batch, columns=columns, now=now))
                        bar.update(len(batch))
                        batch = []
                if batch:
                    counts.add(await repo.upsert_cooperatives(session, batch, columns=columns, now=now))
                    bar.update(len(batch))
            finally:
                bar.close()
    result.inserted, result.updated, result.unchanged = counts.inserted, counts.updated, counts.unchanged
    result.written = True


# --- export -------------------------------------------------------------------------------


def _record_cells(row: Any) -> list[Any]:
    fields = {f: row[f] for f in CooperativeRecord.model_fields if f != "kecamatan"}
    # Stored rows were validated on the way in; constructing without validation keeps old
    # rows exportable even if a rule (say, a date "in the future") has since become stricter.
    record = CooperativeRecord.model_construct(kecamatan=row["kecamatan_name"], **fields)
    cells = record.to_cells()
    return [cells[h] for h in HEADER]


async def registry_cells(session: Any, kecamatan_ids: Any = None) -> AsyncIterator[list[Any]]:
    """Every cooperative (in these kecamatan, if given) as the cells of an export row."""
    async for row in repo.iter_cooperatives(session, page=BATCH_SIZE, kecamatan_ids=kecamatan_ids):
        yield _record_cells(row)


async def _rows(db: Database) -> AsyncIterator[list[Any]]:
    async with db.session() as session:
        async for cells in registry_cells(session):
            yield cells


async def export_cooperatives(db: Database, path: str | Path) -> int:
    """Write the whole registry in the import format (CSV or XLSX by extension); returns rows."""
    path = Path(path)
    suffix = path.suffix.lower()
    count = 0
    if suffix == ".csv":
        # With a BOM so that Excel recognises UTF-8; the importer accepts both.
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            writer = SafeCsvWriter(f)
            writer.writerow(HEADER)
            async for cells in _rows(db):
                writer.writerow(cells)
                count += 1
        return count
    if suffix == ".xlsx":
        import openpyxl

        workbook = openpyxl.Workbook(write_only=True)  # streams rows to a temporary file
        sheet = SafeXlsxSheet(workbook.create_sheet("koperasi"))
        sheet.append(list(HEADER))
        async for cells in _rows(db):
            sheet.append(cells)
            count += 1
        workbook.save(path)
        return count
    raise ValueError(f"{path.name}: use a .csv or .xlsx file")
