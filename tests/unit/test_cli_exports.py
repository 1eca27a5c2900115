"""`kopdesk export reports|registry|log` as a process: the files are opened and checked against
the database; bad arguments exit with a reason."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import select

from bot.seed import seed_demo
from storage.models import AnnualReportRecord, Cooperative, InboundUpdate, Kecamatan, OutboundCall, Person
from storage.types import utcnow
from tests.support.cli import run_cli


@pytest.fixture
async def demo(runtime):
    await seed_demo(runtime.db, reference_year=2022)
    async with runtime.db.session() as session:
        person = Person(telegram_id=77, first_name="P")
        session.add(person)
        await session.flush()
        coop = (await session.execute(
            select(Cooperative).join(Kecamatan).where(Kecamatan.name == "Semau").order_by(Cooperative.name).limit(1)
        )).scalar_one()
        session.add(AnnualReportRecord(
            cooperative_id=coop.id, fiscal_year=2022, revision=1, submitted_by=person.id,
            submitted_at=datetime(2023, 3, 1, tzinfo=UTC), rat_held=False, rat_date=None, members_men=7,
            members_women=9, pengurus=3, pengawas=1, employees=0, total_assets=45_000_000, own_capital=30_000_000,
            external_capital=0, business_volume=12_000_000, surplus=1_500_000, still_operating=True,
            main_business="Rumput laut", obstacles=["pemasaran"], support_needed=[],
        ))
        session.add(InboundUpdate(update_id=1, fingerprint="f1", user_id=77, chat_id=77, kind="command", text="/laporan", raw={},
                                  received_at=datetime(2026, 11, 3, 1, tzinfo=UTC)))
        session.add(OutboundCall(method="sendMessage", chat_id=77, text="Koperasi mana?", ok=True, attempts=1,
                                 duration_ms=3, message_id=5, created_at=datetime(2026, 11, 3, 1, 0, 1, tzinfo=UTC)))
    return runtime, coop


async def test_export_reports_writes_the_workbook(demo, database_url, tmp_path) -> None:
    runtime, coop = demo
    target = tmp_path / "files" / "laporan-semau.xlsx"
    proc = run_cli("export", "reports", "--year", "2022", "--kecamatan", "semau", str(target),
                   cwd=tmp_path, timeout=120, DATABASE_URL=database_url)
    assert proc.returncode == 0, proc.stderr
    async with runtime.db.session() as session:
        semau = list((await session.execute(
            select(Cooperative.registration_number).join(Kecamatan).where(Kecamatan.name == "Semau")
            .order_by(Cooperative.name, Cooperative.id)
        )).scalars())
    assert f"{len(semau)} rows written to {target}" in proc.stdout and "received 1" in proc.stdout
    sheet = openpyxl.load_workbook(target).worksheets[0]
    rows = list(sheet.iter_rows())
    header = [c.value for c in rows[0]]
    assert [r[0].value for r in rows[1:]] == semau
    first = {h: c for h, c in zip(header, rows[1], strict=True)}
    assert first["Nomor badan hukum"].value == coop.registration_number
    assert first["Laporan"].value == "Sudah lapor" and first["RAT dilaksanakan"].value == "Tidak"
    assert (first["Total aset (Rp)"].value, first["Total aset (Rp)"].data_type) == (45_000_000, "n")
    assert first["Dikirim (WITA)"].value == datetime(2023, 3, 1, 8, 0) and first["Dikirim (WITA)"].is_date
    assert first["Tanggal RAT"].value is None and first["Kendala"].value == "Pemasaran"
    assert {r[header.index("Laporan")].value for r in rows[2:]} == {"Belum lapor"}


async def test_export_log_and_registry(demo, database_url, tmp_path) -> None:
    proc = run_cli("export", "log", "--from", "2026-11-03", "--to", "03/11/2026", str(tmp_path / "log.csv"),
                   cwd=tmp_path, timeout=120, DATABASE_URL=database_url)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "log.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:6] == ["waktu (WITA)", "arah", "jenis", "id_pengguna", "id_chat", "teks"]
    assert [r[:6] for r in rows[1:]] == [
        ["2026-11-03 09:00:00", "masuk", "command", "77", "77", "/laporan"],
        ["2026-11-03 09:00:01", "keluar", "sendMessage", "", "77", "Koperasi mana?"],
    ]
    proc = run_cli("export", "registry", "--kecamatan", "Sulamu", str(tmp_path / "reg.csv"),
                   cwd=tmp_path, timeout=120, DATABASE_URL=database_url)
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "reg.csv").open(encoding="utf-8-sig", newline="") as f:
        numbers = [r[0] for r in list(csv.reader(f))[1:]]
    async with demo[0].db.session() as session:
        sulamu = set((await session.execute(
            select(Cooperative.registration_number).join(Kecamatan).where(Kecamatan.name == "Sulamu"))).scalars())
    assert set(numbers) == sulamu and len(numbers) == len(sulamu)


@pytest.mark.parametrize(("args", "code", "reason"), [
    (["reports", "--year", str(utcnow().year), "x.xlsx"], 2, "--year must be a closed fiscal year"),
    (["reports", "x.csv"], 2, "this export is written as .xlsx"),
    (["log", "--from", "2026-11-30", "--to", "2026-11-01", "x.csv"], 2, "The date range is backwards"),
    (["log", "--from", "2026-11-01", "--to", f"{date(utcnow().year + 1, 1, 1)}", "x.csv"], 2, "has not passed"),
    (["registry", "--kecamatan", "Atlantis", "x.csv"], 2, "unknown kecamatan: Atlantis"),
])
async def test_bad_arguments_exit_with_the_reason(demo, database_url, tmp_path, args, code, reason) -> None:
    proc = run_cli("export", *args, cwd=tmp_path, timeout=120, DATABASE_URL=database_url)
    assert proc.returncode == code, (proc.stdout, proc.stderr)
    assert reason in proc.stderr
    assert not list(tmp_path.glob("x.*"))
