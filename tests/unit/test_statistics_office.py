"""The /statistik sections of tickets, meetings and the report campaign, and the digest's
tickets: figures checked against the rows in the database, within scope."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.seed import seed_demo
from bot.services import digest, statistics
from bot.services.scope import Scope
from bot.services.statistics_office import CampaignFigures, MeetingFigures, TicketFigures
from storage.models import AnnualReportRecord, Cooperative
from storage.models_meetings import CampaignReminder, Meeting, MeetingInvitation, MeetingState
from storage.models_support import Ticket, TicketState
from tests.support.office_data import OFFICER, build

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
YEAR = 2022
EVERYWHERE = Scope(None)


@pytest.fixture
async def office(runtime):
    await seed_demo(runtime.db, reference_year=YEAR)
    return runtime.db, await build(runtime.db, NOW, YEAR)


def query(scope: Scope, *, scoped: bool) -> statistics.StatsQuery:
    return statistics.StatsQuery(scope=scope, fiscal_year=YEAR, officer_id=OFFICER, officer_scoped=scoped, now=NOW)


async def gather(db, scope: Scope, *, scoped: bool) -> statistics.Statistics:
    async with db.session() as session:
        return await statistics.gather(session, query(scope, scoped=scoped))


async def _tickets(db, kecamatan: int | None = None) -> list[Ticket]:
    async with db.session() as session:
        stmt = select(Ticket)
        if kecamatan is not None:
            stmt = stmt.where(Ticket.kecamatan_id == kecamatan)
        return list((await session.execute(stmt)).scalars())


def _expected_tickets(rows: list[Ticket]) -> TicketFigures:
    """The buckets worked out in Python from the rows themselves."""
    waiting = [r.waiting_since for r in rows if r.state == TicketState.OPEN]
    ages = [NOW - w for w in waiting]
    return TicketFigures(
        under_day=sum(a < timedelta(hours=24) for a in ages),
        one_to_three_days=sum(timedelta(hours=24) <= a < timedelta(days=3) for a in ages),
        over_three_days=sum(a >= timedelta(days=3) for a in ages),
        oldest_since=min(waiting) if waiting else None,
        answered=sum(r.state == TicketState.ANSWERED for r in rows),
    )


async def test_tickets_by_age_everywhere_and_in_scope(office) -> None:
    db, data = office
    every = (await gather(db, EVERYWHERE, scoped=False)).data["tickets"]
    assert every == _expected_tickets(await _tickets(db))
    assert (every.under_day, every.one_to_three_days, every.over_three_days, every.answered) == (1, 2, 2, 2)
    semau = (await gather(db, Scope((data.semau,), ("Semau",)), scoped=True)).data["tickets"]
    assert semau == _expected_tickets(await _tickets(db, data.semau))
    assert (semau.waiting, semau.answered) == (3, 1)  # no Sulamu ticket, none without a cooperative
    assert semau.oldest_since == NOW - timedelta(days=5)


async def test_tickets_text(office) -> None:
    db, data = office
    stats = await gather(db, Scope((data.semau,), ("Semau",)), scoped=True)
    text = stats.text("id")
    assert "🎫 <b>Tiket menunggu petugas: 3</b> · sudah dijawab, menunggu pengelola: 1" in text
    assert "• &lt; 24 jam: 1 · 1–3 hari: 1 · &gt; 3 hari: 1" in text
    assert "• Terlama menunggu: 5 hari" in text
    assert "• &lt; 24 h: 1 · 1–3 days: 1 · &gt; 3 days: 1" in stats.text("en")


async def _expected_meetings(db, kecamatan: int | None) -> dict[int, Counter]:
    """Scheduled future meetings (created by OFFICER or inviting the kecamatan) → answers."""
    async with db.session() as session:
        meetings = list((await session.execute(select(Meeting))).scalars())
        invitations = list((await session.execute(select(MeetingInvitation))).scalars())
        coop_kecamatan = {c.id: c.kecamatan_id for c in (await session.execute(
            select(Cooperative))).scalars()}
    found: dict[int, Counter] = {}
    for m in meetings:
        if m.state != MeetingState.SCHEDULED or m.starts_at <= NOW:
            continue
        mine = [i for i in invitations if i.meeting_id == m.id]
        if kecamatan is not None and m.created_by != OFFICER and not any(
                coop_kecamatan[i.cooperative_id] == kecamatan for i in mine):
            continue
        found[m.id] = Counter(i.answer for i in mine)
    return found


def _as_counters(figures: MeetingFigures) -> dict[int, Counter]:
    return {m.meeting_id: Counter({"hadir": m.hadir, "tidak": m.tidak, "mungkin": m.mungkin, None: m.unanswered})
            for m in figures.soonest}


async def test_upcoming_meetings_with_answers_in_scope(office) -> None:
    db, data = office
    every = (await gather(db, EVERYWHERE, scoped=False)).data["meetings"]
    expected = await _expected_meetings(db, None)
    assert every.upcoming == len(expected) == 3
    assert _as_counters(every) == {k: Counter({**{"hadir": 0, "tidak": 0, "mungkin": 0, None: 0}, **v})
                                   for k, v in expected.items()}
    assert [m.meeting_id for m in every.soonest] == [data.meetings[k] for k in ("semau", "own", "sulamu")]
    semau = (await gather(db, Scope((data.semau,), ("Semau",)), scoped=True)).data["meetings"]
    assert {m.meeting_id for m in semau.soonest} == set(await _expected_meetings(db, data.semau)) == {
        data.meetings["own"], data.meetings["semau"]}
    own = next(m for m in semau.soonest if m.meeting_id == data.meetings["own"])
    # The whole meeting's answers, the Sulamu invitee's "mungkin" included.
    assert (own.hadir, own.tidak, own.mungkin, own.unanswered) == (1, 1, 1, 1)
    text = (await gather(db, Scope((data.semau,), ("Semau",)), scoped=True)).text("id")
    assert "📅 <b>Rapat mendatang: 2</b>" in text
    assert "• Rakor &lt;Semau&gt; — " in text and "✅ Hadir 1 · ❌ Tidak 1 · ❔ Mungkin 1 · ⏳ belum 1" in text
    assert "Sosialisasi Sulamu" not in text


async def test_meetings_beyond_the_listed_are_counted(office, monkeypatch) -> None:
    db, _ = office
    monkeypatch.setattr("bot.services.statistics_office.UPCOMING_LISTED", 1)
    stats = await gather(db, EVERYWHERE, scoped=False)
    assert stats.data["meetings"].upcoming == 3 and len(stats.data["meetings"].soonest) == 1
    assert "• … dan 2 rapat lagi" in stats.text("id")


async def _expected_campaign(db, kecamatan: int | None) -> tuple[int, int, int]:
    async with db.session() as session:
        reminders = list((await session.execute(select(CampaignReminder))).scalars())
        reports = list((await session.execute(select(AnnualReportRecord))).scalars())
        coops = {c.id: c.kecamatan_id for c in (await session.execute(select(Cooperative))).scalars()}
    mine = [r for r in reminders if r.fiscal_year == YEAR and (kecamatan is None or coops[r.cooperative_id] == kecamatan)]
    reminded = {r.cooperative_id for r in mine}
    reported = {r.cooperative_id for r in reports if r.fiscal_year == YEAR} & reminded
    return len(reminded), len(reported), len({r.round for r in mine})


async def test_campaign_progress_in_scope(office) -> None:
    db, data = office
    every: CampaignFigures = (await gather(db, EVERYWHERE, scoped=False)).data["campaign"]
    assert (every.reminded, every.reported_since, every.rounds) == await _expected_campaign(db, None) == (4, 2, 2)
    assert every.last_reminder == NOW - timedelta(days=13)
    stats = await gather(db, Scope((data.semau,), ("Semau",)), scoped=True)
    semau: CampaignFigures = stats.data["campaign"]
    assert (semau.reminded, semau.reported_since, semau.rounds) == await _expected_campaign(db, data.semau) == (3, 1, 2)
    assert ("📣 <b>Kampanye laporan 2022</b>: 3 koperasi diingatkan, 1 sudah melapor sejak itu (33,3%); "
            "2 putaran, terakhir 18 November 2026") in stats.text("id")


async def test_sections_come_in_order_and_say_so_when_empty(runtime) -> None:
    await seed_demo(runtime.db, reference_year=YEAR)
    stats = await gather(runtime.db, EVERYWHERE, scoped=False)
    assert list(stats.data) == ["registry", "reports", "tickets", "meetings", "campaign", "broadcasts"]
    assert stats.data["tickets"] == TicketFigures(0, 0, 0, None, 0)
    text = stats.text("id")
    assert "Tiket menunggu petugas: 0</b>" in text and "Terlama" not in text
    assert "📅 <b>Rapat mendatang: 0</b>" in text
    assert "Kampanye laporan 2022: belum ada pengingat terkirim." in text
    assert text.index("Tiket") < text.index("Rapat mendatang") < text.index("Kampanye") < text.index("Siaran")


async def test_digest_lists_tickets_waiting_over_a_day(office) -> None:
    db, data = office
    settings = SimpleNamespace(default_language="id", tz=ZoneInfo("Asia/Makassar"))
    async with db.session() as session:
        text = await digest.build(session, now=NOW, since=NOW - timedelta(days=1), settings=settings)
    rows = await _tickets(db)
    late = sorted((r for r in rows if r.state == TicketState.OPEN and NOW - r.waiting_since > timedelta(hours=24)),
                  key=lambda r: r.waiting_since)
    assert len(late) == 4
    assert f"🎫 Tiket menunggu lebih dari 24 jam: <b>{len(late)}</b>" in text
    listed = [line for line in text.splitlines() if line.startswith("• #")]
    assert [int(line[3:].split(" ", 1)[0]) for line in listed] == [r.id for r in late]
    assert listed[0].endswith("— menunggu 5 hari") and "— menunggu 30 jam" in listed[-1]
    assert f"{data.semau_coops[2].name}" in listed[0]
    # The ticket waiting 2 hours and the answered ones are not listed.
    fresh = next(r for r in rows if r.state == TicketState.OPEN and NOW - r.waiting_since < timedelta(hours=24))
    assert f"#{fresh.id} " not in text


async def test_digest_says_nothing_of_tickets_when_none_wait_long(runtime) -> None:
    settings = SimpleNamespace(default_language="id", tz=ZoneInfo("Asia/Makassar"))
    async with runtime.db.session() as session:
        text = await digest.build(session, now=NOW, since=NOW - timedelta(days=1), settings=settings)
    assert "Tiket" not in text and "☀️" in text
