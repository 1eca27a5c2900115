"""XLSX of the annual reports of one fiscal year: one row per cooperative in scope.

Streamed with openpyxl's write-only workbook (rows go to a temporary file as they come, so
memory stays flat for 210,000 cooperatives). Headings are Indonesian; numbers are numbers with
a thousands format, dates are dates; the header row is frozen and has filters; widths suit the
content. A cooperative without a report for the year is listed all the same, marked
"Belum lapor" (or "Tidak wajib" when it was dissolved or founded after the year), so the sheet
is also the list of whom to chase. The newest revision of each report is the one shown.
A second sheet says what the file holds.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.exports.base import (
    ExportError,
    ExportKind,
    ExportRequest,
    ExportResult,
    file_stem,
    limited,
    register_kind,
)
from bot.formatting import zone_name
from bot.i18n import t
from bot.safe_cells import SafeXlsxSheet
from storage.db import Database
from storage.repositories import exports as repo

SUDAH, BELUM, TIDAK_WAJIB = "Sudah lapor", "Belum lapor", "Tidak wajib"
MONEY = '#,##0'
COUNT = '#,##0'
DAY = 'dd/mm/yyyy'
MOMENT = 'dd/mm/yyyy hh:mm'


@dataclass(frozen=True)
class Column:
    """One column: heading, width (characters), number format, value from (coop, report)."""

    heading: str
    width: float
    format: str | None
    value: Callable[[Any, Any, ExportRequest], Any]


def _r(field: str) -> Callable[[Any, Any, ExportRequest], Any]:
    return lambda coop, report, request: None if report is None else report[field]


def _yes_no(field: str) -> Callable[[Any, Any, ExportRequest], Any]:
    return lambda coop, report, request: None if report is None else ("Ya" if report[field] else "Tidak")


def _labels(field: str, table: str) -> Callable[[Any, Any, ExportRequest], Any]:
    def value(coop: Any, report: Any, request: ExportRequest) -> Any:
        if report is None or not report[field]:
            return None
        return "; ".join(t("id", f"{table}.{item}") for item in report[field])
    return value


def report_state(coop: Any, report: Any, fiscal_year: int) -> str:
    """Sudah lapor / Belum lapor / Tidak wajib (dissolved, or founded after the year)."""
    if report is not None:
        return SUDAH
    founded = coop["incorporated_on"]
    if str(coop["status"]) == "dibubarkan" or (founded is not None and founded > date(fiscal_year, 12, 31)):
        return TIDAK_WAJIB
    return BELUM


def _submitted(coop: Any, report: Any, request: ExportRequest) -> datetime | None:
    if report is None:
        return None
    # Excel has no time zones: the office's local time, named in the heading.
    return report["submitted_at"].astimezone(request.tz).replace(tzinfo=None)


COLUMNS: list[Column] = [
    Column("Nomor badan hukum", 22, None, lambda c, r, q: c["registration_number"]),
    Column("NIK", 18, None, lambda c, r, q: c["nik"]),
    Column("Nama koperasi", 40, None, lambda c, r, q: c["name"]),
    Column("Kecamatan", 18, None, lambda c, r, q: c["kecamatan_name"]),
    Column("Desa/kelurahan", 16, None, lambda c, r, q: c["desa"]),
    Column("Bentuk", 10, None, lambda c, r, q: str(c["form"])),
    Column("Jenis", 14, None, lambda c, r, q: str(c["type"])),
    Column("Status", 12, None, lambda c, r, q: str(c["status"])),
    Column("Laporan", 13, None, lambda c, r, q: report_state(c, r, q.fiscal_year)),
    Column("Revisi", 7, COUNT, _r("revision")),
    Column("Dikirim", 17, MOMENT, _submitted),
    Column("RAT dilaksanakan", 10, None, _yes_no("rat_held")),
    Column("Tanggal RAT", 12, DAY, _r("rat_date")),
    Column("Anggota laki-laki", 10, COUNT, _r("members_men")),
    Column("Anggota perempuan", 11, COUNT, _r("members_women")),
    Column("Jumlah anggota", 10, COUNT,
           lambda c, r, q: None if r is None else r["members_men"] + r["members_women"]),
    Column("Pengurus", 9, COUNT, _r("pengurus")),
    Column("Pengawas", 9, COUNT, _r("pengawas")),
    Column("Karyawan", 9, COUNT, _r("employees")),
    Column("Total aset (Rp)", 18, MONEY, _r("total_assets")),
    Column("Modal sendiri (Rp)", 18, MONEY, _r("own_capital")),
    Column("Modal luar (Rp)", 18, MONEY, _r("external_capital")),
    Column("Volume usaha (Rp)", 18, MONEY, _r("business_volume")),
    Column("SHU (Rp)", 16, MONEY, _r("surplus")),
    Column("Masih beroperasi", 10, None, _yes_no("still_operating")),
    Column("Usaha utama", 30, None, _r("main_business")),
    Column("Kendala", 30, None, _labels("obstacles", "report.obstacle")),
    Column("Kendala lainnya", 30, None, _r("obstacles_other")),
    Column("Kebutuhan dukungan", 30, None, _labels("support_needed", "report.support")),
    Column("Catatan", 40, None, _r("notes")),
]


def _letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


async def write_reports(db: Database, request: ExportRequest) -> ExportResult:
    """Write the XLSX; ExportError when the scope holds no cooperative at all."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    assert request.fiscal_year is not None
    year = request.fiscal_year
    path = request.out_dir / f"{file_stem(request)}.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    raw = workbook.create_sheet(f"Laporan {year}")
    for index, column in enumerate(COLUMNS, start=1):
        raw.column_dimensions[_letter(index)].width = column.width
    raw.freeze_panes = "A2"  # must be set before the first row: the sheet's view is written then
    sheet = SafeXlsxSheet(raw, [c.format for c in COLUMNS])
    bold = Font(bold=True)
    marked = WriteOnlyCell(raw, BELUM)
    marked.fill = PatternFill("solid", fgColor="FFE0B2")
    missing_style = marked._style
    header = []
    zone = zone_name(request.tz)
    for column in COLUMNS:
        cell = WriteOnlyCell(raw, column.heading + (f" ({zone})" if column.format == MOMENT else ""))
        cell.font = bold
        header.append(cell)
    raw.append(header)
    state_at = next(i for i, c in enumerate(COLUMNS) if c.heading == "Laporan")
    result = ExportResult(figures={"received": 0, "missing": 0, "not_due": 0})
    try:
        async with db.session() as session:
            async for coop, report in repo.report_rows(session, year, request.scope.kecamatan_ids):
                values = [column.value(coop, report, request) for column in COLUMNS]
                state = values[state_at]
                result.figures[{SUDAH: "received", BELUM: "missing", TIDAK_WAJIB: "not_due"}[state]] += 1
                if state == BELUM:
                    cell = WriteOnlyCell(raw, state)
                    cell._style = copy(missing_style)  # a prepared style: no lookup per row
                    values[state_at] = cell
                sheet.append(values)
                result.rows += 1
        if result.rows == 0:
            raise ExportError("export.no_cooperatives")
    except BaseException:
        _discard(raw)
        raise
    raw.auto_filter.ref = f"A1:{_letter(len(COLUMNS))}{result.rows + 1}"
    _about(workbook, request, result)
    workbook.save(path)
    result.files = [limited(path, request.max_bytes)]
    return result


