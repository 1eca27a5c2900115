"""The export writers (bot.exports): the files are opened and checked against the database."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from sqlalchemy import select

from bot import exports
from bot.exports.base import ExportError, ExportRequest, PartedCsv, TooLarge, check_range, parse_range, preset_range
from bot.exports.reports import COLUMNS
from bot.seed import seed_demo
from bot.services.registry import HEADER
from bot.services.scope import Scope
from storage.models import (
    AnnualReportRecord,
    Cooperative,
    CoopStatus,
    InboundUpdate,
    Kecamatan,
    ManagerLink,
    ManagerPosition,
    OutboundCall,
    Person,
)

WITA = ZoneInfo("Asia/Makassar")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
EVERYWHERE = Scope(None)


def request(tmp_path: Path, kind: str, scope: Scope = EVERYWHERE, **extra) -> ExportRequest:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    return ExportRequest(kind=kind, scope=scope, out_dir=out, tz=WITA, now=NOW, **extra)


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads the accents right
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


@pytest.fixture
async def demo(runtime):
    await seed_demo(runtime.db, reference_year=2022)
    return runtime.db


async def _coops(db, kecamatan: str | None = None) -> list[Cooperative]:
    stmt = select(Cooperative, Kecamatan.name).join(Kecamatan).order_by(Kecamatan.name, Cooperative.name, Cooperative.id)
    if kecamatan:
        stmt = stmt.where(Kecamatan.name == kecamatan)
    async with db.session() as session:
        return [(c, k) for c, k in (await session.execute(stmt)).all()]


def _report(coop_id: int, person_id: int, year: int, revision: int, **fields) -> AnnualReportRecord:
    values = dict(
        cooperative_id=coop_id, fiscal_year=year, revision=revision, submitted_by=person_id,
        submitted_at=datetime(year + 1, 3, 1, 1, 30, tzinfo=UTC), rat_held=True, rat_date=date(year + 1, 2, 14),
        members_men=120, members_women=135, pengurus=5, pengawas=3, employees=2, total_assets=1_250_000_000,
        own_capital=800_000_000, external_capital=150_000_000, business_volume=2_000_000_000, surplus=-12_500_000,
        still_operating=True, main_business="Simpan pinjam", obstacles=["modal", "legalitas"],
        obstacles_other=None, support_needed=["permodalan"], notes="=HYPERLINK(\"http://x\")",
    )
    values.update(fields)
    return AnnualReportRecord(**values)


async def test_reports_xlsx_one_row_per_cooperative_typed_and_marked(demo, tmp_path) -> None:
    coops = await _coops(demo)
    first, second, dissolved = coops[0][0], coops[1][0], coops[2][0]
    async with demo.session() as session:
        person = Person(telegram_id=5, first_name="P")
        session.add(person)
        await session.flush()
        session.add(_report(first.id, person.id, 2022, 1, total_assets=1))
        session.add(_report(first.id, person.id, 2022, 2))  # the newest revision is shown
        session.add(_report(second.id, person.id, 2021, 1))  # another year: not reported for 2022
        await session.get(Cooperative, dissolved.id)
        (await session.get(Cooperative, dissolved.id)).status = CoopStatus.DIBUBARKAN

    result = await exports.run(demo, request(tmp_path, "reports", fiscal_year=2022))
    assert result.figures == {"received": 1, "missing": 399, "not_due": 1}
    [path] = result.files
    assert path.name == "laporan_2022.xlsx"
    workbook = openpyxl.load_workbook(path)
    sheet = workbook["Laporan 2022"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:AD402"
    assert sheet.column_dimensions["C"].width == 40
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    assert header[:9] == ["Nomor badan hukum", "NIK", "Nama koperasi", "Kecamatan", "Desa/kelurahan", "Bentuk",
                          "Jenis", "Status", "Laporan"]
    assert "Dikirim (WITA)" in header and "Total aset (Rp)" in header and len(header) == len(COLUMNS)
    assert all(c.font.bold for c in rows[0])
    # One row per cooperative, in kecamatan then name order, exactly the registry.
    assert [r[0].value for r in rows[1:]] == [c.registration_number for c, _ in coops]
    assert [r[3].value for r in rows[1:]] == [k for _, k in coops]

    col = {h: i for i, h in enumerate(header)}
    reported = rows[1]
    assert reported[col["Laporan"]].value == "Sudah lapor"
    assert reported[col["Revisi"]].value == 2
    for heading, expected in (("Total aset (Rp)", 1_250_000_000), ("SHU (Rp)", -12_500_000),
                              ("Jumlah anggota", 255), ("Anggota perempuan", 135)):
        cell = reported[col[heading]]
        assert (cell.value, cell.data_type, cell.number_format) == (expected, "n", "#,##0"), heading
    rat = reported[col["Tanggal RAT"]]
    assert (rat.value, rat.is_date, rat.number_format) == (datetime(2023, 2, 14), True, "dd/mm/yyyy")
    sent = reported[col["Dikirim (WITA)"]]
    assert (sent.value, sent.is_date) == (datetime(2023, 3, 1, 9, 30), True)  # 01:30 UTC = 09:30 WITA
    assert reported[col["Kendala"]].value == "Modal; Legalitas"
    assert reported[col["Kebutuhan dukungan"]].value == "Permodalan"
    notes = reported[col["Catatan"]]
    assert (notes.value, notes.data_type, notes.quotePrefix) == ("=HYPERLINK(\"http://x\")", "s", True)

    states = [r[col["Laporan"]].value for r in rows[1:]]
    assert states[1] == "Belum lapor" and rows[2][col["Revisi"]].value is None
    assert rows[2][col["Laporan"]].fill.fgColor.rgb.endswith("FFE0B2")  # marked
    assert states[2] == "Tidak wajib"
    assert states.count("Belum lapor") == 399
    about = {r[0]: r[1] for r in workbook["Keterangan"].iter_rows(values_only=True)}
    assert (about["Koperasi"], about["Sudah lapor"], about["Belum lapor"], about["Tidak wajib"]) == (401, 1, 399, 1)


async def test_reports_scope_and_empty_scope(demo, tmp_path) -> None:
    async with demo.session() as session:
        semau = (await session.execute(select(Kecamatan.id).where(Kecamatan.name == "Semau"))).scalar_one()
        empty = Kecamatan(name="Kosong")
        session.add(empty)
        await session.flush()
        empty_id = empty.id
    result = await exports.run(demo, request(tmp_path, "reports", Scope((semau,), ("Semau",)), fiscal_year=2021))
    sheet = openpyxl.load_workbook(result.files[0], read_only=True).worksheets[0]
    numbers = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == [c.registration_number for c, _ in await _coops(demo, "Semau")]
    assert result.files[0].name == "laporan_2021_semau.xlsx"
    with pytest.raises(ExportError) as nothing:
        await exports.run(demo, request(tmp_path, "reports", Scope((empty_id,), ("Kosong",)), fiscal_year=2021))
    assert nothing.value.key == "export.no_cooperatives"


async def test_registry_csv_in_scope_is_the_import_format(demo, tmp_path) -> None:
    semau = [c for c, _ in await _coops(demo, "Semau")]
    result = await exports.run(demo, request(tmp_path, "registry", Scope((semau[0].kecamatan_id,), ("Semau",))))
    rows = read_csv(result.files[0])
    assert rows[0] == list(HEADER)
    assert sorted(r[0] for r in rows[1:]) == sorted(c.registration_number for c in semau)
    by_number = {r[0]: r for r in rows[1:]}
    coop = semau[0]
    assert by_number[coop.registration_number][HEADER.index("nama")] == coop.name
    assert by_number[coop.registration_number][HEADER.index("tanggal_berdiri")] == coop.incorporated_on.isoformat()
    assert result.rows == len(semau)


async def test_large_csv_is_split_into_parts_each_under_the_limit(demo, tmp_path) -> None:
    limit = 8_000
    result = await exports.run(demo, request(tmp_path, "registry", max_bytes=limit))
    assert len(result.files) > 3
    assert [p.name for p in result.files][:2] == [f"registri_bagian-1-dari-{len(result.files)}.csv",
                                                  f"registri_bagian-2-dari-{len(result.files)}.csv"]
    numbers = []
    for path in result.files:
        assert path.stat().st_size <= limit
        rows = read_csv(path)
        assert rows[0] == list(HEADER)
        numbers += [r[0] for r in rows[1:]]
    async with demo.session() as session:
        stored = (await session.execute(select(Cooperative.registration_number).order_by(Cooperative.id))).scalars()
        assert numbers == list(stored)  # every row once, in order, none cut in half


async def test_xlsx_over_the_limit_is_refused_and_removed(demo, tmp_path) -> None:
    with pytest.raises(TooLarge) as refused:
        await exports.run(demo, request(tmp_path, "reports", fiscal_year=2022, max_bytes=10_000))
    assert refused.value.size > 10_000 and refused.value.limit == 10_000
    assert list((tmp_path / "out").iterdir()) == []


def test_a_row_larger_than_the_limit_alone_is_refused(tmp_path) -> None:
    out = PartedCsv(tmp_path, "x", ["a"], 2048)
    out.write(["short"])
    with pytest.raises(TooLarge):
        out.write(["y" * 5000])
    out.discard()
    assert list(tmp_path.iterdir()) == []


async def _log_fixture(db) -> tuple[int, int]:
    """A manager in Semau (chat 501) and one in Sulamu (chat 502), with messages both ways."""
    async with db.session() as session:
        ids = dict((await session.execute(select(Kecamatan.name, Kecamatan.id))).all())
        for telegram_id, kecamatan in ((501, "Semau"), (502, "Sulamu")):
            person = Person(telegram_id=telegram_id, first_name="P")
            session.add(person)
            await session.flush()
            coop = (await session.execute(select(Cooperative.id).where(
                Cooperative.kecamatan_id == ids[kecamatan]).limit(1))).scalar_one()
            session.add(ManagerLink(person_id=person.id, cooperative_id=coop, position=ManagerPosition.KETUA))
        at = datetime(2026, 11, 10, 15, 59, tzinfo=UTC)  # 23:59 WITA on 10 November
        for n, (chat, when, text) in enumerate([
            (501, at, "=1+1 halo"), (502, at + timedelta(seconds=1), "dari Sulamu"),
            (501, at + timedelta(minutes=2), "besok"),  # 00:01 WITA on 11 November
        ]):
            session.add(InboundUpdate(update_id=100 + n, fingerprint=f"f{n}", user_id=chat, chat_id=chat, kind="text", text=text, raw={},
                                      received_at=when, handled_at=when))
            session.add(OutboundCall(method="sendMessage", chat_id=chat, text=f"balasan {n}", ok=n != 1,
                                     error=None if n != 1 else "403: Forbidden", attempts=1, duration_ms=5,
                                     update_id=100 + n, message_id=900 + n, created_at=when + timedelta(seconds=0.5)))
    return ids["Semau"], ids["Sulamu"]


async def test_log_csv_merges_both_directions_in_local_time(demo, tmp_path) -> None:
    semau, _ = await _log_fixture(demo)
    result = await exports.run(demo, request(tmp_path, "log", first_day=date(2026, 11, 10), last_day=date(2026, 11, 10)))
    rows = read_csv(result.files[0])
    assert rows[0][:3] == ["waktu (WITA)", "arah", "jenis"]
    assert [r[:2] + r[5:8] for r in rows[1:]] == [
        ["2026-11-10 23:59:00", "masuk", "'=1+1 halo", "ditangani", ""],
        ["2026-11-10 23:59:00", "keluar", "balasan 0", "berhasil", ""],
        ["2026-11-10 23:59:01", "masuk", "dari Sulamu", "ditangani", ""],
        ["2026-11-10 23:59:01", "keluar", "balasan 1", "gagal", "403: Forbidden"],
    ]
    assert result.figures == {"inbound": 2, "outbound": 2}
    # A scoped export holds only the exchanges with managers of the scope.
    scoped = await exports.run(demo, request(tmp_path, "log", Scope((semau,), ("Semau",)),
                                             first_day=date(2026, 11, 10), last_day=date(2026, 11, 11)))
    rows = read_csv(scoped.files[0])
    assert {r[4] for r in rows[1:]} == {"501"} and len(rows) == 1 + 4


async def test_log_of_a_quiet_range_has_only_the_header(demo, tmp_path) -> None:
    result = await exports.run(demo, request(tmp_path, "log", first_day=date(2026, 1, 1), last_day=date(2026, 1, 2)))
    assert result.rows == 0 and len(read_csv(result.files[0])) == 1


def test_date_ranges() -> None:
    today = date(2026, 12, 1)
    assert parse_range("01/11/2026 30/11/2026", today) == (date(2026, 11, 1), date(2026, 11, 30))
    assert parse_range("1 November 2026 s/d 30 November 2026", today) == (date(2026, 11, 1), date(2026, 11, 30))
    assert parse_range("2026-11-01 - 2026-11-30", today) == (date(2026, 11, 1), date(2026, 11, 30))
    for text, key in (("30/11/2026 01/11/2026", "export.range_backwards"),
                      ("01/11/2026 02/12/2026", "export.range_future"),
                      ("kemarin lusa dulu", "export.range_usage"), ("", "export.range_usage")):
        with pytest.raises(ExportError) as bad:
            parse_range(text, today)
        assert bad.value.key == key, text
    assert check_range(today, today, today) == (today, today)
    assert preset_range("d7", today) == (date(2026, 11, 25), today)
    assert preset_range("m0", today) == (date(2026, 12, 1), today)
    assert preset_range("m1", today) == (date(2026, 11, 1), date(2026, 11, 30))


@pytest.mark.parametrize("page", [7, 40, 1000])
async def test_report_rows_page_through_every_cooperative_in_order(demo, page) -> None:
    """Small kecamatan read together, large ones paged: the same rows in the same order."""
    from storage.repositories import exports as repo

    async with demo.session() as session:
        got = [(c["kecamatan_name"], c["registration_number"]) async for c, _ in repo.report_rows(session, 2022, None, page)]
    assert got == [(k, c.registration_number) for c, k in await _coops(demo)]
