"""Spreadsheet cells that never run as formulas: one guard for every CSV and XLSX writer.

Text that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is what Excel, LibreOffice
and Google Sheets take for the start of a formula ("formula injection", OWASP CSV injection).
A cooperative's name, a manager's message or a phone number like `+62 380 123` must reach the
officer's spreadsheet as the text it is.

- **CSV** has no cell types, so a guarded text is written with a leading apostrophe
  (`'=HYPERLINK(...)`), the mark spreadsheets read as "this is text". To stay lossless, a text
  that itself begins with an apostrophe gets one more. The registry import reads a CSV cell
  back with `csv_text`, which drops exactly one leading apostrophe: `'+62 380 123` → `+62 380
  123`, `''ok` → `'ok`. (So a single leading apostrophe typed by hand is read as that mark, as
  a spreadsheet would; docs/IMPORT_FORMAT.md says so.)
- **XLSX** has typed cells: a guarded text is written as a string cell (never a formula, which
  openpyxl would otherwise make of a text starting with `=`) with the "quote prefix" style Excel
  itself sets for a text typed with a leading apostrophe, so editing the cell keeps it text.
  The value is stored unchanged; nothing needs undoing on import. Characters XML cannot hold
  (control characters other than tab, newline and carriage return) are dropped.

Numbers and dates are not text and are written as they are (in CSV: dates as YYYY-MM-DD,
booleans as ya/tidak).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from copy import copy
from datetime import date, datetime
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_MARK = "'"


def is_risky(text: str) -> bool:
    """True for text a spreadsheet would take for a formula."""
    return text.startswith(FORMULA_STARTS)


# --- CSV -----------------------------------------------------------------------------------


def csv_cell(value: Any) -> Any:
    """One value as it is written to a CSV file: guarded text, ISO dates, "" for nothing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ya" if value else "tidak"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return _MARK + value if value.startswith((*FORMULA_STARTS, _MARK)) else value
    return value


def csv_text(cell: str) -> str:
    """A CSV cell as it was meant: one leading apostrophe (the "text" mark) removed."""
    return cell[1:] if cell.startswith(_MARK) else cell


class SafeCsvWriter:
    """`csv.writer` whose every cell passes `csv_cell`."""

    def __init__(self, stream: Any, **options: Any) -> None:
        self._writer = csv.writer(stream, **options)

    def writerow(self, row: Iterable[Any]) -> None:
        """Write one row."""
        self._writer.writerow([csv_cell(v) for v in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write many rows."""
        for row in rows:
            self.writerow(row)


# --- XLSX ----------------------------------------------------------------------------------


class SafeXlsxSheet:
    """A write-only worksheet whose `append` guards every cell (optional number formats).

    Built for streaming many rows: a cell object is made only where one is needed (risky text,
    a number format), and a formatted cell takes a copy of a style prepared once, instead of
    looking the format up in the workbook for every cell.
    """

    def __init__(self, sheet: Any, formats: Iterable[str | None] | None = None) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.sheet = sheet
        self._new = WriteOnlyCell
        self._illegal = ILLEGAL_CHARACTERS_RE
        self.formats = list(formats) if formats is not None else []
        self._styles: list[Any] = []
        for number_format in self.formats:
            if number_format is None:
                self._styles.append(None)
                continue
            template = WriteOnlyCell(sheet, 0)
            template.number_format = number_format
            self._styles.append(template._style)
        quoted = WriteOnlyCell(sheet, "")
        quoted.quotePrefix = True
        self._quoted = quoted._style

    def cell(self, value: Any, index: int) -> Any:
        """The value (or a cell object) for column `index`."""
        if isinstance(value, str):
            if self._illegal.search(value):
                value = self._illegal.sub("", value)
            if value.startswith(FORMULA_STARTS):
                cell = self._new(self.sheet, value)
                cell.data_type = "s"  # openpyxl made a formula of a leading "="; it is text
                cell._style = copy(self._quoted)
                return cell
            return value
        style = self._styles[index] if index < len(self._styles) else None
        if style is None or value is None:
            return value
        cell = self._new(self.sheet, value)
        cell._style = copy(style)
        return cell

    def append(self, row: Iterable[Any]) -> None:
        """Write one row."""
        self.sheet.append([self.cell(v, i) for i, v in enumerate(row)])
