"""/ekspor through the real application: buttons, typed arguments, documents, scope, bad input."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import openpyxl
import pytest
from sqlalchemy import select

from bot.seed import seed_demo
from bot.services.registry import HEADER
from storage.models import AuditEntry, Cooperative, Kecamatan, OfficerRole, OutboundCall
from storage.repositories import registry
from storage.types import utcnow
from tests.conftest import ADMIN_ID
from tests.support.harness import fetch, running_bot
from tests.support.updates import callback_update, message_update
from tests.support.uploads import UploadRecorder

SCOPED = 7300  # an officer limited to Semau


@pytest.fixture
async def demo(runtime):
    await seed_demo(runtime.db)
    async with runtime.db.session() as session:
        semau = (await session.execute(select(Kecamatan.id).where(Kecamatan.name == "Semau"))).scalar_one()
        await registry.add_officer(session, telegram_id=SCOPED, name="Petugas Semau",
                                   role=OfficerRole.OFFICER, kecamatan_ids=[semau])
    return runtime


def buttons(params: dict) -> dict[str, str]:
    markup = params.get("reply_markup") or {}
    return {b["text"]: b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row}


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def _numbers(runtime, kecamatan: str | None = None) -> set[str]:
    stmt = select(Cooperative.registration_number).join(Kecamatan)
    if kecamatan:
        stmt = stmt.where(Kecamatan.name == kecamatan)
    async with runtime.db.session() as session:
        return set((await session.execute(stmt)).scalars())


async def test_buttons_lead_to_the_reports_workbook(demo) -> None:
    request = UploadRecorder()
    year = utcnow().year - 1
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/ekspor"))
        menu = request.sent(ADMIN_ID)[-1]
        assert menu["text"].startswith("📤 Pilih data")
        choices = buttons(menu)
        assert list(choices) == ["📊 Laporan tahunan (XLSX)", "🏢 Registri koperasi (CSV)", "💬 Log pesan (CSV)",
                                 "🎫 Tiket (CSV)"]
        await bot.feed(callback_update(bot.app.bot, ADMIN_ID, choices["📊 Laporan tahunan (XLSX)"]))
        [years] = bot.calls("editMessageText")
        year_buttons = buttons(years)
        assert list(year_buttons)[0] == f"{year} (0 laporan)" and len(year_buttons) == 5
        await bot.feed(callback_update(bot.app.bot, ADMIN_ID, year_buttons[f"{year} (0 laporan)"]))
    [document] = request.files("sendDocument")
    assert document.filename == f"laporan_{year}.xlsx"
    caption = document.params["caption"]
    assert f"Laporan tahunan {year} — semua kecamatan" in caption and "401 koperasi: 0 sudah lapor, 401 belum lapor" in caption
    assert f"Belum ada laporan masuk untuk tahun {year}" in caption
    sheet = openpyxl.load_workbook(io.BytesIO(document.data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Nomor badan hukum" and len(rows) == 402
    assert {r[0] for r in rows[1:]} == await _numbers(demo)
    assert {r[8] for r in rows[1:]} == {"Belum lapor"}
    logged = await fetch(demo.db, OutboundCall, OutboundCall.method == "sendDocument")
    assert [c.ok for c in logged] == [True]
    [entry] = await fetch(demo.db, AuditEntry, AuditEntry.action == "export")
    assert (entry.subject_id, entry.details["fiscal_year"], entry.details["rows"]) == ("reports", year, 401)


async def test_scoped_officer_gets_his_kecamatan_and_is_refused_another(demo) -> None:
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(callback_update(bot.app.bot, SCOPED, "exp:k:registry"))
        await bot.feed(message_update(bot.app.bot, SCOPED, "/ekspor laporan 2024 Sulamu"))
        await bot.feed(message_update(bot.app.bot, SCOPED, "/export registry Semau"))
    first, second = request.files("sendDocument")
    for document in (first, second):
        rows = csv_rows(document.data)
        assert rows[0] == list(HEADER)
        assert {r[0] for r in rows[1:]} == await _numbers(demo, "Semau")
    assert second.filename == "registri_semau.csv"
    [refusal] = request.texts(SCOPED)
    assert refusal.startswith("⛔") and "Sulamu" in refusal
    denied = await fetch(demo.db, AuditEntry, AuditEntry.action == "access_denied")
    assert [(d.actor_telegram_id, d.subject_type, d.subject_id) for d in denied] == [(SCOPED, "export", "Sulamu")]


async def test_bad_periods_are_explained(demo) -> None:
    request = UploadRecorder()
    today = utcnow().date()  # the office is ahead of UTC: its today is this or the next day
    tomorrow = today + timedelta(days=2)
    async with running_bot(demo, request=request) as bot:
        for text in (
            "/ekspor log 30/11/2026 01/11/2026",
            f"/ekspor log 01/11/2026 {tomorrow:%d/%m/%Y}",
            "/ekspor log kemarin dulu sekali",
            f"/ekspor laporan {today.year}",
            "/ekspor laporan 1990",
            "/ekspor sesuatu",
        ):
            await bot.feed(message_update(bot.app.bot, ADMIN_ID, text))
    backwards, future, unreadable, this_year, old, unknown = request.texts(ADMIN_ID)
    assert backwards == "Rentang tanggal terbalik: 30 November 2026 sesudah 1 November 2026. Tulis tanggal awal lebih dulu."
    assert future.startswith("Tanggal akhir") and "belum lewat" in future
    assert unreadable.startswith("Rentang tanggal tidak terbaca.")
    assert this_year.startswith(f"Tahun {today.year} tidak bisa dipakai")
    assert old.startswith("Tahun 1990 tidak bisa dipakai")
    assert unknown.startswith("Ketik /ekspor lalu pilih")
    assert request.files("sendDocument") == []


async def test_over_the_document_limit_csv_comes_in_parts_xlsx_is_refused(demo) -> None:
    demo.settings.export_max_bytes = 12_000
    request = UploadRecorder()
    year = utcnow().year - 1
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/ekspor registri"))
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, f"/ekspor laporan {year}"))
    parts = request.files("sendDocument")
    assert len(parts) > 2
    numbers: list[str] = []
    for index, part in enumerate(parts, start=1):
        assert len(part.data) <= 12_000
        assert part.filename == f"registri_bagian-{index}-dari-{len(parts)}.csv"
        assert f"Bagian {index} dari {len(parts)} (paling besar 12 kB per file)." in part.params["caption"]
        rows = csv_rows(part.data)
        assert rows[0] == list(HEADER)
        numbers += [r[0] for r in rows[1:]]
    assert len(numbers) == 401 and set(numbers) == await _numbers(demo)
    [refused] = request.texts(ADMIN_ID)
    assert refused.startswith("⚠️ File ini ") and "melebihi batas dokumen Telegram (12 kB)" in refused


async def test_log_export_by_preset_and_an_empty_range(demo) -> None:
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/bantuan"))
        await bot.feed(callback_update(bot.app.bot, ADMIN_ID, "exp:k:log"))
        [periods] = bot.calls("editMessageText")
        assert list(buttons(periods)) == ["7 hari terakhir", "30 hari terakhir", "Bulan ini", "Bulan lalu"]
        await bot.feed(callback_update(bot.app.bot, ADMIN_ID, buttons(periods)["7 hari terakhir"]))
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/ekspor log 01/01/2021 02/01/2021"))
    [document] = request.files("sendDocument")
    rows = csv_rows(document.data)
    assert rows[0][:3] == ["waktu (WITA)", "arah", "jenis"]
    # This test's own messages are in the log: the /bantuan and the button press came in.
    assert [r[1:3] for r in rows[1:] if r[1] == "masuk"][:2] == [["masuk", "command"], ["masuk", "callback"]]
    assert any(r[1] == "keluar" and r[2] == "sendMessage" for r in rows[1:])
    assert request.texts(ADMIN_ID)[-1] == (
        "Tidak ada pesan tercatat dari 1 Januari 2021 sampai 2 Januari 2021 dalam wilayah Anda; tidak ada file."
    )


async def test_stale_or_forged_kind_is_not_obeyed(demo) -> None:
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(callback_update(bot.app.bot, ADMIN_ID, "exp:k:pajak"))
        await bot.feed(callback_update(bot.app.bot, 4242, "exp:k:registry"))
    assert request.files("sendDocument") == []
    answers = [c["text"] for c in bot.calls("answerCallbackQuery") if c.get("text")]
    assert answers == ["Tombol ini sudah tidak berlaku.", "Perintah ini khusus petugas."]
