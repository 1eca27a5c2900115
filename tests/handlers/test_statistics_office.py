"""/statistik through the real application: tickets, meetings and the campaign, within scope."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.seed import seed_demo
from storage.models import Kecamatan, OfficerRole
from storage.models_support import Ticket, TicketState
from storage.repositories import registry
from storage.types import utcnow
from tests.conftest import ADMIN_ID
from tests.support.harness import running_bot
from tests.support.office_data import build
from tests.support.updates import message_update
from tests.support.uploads import UploadRecorder

SCOPED = 7500  # an officer limited to Semau


@pytest.fixture
async def office(runtime):
    await seed_demo(runtime.db)
    async with runtime.db.session() as session:
        semau = (await session.execute(select(Kecamatan.id).where(Kecamatan.name == "Semau"))).scalar_one()
        await registry.add_officer(session, telegram_id=SCOPED, name="Petugas Semau",
                                   role=OfficerRole.OFFICER, kecamatan_ids=[semau])
    return runtime, await build(runtime.db, utcnow(), utcnow().year - 1)


async def _open(runtime, kecamatan: int | None = None) -> int:
    stmt = select(func.count()).select_from(Ticket).where(Ticket.state == TicketState.OPEN)
    if kecamatan is not None:
        stmt = stmt.where(Ticket.kecamatan_id == kecamatan)
    async with runtime.db.session() as session:
        return (await session.execute(stmt)).scalar_one()


async def test_admin_and_scoped_officer_see_the_office_sections(office) -> None:
    runtime, data = office
    request = UploadRecorder()
    year = utcnow().year - 1
    async with running_bot(runtime, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/statistik"))
        await bot.feed(message_update(bot.app.bot, SCOPED, "/statistik"))
    [everything] = request.texts(ADMIN_ID)
    assert f"🎫 <b>Tiket menunggu petugas: {await _open(runtime)}</b> · sudah dijawab, menunggu pengelola: 2" \
        in everything
    assert "• &lt; 24 jam: 1 · 1–3 hari: 2 · &gt; 3 hari: 2" in everything
    assert "📅 <b>Rapat mendatang: 3</b>" in everything and "Sosialisasi Sulamu" in everything
    assert f"📣 <b>Kampanye laporan {year}</b>: 4 koperasi diingatkan, 2 sudah melapor sejak itu (50,0%)" in everything
    [semau] = request.texts(SCOPED)
    assert f"🎫 <b>Tiket menunggu petugas: {await _open(runtime, data.semau)}</b>" in semau
    assert "• Terlama menunggu: 5 hari" in semau
    assert "📅 <b>Rapat mendatang: 2</b>" in semau and "Sosialisasi Sulamu" not in semau
    assert "Rakor &lt;Semau&gt;" in semau
    assert f"📣 <b>Kampanye laporan {year}</b>: 3 koperasi diingatkan, 1 sudah melapor sejak itu" in semau