def _discard(sheet: Any) -> None:
    """Close a write-only sheet that will not be saved and remove its temporary file."""
    try:
        sheet.close()
        sheet._writer.cleanup()  # openpyxl keeps the rows in a temporary file until saved
    except Exception:  # best effort: the export failed already, that error is the one to report
        pass


def _about(workbook: Any, request: ExportRequest, result: ExportResult) -> None:
    """The second sheet: what the file holds."""
    sheet = SafeXlsxSheet(workbook.create_sheet("Keterangan"))
    sheet.sheet.column_dimensions["A"].width = 22
    sheet.sheet.column_dimensions["B"].width = 70
    figures = result.figures
    for row in (
        ["Laporan tahunan koperasi", f"tahun buku {request.fiscal_year}"],
        ["Wilayah", ", ".join(request.scope.names) if request.scope.narrowed else "semua kecamatan"],
        ["Dibuat", request.now.astimezone(request.tz).replace(tzinfo=None, microsecond=0)],
        ["Koperasi", result.rows],
        [SUDAH, figures["received"]],
        [BELUM, figures["missing"]],
        [TIDAK_WAJIB, figures["not_due"]],
        ["Catatan", "Satu baris per koperasi. Untuk laporan yang dikirim ulang, revisi terbaru yang "
                    "ditampilkan. Tidak wajib: koperasi dibubarkan atau berdiri sesudah tahun buku ini. "
                    f"Waktu dalam {zone_name(request.tz)}."],
    ):
        sheet.append(row)


register_kind(ExportKind("reports", 10, "year", "xlsx", write_reports, ("laporan", "report", "reports")))
