"""Registry import/export (bot.registry_io) and `kopdesk coops import` as a process."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import delete, func, select

from bot.registry_io import export_cooperatives, import_cooperatives
from bot.services.registry import HEADER
from storage.models import Cooperative, CoopStatus, CoopType, StatusSource
from storage.repositories import registry as repo

REPO_ROOT = Path(__file__).resolve().parents[2]
KECAMATAN = ["Semau", "Sulamu", "Kupang Timur", "Amarasi"]
SHORT = ["nomor_badan_hukum", "nama", "bentuk", "jenis", "kecamatan", "tanggal_berdiri"]

GOOD_1 = ["10/BH/1996", "KSP Sehati", "primer", "simpan pinjam", "Kupang Timur", "14/02/1996"]
NO_NAME = ["11/BH/1997", "", "primer", "konsumen", "Semau", "1997-05-01"]
GOOD_2 = ["12/BH/1998", "KUD Maju", "sekunder", "pemasaran", "kec. sulamu", ""]
DUPLICATE = ["10/BH/1996", "KSP Sehati Dua", "primer", "jasa", "Semau", ""]
BAD_KEC = ["13/BH/1999", "Kopdit Kasih", "primer", "simpan pinjam", "Semaw", ""]
BAD_DATE = ["14/BH/2000", "KSU Damai", "primer", "konsumen", "Amarasi", "31/02/2000"]
BAD_TYPE = ["15/BH/2001", "Koperasi Bank", "primer", "bank", "Amarasi", ""]
GOOD_3 = ["16/BH/2002", "Koperasi Produsen Rumput Laut Mutiara", "primer", "produsen", "Semau", "2002-03-04"]
MIXED = [GOOD_1, NO_NAME, GOOD_2, DUPLICATE, BAD_KEC, BAD_DATE, BAD_TYPE, GOOD_3]
# (line, column) of every expected error: header is line 1, so MIXED[i] is on line i + 2.
EXPECTED = {
    (3, "nama"): "required value is empty",
    (5, "nomor_badan_hukum"): "already appears on line 2",
    (6, "kecamatan"): "unknown kecamatan 'Semaw' (did you mean 'Semau'?)",
    (7, "tanggal_berdiri"): "not a valid calendar date",
    (8, "jenis"): "'bank' is not a type",
}


def write_csv(path: Path, rows: list[list[object]], header: list[str] = SHORT, *,
              delimiter: str = ",", bom: bool = False) -> Path:
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[object]], header: list[str] = SHORT) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


@pytest.fixture
async def db(runtime):
    async with runtime.db.session() as session:
        await repo.ensure_kecamatan(session, KECAMATAN)
    return runtime.db


async def stored(db) -> dict[str, Cooperative]:
    async with db.session() as session:
        rows = (await session.execute(select(Cooperative))).scalars().all()
    return {c.registration_number: c for c in rows}


def found(errors) -> dict[tuple[int, str | None], str]:
    return {(e.line, e.column): e.reason for e in errors}


def assert_expected_errors(errors) -> None:
    got = found(errors)
    assert set(got) == set(EXPECTED)
    for key, phrase in EXPECTED.items():
        assert phrase in got[key], (key, got[key])


async def test_bad_rows_are_reported_and_nothing_is_written(db, tmp_path):
    result = await import_cooperatives(db, write_csv(tmp_path / "c.csv", MIXED), progress=False)
    assert_expected_errors(result.errors)
    assert (result.rows, result.invalid, result.written) == (8, 5, False)
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 0)
    assert await stored(db) == {}
    assert str(result.errors[0]) == "line 3, column nama: required value is empty"


async def test_skip_invalid_writes_only_the_good_rows(db, tmp_path):
    path = write_csv(tmp_path / "c.csv", MIXED)
    result = await import_cooperatives(db, path, skip_invalid=True, progress=False)
    assert_expected_errors(result.errors)
    assert (result.inserted, result.invalid, result.written) == (3, 5, True)
    coops = await stored(db)
    assert set(coops) == {"10/BH/1996", "12/BH/1998", "16/BH/2002"}
    # The first occurrence of a duplicated number wins; the second is the error.
    assert coops["10/BH/1996"].name == "KSP Sehati"
    assert coops["10/BH/1996"].incorporated_on == date(1996, 2, 14)
    assert coops["12/BH/1998"].type is CoopType.PEMASARAN
    # No status column: new cooperatives start tidak aktif, by the rule, not by an officer.
    assert coops["12/BH/1998"].status is CoopStatus.TIDAK_AKTIF
    assert coops["12/BH/1998"].status_source is StatusSource.DERIVED


async def test_reimport_changes_nothing_and_a_change_touches_one_row(db, tmp_path):
    rows = [GOOD_1, GOOD_2, GOOD_3]
    first = await import_cooperatives(db, write_csv(tmp_path / "a.csv", rows), progress=False)
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    before = {k: (c.updated_at, c.created_at) for k, c in (await stored(db)).items()}

    again = await import_cooperatives(db, write_csv(tmp_path / "a.csv", rows), progress=False)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert {k: (c.updated_at, c.created_at) for k, c in (await stored(db)).items()} == before

    renamed = [GOOD_1, [*GOOD_2[:1], "KUD Maju Jaya", *GOOD_2[2:]], GOOD_3]
    third = await import_cooperatives(db, write_csv(tmp_path / "b.csv", renamed), progress=False)
    assert (third.inserted, third.updated, third.unchanged) == (0, 1, 2)
    after = await stored(db)
    assert after["12/BH/1998"].name == "KUD Maju Jaya"
    assert after["12/BH/1998"].updated_at > before["12/BH/1998"][0]
    assert after["12/BH/1998"].created_at == before["12/BH/1998"][1]
    assert after["10/BH/1996"].updated_at == before["10/BH/1996"][0]


async def test_semicolon_and_bom_read_like_comma(db, tmp_path):
    path = write_csv(tmp_path / "s.csv", [GOOD_1, GOOD_2], delimiter=";", bom=True)
    result = await import_cooperatives(db, path, progress=False)
    assert (result.inserted, result.errors) == (2, [])
    coops = await stored(db)
    # Had the BOM stuck to the first header cell, that column would be unknown.
    assert coops["10/BH/1996"].name == "KSP Sehati"


async def test_absent_optional_column_keeps_stored_values(db, tmp_path):
    header = [*SHORT, "nik", "status"]
    await import_cooperatives(
        db, write_csv(tmp_path / "a.csv", [[*GOOD_1, "5301001", "aktif"]], header), progress=False
    )
    result = await import_cooperatives(
        db, write_csv(tmp_path / "b.csv", [[*GOOD_1[:1], "KSP Sehati Baru", *GOOD_1[2:]]]),
        progress=False,
    )
    assert result.updated == 1
    coop = (await stored(db))["10/BH/1996"]
    assert (coop.name, coop.nik, coop.status) == ("KSP Sehati Baru", "5301001", CoopStatus.AKTIF)
    assert coop.status_source is StatusSource.OFFICER


async def test_xlsx_reports_rows_and_reads_typed_cells(db, tmp_path):
    rows = [list(r) for r in MIXED]
    rows[0][5] = datetime(1996, 2, 14)  # a real date cell
    path = write_xlsx(tmp_path / "c.xlsx", rows)
    result = await import_cooperatives(db, path, progress=False)
    assert_expected_errors(result.errors)
    assert await stored(db) == {}
    result = await import_cooperatives(db, path, skip_invalid=True, progress=False)
    assert result.inserted == 3
    assert (await stored(db))["10/BH/1996"].incorporated_on == date(1996, 2, 14)


async def test_header_problems_stop_even_skip_invalid(db, tmp_path):
    header = ["nomor_badan_hukum", "nama_koperasi", "bentuk", "jenis", "kecamatan", "tanggal_berdiri"]
    path = write_csv(tmp_path / "h.csv", [GOOD_1], header)
    result = await import_cooperatives(db, path, skip_invalid=True, progress=False)
    assert result.fatal and not result.written
    assert {(e.line, e.column) for e in result.errors} == {(1, "nama_koperasi"), (1, "nama")}
    assert await stored(db) == {}


async def test_file_that_is_not_utf8_is_rejected(db, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(",".join(SHORT).encode() + b"\n20/BH;Koperasi Caf\xe9;primer;jasa;Semau;\n")
    result = await import_cooperatives(db, path, skip_invalid=True, progress=False)
    assert result.fatal and "UTF-8" in result.errors[0].reason
    assert await stored(db) == {}


async def test_create_kecamatan_adds_unknown_ones(db, tmp_path):
    result = await import_cooperatives(
        db, write_csv(tmp_path / "k.csv", [BAD_KEC]), create_kecamatan=True, progress=False
    )
    assert (result.inserted, result.created_kecamatan) == (1, ["Semaw"])


RICH_HEADER = list(HEADER)
RICH_ROWS = [
    ["001/BH/XIV/1996", "5301000000000001", 'KSP "Sehati", Oesao', "primer", "simpan pinjam",
     "simpan pinjam; kios", "Kupang Timur", "Oesao", "Jl. Timor Raya km 30\n(dekat pasar)",
     "0812-3456-7890", "1996-02-14", "aktif", "", "2024", "tidak"],
    ["002/BH/XIV/2001", "", "Koperasi Produsen Rumput Laut Mutiara", "sekunder", "produsen", "",
     "Semau", "", "", "", "", "tidak aktif", "tidak RAT sejak 2019", "2019", "ya"],
    ["003/BH/XIV/2010", "0053", "Kopdit Ina Mandiri", "primer", "jasa", "jasa", "Amarasi",
     "Baun", "", "+62 380 123", "2010-12-31", "dibubarkan", "keputusan rapat anggota", "", "tidak"],
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_round_trip_is_lossless(db, tmp_path, suffix):
    source = write_csv(tmp_path / "in.csv", RICH_ROWS, RICH_HEADER)
    assert (await import_cooperatives(db, source, progress=False)).inserted == 3
    first = tmp_path / f"out1{suffix}"
    assert await export_cooperatives(db, first) == 3
    if suffix == ".csv":
        # Exactly the input, except that runs of white space (the newline) became one space.
        expected = [list(r) for r in RICH_ROWS]
        expected[0][8] = "Jl. Timor Raya km 30 (dekat pasar)"
        # A text starting with "+" gets the spreadsheet's text mark (bot.safe_cells).
        expected[2][9] = "'+62 380 123"
        with first.open(encoding="utf-8-sig", newline="") as f:
            assert list(csv.reader(f)) == [RICH_HEADER, *expected]
    before = {k: (c.name, c.nik, c.address, c.incorporated_on, c.last_rat_year, c.synthetic)
              for k, c in (await stored(db)).items()}

    # Re-importing the export into the same registry changes nothing...
    again = await import_cooperatives(db, first, progress=False)
    assert (again.unchanged, again.updated, again.inserted) == (3, 0, 0)
    # ...and into an empty one gives back the same registry and the same export.
    async with db.session() as session:
        await session.execute(delete(Cooperative))
    fresh = await import_cooperatives(db, first, progress=False)
    assert (fresh.inserted, fresh.errors) == (3, [])
    after = {k: (c.name, c.nik, c.address, c.incorporated_on, c.last_rat_year, c.synthetic)
             for k, c in (await stored(db)).items()}
    assert after == before
    second = tmp_path / f"out2{suffix}"
    await export_cooperatives(db, second)
    if suffix == ".csv":
        assert second.read_bytes() == first.read_bytes()
    else:
        def cells(p):
            return list(openpyxl.load_workbook(p, read_only=True).worksheets[0].iter_rows(values_only=True))
        assert cells(second) == cells(first)
        assert cells(first)[1][1] == "5301000000000001"  # NIK kept as text, all 16 digits


def run_cli(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(REPO_ROOT)}
    env.pop("BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "coops", "import", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
    )


async def test_cli_import_reports_bad_rows_and_exits_1(db, database_url, tmp_path):
    path = write_csv(tmp_path / "c.csv", MIXED)
    proc = run_cli(database_url, tmp_path, str(path), "--no-progress")
    assert proc.returncode == 1, proc.stderr
    for (line, column), phrase in EXPECTED.items():
        assert any(
            out.startswith(f"line {line}, column {column}: ") and phrase in out
            for out in proc.stdout.splitlines()
        ), (line, column, proc.stdout)
    assert "8 rows: 0 inserted, 0 updated, 0 unchanged, 5 invalid" in proc.stdout
    async with db.session() as session:
        assert (await session.execute(select(func.count()).select_from(Cooperative))).scalar_one() == 0

    proc = run_cli(database_url, tmp_path, str(path), "--no-progress", "--skip-invalid")
    assert proc.returncode == 0, proc.stderr
    assert "8 rows: 3 inserted, 0 updated, 0 unchanged, 5 invalid" in proc.stdout
    assert set(await stored(db)) == {"10/BH/1996", "12/BH/1998", "16/BH/2002"}
