"""The statistics service (bot.services.statistics): figures from SQL aggregates, within scope."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from bot.delivery.outbox import Content, enqueue
from bot.seed import demo_registry, seed_demo
from bot.services import statistics
from bot.services.roles import Identity, Role
from bot.services.scope import OutOfScope, Scope, UnknownKecamatan, narrow_scope
from bot.services.statistics_sections import BroadcastResult, RegistryFigures, ReportFigures
from storage.models import AnnualReportRecord, Cooperative, CoopStatus, Kecamatan
from storage.models_delivery import Broadcast, BroadcastStatus, OutboxMessage
from storage.repositories import people

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
OFFICER = 700


EVERYWHERE = Scope(None)


def query(scope: Scope = EVERYWHERE, year: int = 2022, *, scoped: bool = False) -> statistics.StatsQuery:
    return statistics.StatsQuery(scope=scope, fiscal_year=year, officer_id=OFFICER,
                                 officer_scoped=scoped, now=NOW)


@pytest.fixture
async def demo(runtime):
    await seed_demo(runtime.db, reference_year=2022)
    return runtime.db


async def gather(db, q: statistics.StatsQuery) -> statistics.Statistics:
    async with db.session() as session:
        return await statistics.gather(session, q)


async def test_demo_registry_figures_come_out_exactly(demo) -> None:
    """401 cooperatives, 157 aktif, 244 tidak aktif; per kecamatan as the seed placed them."""
    stats = await gather(demo, query())
    registry: RegistryFigures = stats.data["registry"]
    assert registry.total == 401
    assert registry.by_status == {CoopStatus.AKTIF: 157, CoopStatus.TIDAK_AKTIF: 244, CoopStatus.DIBUBARKAN: 0}
    rows = demo_registry(2022)
    expected = Counter((r["kecamatan"], r["status"]) for r in rows)
    got = {(k.name, s): n for k in registry.kecamatan for s, n in k.counts.items() if n}
    assert got == dict(expected)
    assert len(registry.kecamatan) == 24
    text = stats.text("id")
    assert "Koperasi: 401" in text and "aktif: 157 (39,2%)" in text and "tidak aktif: 244 (60,8%)" in text
    assert "Active" not in text
    assert "active: 157 (39.2%)" in stats.text("en")


async def _report(session, coop_id: int, person_id: int, year: int, revision: int = 1) -> None:
    session.add(AnnualReportRecord(
        cooperative_id=coop_id, fiscal_year=year, revision=revision, submitted_by=person_id,
        submitted_at=datetime(year + 1, 3, 1, tzinfo=UTC), rat_held=True, rat_date=date(year + 1, 2, 1),
        members_men=1, members_women=1, pengurus=1, pengawas=1, employees=0, total_assets=1, own_capital=1,
        external_capital=0, business_volume=1, surplus=0, still_operating=True, main_business="x",
        obstacles=[], support_needed=[],
    ))


async def test_reports_received_vs_expected_per_kecamatan(demo) -> None:
    """Received counts cooperatives (not revisions); dissolved ones and later founders owe nothing."""
    async with demo.session() as session:
        person = await people.seen(session, telegram_id=5, first_name="P", last_name=None, username=None,
                                   telegram_language="id")
        semau = (await session.execute(select(Kecamatan.id).where(Kecamatan.name == "Semau"))).scalar_one()
        coops = list((await session.execute(
            select(Cooperative).where(Cooperative.kecamatan_id == semau).order_by(Cooperative.id)
        )).scalars())
        await _report(session, coops[0].id, person.id, 2022)
        await _report(session, coops[0].id, person.id, 2022, revision=2)  # one cooperative, two revisions
        await _report(session, coops[1].id, person.id, 2022)
        await _report(session, coops[2].id, person.id, 2021)  # another year
        coops[3].status = CoopStatus.DIBUBARKAN  # owes nothing
        coops[4].incorporated_on = date(2023, 5, 1)  # founded after the year
        await _report(session, coops[3].id, person.id, 2022)  # a dissolved one's report is not counted
    stats = await gather(demo, query())
    reports: ReportFigures = stats.data["reports"]
    by_name = {k.name: k for k in reports.kecamatan}
    in_semau = sum(1 for r in demo_registry(2022) if r["kecamatan"] == "Semau")
    assert (by_name["Semau"].expected, by_name["Semau"].received) == (in_semau - 2, 2)
    assert (reports.expected, reports.received) == (401 - 2, 2)
    assert "Laporan tahunan 2022</b>: 2 dari 399 koperasi sudah lapor (0,5%)" in stats.text("id")
    assert (await gather(demo, query(year=2021))).data["reports"].received == 1


async def test_scope_limits_every_figure(demo) -> None:
    async with demo.session() as session:
        scope = await narrow_scope(session, Identity(Role.ADMIN), ["semau", "Sulamu"])
        ids = dict((await session.execute(select(Kecamatan.name, Kecamatan.id))).all())
    assert scope.names == ("Semau", "Sulamu")
    stats = await gather(demo, query(scope))
    seeded = Counter(r["kecamatan"] for r in demo_registry(2022) if r["kecamatan"] in ("Semau", "Sulamu"))
    assert stats.data["registry"].total == sum(seeded.values())
    assert {k.name for k in stats.data["registry"].kecamatan} == {"Semau", "Sulamu"}
    assert stats.data["reports"].expected == sum(seeded.values())
    assert "Wilayah: Semau, Sulamu" in stats.text("id")

    officer = Identity(Role.OFFICER, frozenset({ids["Semau"]}))
    async with demo.session() as session:
        own = await narrow_scope(session, officer, [])
        assert own == Scope((ids["Semau"],), ("Semau",))
        with pytest.raises(OutOfScope) as refused:
            await narrow_scope(session, officer, ["Sulamu"])
        assert refused.value.names == ["Sulamu"]
        with pytest.raises(UnknownKecamatan):
            await narrow_scope(session, officer, ["Atlantis"])
        assert await narrow_scope(session, Identity(Role.ADMIN), []) == Scope(None)


async def test_last_broadcasts_with_sent_failed_blocked(demo) -> None:
    async with demo.session() as session:
        mine = Broadcast(created_by=OFFICER, chat_id=OFFICER, status=BroadcastStatus.DONE, text="a",
                         sent_at=datetime(2026, 11, 30, 1, tzinfo=UTC), recipients=4)
        other = Broadcast(created_by=999, chat_id=999, status=BroadcastStatus.QUEUED, text="b",
                          sent_at=datetime(2026, 11, 30, 2, tzinfo=UTC), recipients=2)
        draft = Broadcast(created_by=OFFICER, chat_id=OFFICER, status=BroadcastStatus.DRAFT, text="c")
        session.add_all([mine, other, draft])
        await session.flush()
        mine.batch_id = await enqueue(session, Content(text="a"), [1, 2, 3, 4], source=("broadcast", mine.id))
        other.batch_id = await enqueue(session, Content(text="b"), [5, 6], source=("broadcast", other.id))
        for chat, state in ((1, "sent"), (2, "sent"), (3, "failed"), (4, "blocked"), (5, "sent")):
            await session.execute(update(OutboxMessage).where(OutboxMessage.chat_id == chat).values(state=state))
    everyone = (await gather(demo, query())).data["broadcasts"]
    assert everyone == [
        BroadcastResult(other.id, datetime(2026, 11, 30, 2, tzinfo=UTC), 2, 1, 0, 0),
        BroadcastResult(mine.id, datetime(2026, 11, 30, 1, tzinfo=UTC), 4, 2, 1, 1),
    ]
    own = await gather(demo, query(scoped=True))
    assert [b.broadcast_id for b in own.data["broadcasts"]] == [mine.id]
    text = own.text("id")
    assert f"#{mine.id}, 30 November 2026: terkirim 2/4, gagal 1, memblokir bot 1" in text


async def test_empty_registry_reads_sensibly(runtime) -> None:
    stats = await gather(runtime.db, query())
    assert stats.data["registry"].total == 0
    text = stats.text("id")
    assert "Koperasi: 0" in text and "0 dari 0" in text and "Belum ada siaran." in text
    assert [c.categories for c in stats.charts("id")] == [[], []]


def test_top_categories_sums_the_rest() -> None:
    rows = [(f"K{i}", [i, 1]) for i in range(30)]
    top = statistics.top_categories(rows, 5, lambda n: f"other {n}")
    assert [name for name, _ in top] == ["K26", "K27", "K28", "K29", "other 26"]
    assert top[-1][1] == [sum(range(26)), 26]
    assert sum(sum(v) for _, v in top) == sum(sum(v) for _, v in rows)


def test_arguments_give_a_year_and_kecamatan_names() -> None:
    from bot.services.scope import split_arguments

    assert split_arguments([]) == (None, [])
    assert split_arguments(["2025"]) == (2025, [])
    assert split_arguments("2024 Kupang Timur, semau ,".split(" ")) == (2024, ["Kupang Timur", "semau"])
    assert split_arguments(["Amarasi", "Barat"]) == (None, ["Amarasi Barat"])
    assert split_arguments(["Kecamatan", "2001"]) == (None, ["Kecamatan 2001"])


async def test_names_are_escaped_for_html(runtime) -> None:
    from storage.models import CoopForm, CoopType

    async with runtime.db.session() as session:
        kec = Kecamatan(name="Sabu & <Raijua>")
        session.add(kec)
        await session.flush()
        session.add(Cooperative(registration_number="X/1", name="K", form=CoopForm.PRIMER, type=CoopType.JASA,
                                kecamatan_id=kec.id, status=CoopStatus.AKTIF))
        scope = await narrow_scope(session, Identity(Role.ADMIN), ["sabu & <raijua>"])
    text = (await gather(runtime.db, query(scope))).text("id")
    assert "Wilayah: Sabu &amp; &lt;Raijua&gt;" in text and "<Raijua>" not in text
