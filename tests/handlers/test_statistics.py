"""/statistik through the real application: text, charts sent with sendPhoto, scope, bad input."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot import charts
from bot.seed import seed_demo
from bot.services.statistics import ChartData
from storage.models import AuditEntry, Cooperative, CoopStatus, Kecamatan, OfficerRole, OutboundCall
from storage.repositories import registry
from storage.types import utcnow
from tests.conftest import ADMIN_ID
from tests.support.harness import fetch, running_bot
from tests.support.updates import message_update
from tests.support.uploads import UploadRecorder

SCOPED = 7200  # an officer limited to Semau


@pytest.fixture
async def demo(runtime):
    await seed_demo(runtime.db)  # reference year: the last closed one, as /statistik's default
    async with runtime.db.session() as session:
        semau = (await session.execute(select(Kecamatan.id).where(Kecamatan.name == "Semau"))).scalar_one()
        await registry.add_officer(session, telegram_id=SCOPED, name="Petugas Semau",
                                   role=OfficerRole.OFFICER, kecamatan_ids=[semau])
    return runtime


@pytest.fixture
def plotted(monkeypatch) -> list[ChartData]:
    """Every ChartData handed to the renderer (which still draws the real PNG)."""
    seen: list[ChartData] = []
    real = charts.render_png

    def spy(chart: ChartData) -> bytes:
        seen.append(chart)
        return real(chart)

    monkeypatch.setattr(charts, "render_png", spy)
    return seen


async def _db_status_by_kecamatan(runtime, kecamatan: str | None = None) -> dict[str, dict[str, int]]:
    stmt = (select(Kecamatan.name, Cooperative.status, func.count())
            .join(Kecamatan, Kecamatan.id == Cooperative.kecamatan_id)
            .group_by(Kecamatan.name, Cooperative.status))
    if kecamatan:
        stmt = stmt.where(Kecamatan.name == kecamatan)
    found: dict[str, dict[str, int]] = {}
    async with runtime.db.session() as session:
        for name, status, n in (await session.execute(stmt)).all():
            found.setdefault(name, {})[str(status)] = n
    return found


async def test_statistics_text_and_charts_match_the_database(demo, plotted) -> None:
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/statistik"))
    [text] = request.texts(ADMIN_ID)
    assert "Koperasi: 401</b>" in text
    assert "• aktif: 157 (39,2%)" in text and "• tidak aktif: 244 (60,8%)" in text
    year = utcnow().year - 1
    assert f"Laporan tahunan {year}</b>: 0 dari 401 koperasi sudah lapor (0,0%)" in text

    # The data handed to the plot is the database's, bar by bar.
    status_chart, reports_chart = plotted
    db = await _db_status_by_kecamatan(demo)
    assert status_chart.categories == sorted(db)
    by_label = {s.label: s.values for s in status_chart.series}
    assert set(by_label) == {"aktif", "tidak aktif"}
    for label in by_label:
        assert by_label[label] == [db[k].get(label, 0) for k in status_chart.categories]
    assert reports_chart.categories == sorted(db)
    assert reports_chart.series[0].values == [0] * 24
    assert reports_chart.series[1].values == [sum(db[k].values()) for k in reports_chart.categories]

    # Two photos: valid PNGs of the announced size, sent through the logged request layer.
    photos = request.files("sendPhoto")
    assert [p.filename for p in photos] == ["status_by_kecamatan.png", "reports_by_kecamatan.png"]
    for photo, chart in zip(photos, plotted, strict=True):
        image = Image.open(io.BytesIO(photo.data))
        image.verify()
        assert (image.format, image.size) == ("PNG", charts.png_size(chart))
        assert image.size[0] == 1080
    logged = await fetch(demo.db, OutboundCall, OutboundCall.method == "sendPhoto")
    assert [c.ok for c in logged] == [True, True]
    assert logged[0].text.startswith("Koperasi per kecamatan menurut status (jumlah 401)")


async def test_scoped_officer_sees_only_his_kecamatan(demo, plotted) -> None:
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, SCOPED, "/stats"))
    db = await _db_status_by_kecamatan(demo, "Semau")
    total = sum(db["Semau"].values())
    [text] = request.texts(SCOPED)
    assert f"Koperasi: {total}</b>" in text and "Wilayah: Semau" in text
    assert plotted[0].categories == ["Semau"]
    assert [s.values for s in plotted[0].series] == [[db["Semau"]["aktif"]], [db["Semau"]["tidak aktif"]]]


async def test_another_kecamatan_is_refused_and_audited(demo, plotted) -> None:
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, SCOPED, "/statistik Sulamu"))
        await bot.feed(message_update(bot.app.bot, SCOPED, "/statistik Atlantis"))
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/statistik 2019 sulamu"))
    refused, unknown = request.texts(SCOPED)
    assert refused.startswith("⛔") and "Sulamu" in refused
    assert unknown == "Kecamatan tidak dikenal: Atlantis."
    denied = await fetch(demo.db, AuditEntry, AuditEntry.action == "access_denied")
    assert [(d.actor_telegram_id, d.subject_id, d.details["reason"]) for d in denied] == [
        (SCOPED, "Sulamu", "out_of_scope")
    ]
    # The admin may narrow to any kecamatan and any closed year.
    [admin_text] = request.texts(ADMIN_ID)
    assert "Wilayah: Sulamu" in admin_text and "Laporan tahunan 2019" in admin_text
    assert [c.categories for c in plotted] == [["Sulamu"], ["Sulamu"]]


async def test_a_year_not_closed_yet_is_explained(demo, plotted) -> None:
    request = UploadRecorder()
    this_year = utcnow().year
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, f"/statistik {this_year}"))
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/statistik 1999"))
    future, old = request.texts(ADMIN_ID)
    assert future.startswith(f"Tahun {this_year} tidak bisa dipakai: pilih tahun buku 2000–{this_year - 1}.")
    assert old.startswith("Tahun 1999 tidak bisa dipakai")
    assert plotted == [] and request.files("sendPhoto") == []


async def test_empty_registry_sends_figures_without_charts(runtime, plotted) -> None:
    request = UploadRecorder()
    async with running_bot(runtime, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/statistik"))
    [text] = request.texts(ADMIN_ID)
    assert "Koperasi: 0</b>" in text and "Belum ada siaran." in text
    assert plotted == []


async def test_a_chart_that_fails_to_draw_keeps_the_figures(demo, monkeypatch) -> None:
    def broken(chart: ChartData) -> bytes:
        raise RuntimeError("font cache missing")

    monkeypatch.setattr(charts, "render_png", broken)
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/statistik"))
    texts = request.texts(ADMIN_ID)
    assert "Koperasi: 401</b>" in texts[0]
    assert texts[1:] == ["Grafik tidak dapat dibuat kali ini; angka di atas tetap berlaku."] * 2


async def test_manager_or_guest_is_refused(demo) -> None:
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, 4242, "/statistik"))
    assert request.texts(4242) == ["Perintah ini khusus petugas."]
    assert CoopStatus.AKTIF  # the registry was there; nothing of it was shown


async def test_help_and_command_menu_list_statistics_and_export(demo) -> None:
    request = UploadRecorder()
    async with running_bot(demo, request=request) as bot:
        await bot.feed(message_update(bot.app.bot, SCOPED, "/bantuan"))
        await bot.feed(message_update(bot.app.bot, 4242, "/bantuan"))
    officer_help, guest_help = request.texts(SCOPED)[0], request.texts(4242)[0]
    assert "/statistik — Statistik dan grafik koperasi" in officer_help
    assert "/ekspor — Ekspor data (XLSX/CSV)" in officer_help
    assert "/statistik" not in guest_help and "/ekspor" not in guest_help
    from bot.commands import commands_for
    from bot.services.roles import Role

    for role, listed in ((Role.OFFICER, True), (Role.ADMIN, True), (Role.MANAGER, False), (Role.GUEST, False)):
        names = {c.name for c in commands_for(role)}
        assert ({"statistik", "ekspor"} <= names) is listed, role
