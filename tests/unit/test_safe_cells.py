"""Safe cells (bot.safe_cells): no text reaches a spreadsheet as a formula, and the registry
export → import round trip stays lossless with such texts."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from bot.registry_io import export_cooperatives, import_cooperatives
from bot.safe_cells import FORMULA_STARTS, SafeCsvWriter, SafeXlsxSheet, csv_cell, csv_text
from bot.services.registry import HEADER
from storage.models import Cooperative
from storage.repositories import registry as repo

HOSTILE = ["=HYPERLINK(\"http://x.example\",\"klik\")", "+62 812 3456", "-2+3", "@SUM(A1:A9)",
           "\tTab=1", "\r=1", "'sudah berkutip", "''dua", "Koperasi Biasa", "a=b"]


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_cell_marks_every_formula_start(text: str) -> None:
    written = csv_cell(text)
    assert written.startswith(("'", "K", "a")) and not written.startswith(FORMULA_STARTS)
    assert csv_text(written) == text


@given(st.text())
def test_csv_guard_round_trips_any_text(text: str) -> None:
    buffer = io.StringIO()
    SafeCsvWriter(buffer).writerow([text, 5, None])
    [row] = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert not row[0].startswith(FORMULA_STARTS)
    assert csv_text(row[0]) == text
    assert row[1:] == ["5", ""]


def _formulas(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    return [part for part in xml.split("<c ") if "<f>" in part]


def test_xlsx_writes_text_never_formulas(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = SafeXlsxSheet(workbook.create_sheet("x"))
    sheet.append([*HOSTILE, "bel\x07l", -5])
    path = tmp_path / "x.xlsx"
    workbook.save(path)
    assert _formulas(path) == []
    row = next(openpyxl.load_workbook(path).worksheets[0].iter_rows())
    assert [c.value for c in row[: len(HOSTILE)]] == HOSTILE  # stored unchanged
    assert [c.quotePrefix for c in row[: len(HOSTILE)]] == [t.startswith(FORMULA_STARTS) for t in HOSTILE]
    assert (row[-2].value, row[-1].value, row[-1].data_type) == ("bell", -5, "n")


@pytest.fixture
async def db(runtime):
    async with runtime.db.session() as session:
        await repo.ensure_kecamatan(session, ["Semau"])
    return runtime.db


NAMES = ["=HYPERLINK(\"http://x.example\",\"klik\")", "+ Koperasi Plus", "-Koperasi Minus",
         "@Koperasi", "'Koperasi Berkutip", "Koperasi Biasa"]


async def _names(db) -> dict[str, tuple[str, str | None]]:
    async with db.session() as session:
        rows = (await session.execute(select(Cooperative))).scalars().all()
    return {c.registration_number: (c.name, c.phone) for c in rows}


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_registry_export_is_safe_and_round_trips(db, tmp_path: Path, suffix: str) -> None:
    # The source is an XLSX file: its text cells are read as they are, apostrophes included.
    source = tmp_path / "in.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["nomor_badan_hukum", "nama", "bentuk", "jenis", "kecamatan", "telepon"])
    for i, name in enumerate(NAMES):
        workbook.active.append([f"{i}/BH", name, "primer", "jasa", "Semau", "+62 380 12"])
    for row in workbook.active.iter_rows(min_row=2):
        row[1].data_type = "s"  # the test writes "=..." as text, as a user's workbook would hold it
    workbook.save(source)
    assert (await import_cooperatives(db, source, progress=False)).inserted == len(NAMES)
    before = await _names(db)
    assert sorted(n for n, _ in before.values()) == sorted(NAMES)

    exported = tmp_path / f"out{suffix}"
    assert await export_cooperatives(db, exported) == len(NAMES)
    if suffix == ".csv":
        with exported.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        assert rows[0] == list(HEADER)
        for row in rows[1:]:
            assert not any(cell.startswith(FORMULA_STARTS) for cell in row), row
        assert {r[HEADER.index("nama")] for r in rows[1:]} >= {"'=HYPERLINK(\"http://x.example\",\"klik\")",
                                                               "''Koperasi Berkutip", "Koperasi Biasa"}
    else:
        assert _formulas(exported) == []

    again = await import_cooperatives(db, exported, progress=False)
    assert (again.unchanged, again.updated, again.errors) == (len(NAMES), 0, [])
    assert await _names(db) == before
