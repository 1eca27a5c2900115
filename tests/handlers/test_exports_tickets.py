"""/ekspor tiket through the real application: buttons, typed range, scope, an empty range."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.seed import seed_demo
from storage.models import AuditEntry, Kecamatan, OfficerRole
from storage.models_support import Ticket, TicketState
from storage.repositories import registry
from storage.types import utcnow
from tests.conftest import ADMIN_ID
from tests.handlers.test_exports import buttons
from tests.support.harness import fetch, running_bot
from tests.support.office_data import build
from tests.support.updates import callback_update, message_update
from tests.support.uploads import UploadRecorder

SCOPED = 7400  # an officer limited to Semau


@pytest.fixture
async def office(runtime):
    await seed_demo(runtime.db)
    async with runtime.db.session() as session:
        semau = (await session.execute(select(Kecamatan.id).where(Kecamatan.name == "Semau"))).scalar_one()
        await registry.add_officer(session, telegram_id=SCOPED, name="Petugas Semau",
                                   role=OfficerRole.OFFICER, kecamatan_ids=[semau])
    data = await build(runtime.db, utcnow(), utcnow().year - 1)
    return runtime, data


def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


async def _ticket_ids(runtime, kecamatan: int | None = None) -> set[str]:
    """Tickets opened in the last 30 days (all of the fixture's but the draft)."""
    stmt = select(Ticket.id).where(Ticket.state != TicketState.DRAFT)
    if kecamatan is not None:
        stmt = stmt.where(Ticket.kecamatan_id == kecamatan)
    async with runtime.db.session() as session:
        return {str(i) for i in (await session.execute(stmt)).scalars()}


async def test_buttons_lead_to_the_tickets_csv(office) -> None:
    runtime, _ = office
    request = UploadRecorder()
    async with running_bot(runtime, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/ekspor"))
        choices = buttons(request.sent(ADMIN_ID)[-1])
        await bot.feed(callback_update(bot.app.bot, ADMIN_ID, choices["🎫 Tiket (CSV)"]))
        [periods] = bot.calls("editMessageText")
        assert periods["text"].startswith("🎫 Tiket: pilih rentang waktu")
        assert list(buttons(periods)) == ["7 hari terakhir", "30 hari terakhir", "Bulan ini", "Bulan lalu"]
        await bot.feed(callback_update(bot.app.bot, ADMIN_ID, buttons(periods)["30 hari terakhir"]))
    [document] = request.files("sendDocument")
    assert document.filename.startswith("tiket_") and document.filename.endswith(".csv")
    rows = csv_rows(document.data)
    assert rows[0][:4] == ["nomor tiket", "dibuka (WITA)", "status", "kecamatan"]
    assert {r[0] for r in rows[1:]} == await _ticket_ids(runtime)
    counts = {s: sum(r[2] == s for r in rows[1:]) for s in ("menunggu petugas", "dijawab", "ditutup")}
    assert counts == {"menunggu petugas": 5, "dijawab": 2, "ditutup": 1}
    caption = document.params["caption"]
    assert "— semua kecamatan: 8 tiket (5 menunggu petugas, 2 dijawab, 1 ditutup)." in caption
    assert caption.startswith("🎫 Tiket dibuka ")
    [entry] = await fetch(runtime.db, AuditEntry, AuditEntry.action == "export")
    assert (entry.subject_id, entry.details["rows"]) == ("tickets", 8)


async def test_scoped_officer_types_a_range_and_gets_his_kecamatan(office) -> None:
    runtime, data = office
    request = UploadRecorder()
    today = utcnow().astimezone(runtime.settings.tz).date()
    first = today - timedelta(days=20)
    async with running_bot(runtime, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, SCOPED, f"/ekspor tiket {first:%d/%m/%Y} {today:%d/%m/%Y}"))
        await bot.feed(message_update(bot.app.bot, SCOPED, "/ekspor tiket 01/01/2021 02/01/2021"))
        await bot.feed(message_update(bot.app.bot, SCOPED, f"/ekspor tiket {today:%d/%m/%Y} {first:%d/%m/%Y}"))
    [document] = request.files("sendDocument")
    assert document.filename == f"tiket_{first.isoformat()}_{today.isoformat()}_semau.csv"
    rows = csv_rows(document.data)
    assert {r[0] for r in rows[1:]} == await _ticket_ids(runtime, data.semau)
    assert {r[3] for r in rows[1:]} == {"Semau"}
    assert "— Semau: 5 tiket (3 menunggu petugas, 1 dijawab, 1 ditutup)." in document.params["caption"]
    empty, backwards = request.texts(SCOPED)
    assert empty == "Tidak ada tiket dibuka dari 1 Januari 2021 sampai 2 Januari 2021 dalam wilayah Anda; tidak ada file."
    assert backwards.startswith("Rentang tanggal terbalik")
