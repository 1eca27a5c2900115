"""Meetings, stored reminders, the report campaign and the daily digest, with a manual clock.

Service level, on the real database (SQLite or PostgreSQL): the clock is moved, the scheduler's
tick is called, and what reached the outbox is read back.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot import clock
from bot.runtime import Runtime
from bot.services import campaign, digest, meetings, reminders
from bot.services.audience import Audience
from bot.services.meetings import RsvpResult
from bot.services.roles import Identity, Role
from storage.models import (
    AnnualReportRecord,
    AuditEntry,
    Cooperative,
    CoopForm,
    CoopStatus,
    CoopType,
    Person,
)
from storage.models_delivery import OutboxBatch, OutboxMessage, OutboxPayload
from storage.models_meetings import Meeting, MeetingReminder
from storage.repositories import registry

OFFICER = 900
START = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08.00 WITA


@pytest.fixture
def clock_start() -> datetime:
    return START


@pytest.fixture
async def world(runtime: Runtime) -> dict[str, int]:
    """Amarasi with three managed cooperatives (managers 101-103), Sulamu with one (104)."""
    async with runtime.db.session() as session:
        k = await registry.ensure_kecamatan(session, ["Amarasi", "Sulamu"])
        ids = {}
        for tid, kec in ((101, "Amarasi"), (102, "Amarasi"), (103, "Amarasi"), (104, "Sulamu")):
            coop = Cooperative(registration_number=f"BH-{tid}", name=f"Koperasi {tid}", form=CoopForm.PRIMER,
                               type=CoopType.SIMPAN_PINJAM, status=CoopStatus.AKTIF, kecamatan_id=k[kec],
                               incorporated_on=date(2010, 1, 1))
            person = Person(telegram_id=tid, first_name="P")
            session.add_all([coop, person])
            await session.flush()
            await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                        position=registry.ManagerPosition.KETUA)
            ids[tid], ids[f"coop{tid}"] = person.id, coop.id
        ids["amarasi"] = k["Amarasi"]
        return ids


async def _meeting(runtime: Runtime, world: dict[str, int], starts: datetime, offsets: list[timedelta]) -> int:
    s = runtime.settings
    async with runtime.db.session() as session:
        m = await meetings.new_draft(session, OFFICER, OFFICER, offsets)
        m.title, m.kind, m.starts_at, m.place = "Rakor <RAT>", "rakor", starts, "Aula Dinas"
        m.audience = Audience.in_kecamatan(world["amarasi"]).to_json()
        assert await meetings.send(session, m, identity=Identity(Role.ADMIN), default_lang="id",
                                   tz=s.tz, now=clock.now()) == 3
        return m.id


async def _tick(runtime: Runtime) -> reminders.TickResult:
    s = runtime.settings
    async with runtime.db.session() as session:
        return await reminders.tick(session, now=clock.now(), tz=s.tz, default_lang="id",
                                    skip_locked=not runtime.db.is_sqlite)


async def _sent(runtime: Runtime, kind: str) -> list[tuple[int, str]]:
    async with runtime.db.session() as session:
        rows = await session.execute(
            select(OutboxMessage.chat_id, OutboxPayload.text).join(OutboxBatch, OutboxBatch.id == OutboxMessage.batch_id)
            .join(OutboxPayload, OutboxPayload.id == OutboxMessage.payload_id)
            .where(OutboxBatch.source_kind == kind).order_by(OutboxMessage.id))
        return [(c, t) for c, t in rows.all()]


async def _answer(runtime: Runtime, world: dict[str, int], meeting_id: int, tid: int, code: str) -> RsvpResult:
    async with runtime.db.session() as session:
        result, _ = await meetings.answer(session, meeting_id, world[tid], code, clock.now())
        return result


async def test_invitations_reminders_rsvp_change_cancel(runtime: Runtime, world: dict[str, int],
                                                        manual_clock: clock.ManualClock) -> None:
    starts = START + timedelta(days=10)
    offsets = [timedelta(days=7), timedelta(days=1), timedelta(hours=2)]
    mid = await _meeting(runtime, world, starts, offsets)
    invites = await _sent(runtime, "meeting")
    assert sorted(c for c, _ in invites) == [101, 102, 103]  # Sulamu's 104 is not invited
    assert "Rakor &lt;RAT&gt;" in invites[0][1] and "Jumat, 11 Desember 2026 pukul 08.00 WITA" in invites[0][1]
    async with runtime.db.session() as session:
        payload = (await session.execute(select(OutboxPayload).where(OutboxPayload.document_data.is_not(None)))).scalar_one()
        assert b"UID:meeting-%d@kopdesk" % mid in payload.document_data
        assert b"DTSTART;TZID=Asia/Makassar:20261211T080000" in payload.document_data

    assert (await _tick(runtime)).queued == 0  # nothing due yet
    manual_clock.set(starts - timedelta(days=7))
    assert (await _tick(runtime)).queued == 3
    assert (await _tick(runtime)).queued == 0  # never twice
    assert await _answer(runtime, world, mid, 102, "t") is RsvpResult.SAVED  # Tidak hadir: silenced
    assert await _answer(runtime, world, mid, 104, "h") is RsvpResult.NOT_INVITED  # forged: not invited

    # Moved two days later: the 1-day reminder follows the new time.
    async with runtime.db.session() as session:
        m = await session.get(Meeting, mid)
        await meetings.change(session, m, actor=OFFICER, starts_at=starts + timedelta(days=2),
                              default_lang="id", tz=runtime.settings.tz, now=clock.now())
    manual_clock.set(starts - timedelta(days=1))
    assert (await _tick(runtime)).queued == 0  # the old 1-day time: nothing
    manual_clock.set(starts + timedelta(days=1))
    assert (await _tick(runtime)).queued == 2  # 101 and 103; 102 said Tidak hadir
    reminded = [c for c, t in await _sent(runtime, "meeting_reminder") if "1 hari lagi" in t]
    assert sorted(reminded) == [101, 103]

    async with runtime.db.session() as session:
        m = await session.get(Meeting, mid)
        assert await meetings.cancel(session, m, actor=OFFICER, default_lang="id", tz=runtime.settings.tz,
                                     now=clock.now()) == 3
    manual_clock.set(starts + timedelta(days=2) - timedelta(hours=2))
    assert (await _tick(runtime)).queued == 0  # cancelled: the 2-hour reminder never goes
    assert await _answer(runtime, world, mid, 101, "h") is RsvpResult.CANCELLED
    async with runtime.db.session() as session:
        actions = (await session.execute(select(AuditEntry.action).where(AuditEntry.subject_type == "meeting")
                                         .order_by(AuditEntry.id))).scalars().all()
        assert actions == ["meeting_created", "meeting_changed", "meeting_cancelled"]
        states = dict((await session.execute(select(MeetingReminder.state, func.count())
                                             .group_by(MeetingReminder.state))).all())
        assert states == {"queued": 5, "dropped": 4}


async def test_reminders_after_downtime_and_after_start(runtime: Runtime, world: dict[str, int],
                                                        manual_clock: clock.ManualClock) -> None:
    """The bot was down: a reminder still ahead of the meeting goes at once; after the start, none."""
    starts = START + timedelta(days=3)
    mid = await _meeting(runtime, world, starts, [timedelta(days=1), timedelta(hours=2)])
    manual_clock.set(starts - timedelta(hours=1))  # both fell due while "down"
    assert (await _tick(runtime)).queued == 6
    mid2 = await _meeting(runtime, world, starts + timedelta(hours=3), [timedelta(hours=2)])
    manual_clock.set(starts + timedelta(hours=4))  # mid2 began at +3h: its reminder is dropped
    assert await _answer(runtime, world, mid2, 101, "h") is RsvpResult.STARTED
    result = await _tick(runtime)
    assert result.queued == 0 and result.dropped == 3
    assert mid != mid2


async def test_campaign_across_a_season(runtime: Runtime, world: dict[str, int], manual_clock: clock.ManualClock) -> None:
    """Rounds every 14 days then weekly; a cooperative that reports drops out; once per round."""
    s = runtime.settings
    sent_per_day: dict[date, int] = {}
    day = date(2027, 1, 10)
    while day <= date(2027, 4, 5):
        manual_clock.set(datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC))
        for _ in range(2):  # two ticks (two processes) the same day
            async with runtime.db.session() as session:
                n = (await campaign.tick(session, now=clock.now(), settings=s)).queued
            if n:
                sent_per_day[day] = sent_per_day.get(day, 0) + n
        if day == date(2027, 2, 1):  # 101's cooperative reports for 2026
            async with runtime.db.session() as session:
                session.add(AnnualReportRecord(
                    cooperative_id=world["coop101"], fiscal_year=2026, revision=1, submitted_by=world[101],
                    rat_held=True, members_men=1, members_women=1, pengurus=1, pengawas=1, employees=0,
                    total_assets=1, own_capital=1, external_capital=0, business_volume=1, surplus=0,
                    still_operating=True, main_business="x"))
        day += timedelta(days=1)
    assert sent_per_day == {
        date(2027, 1, 15): 4, date(2027, 1, 29): 4, date(2027, 2, 12): 3, date(2027, 2, 26): 3,
        date(2027, 3, 5): 3, date(2027, 3, 12): 3, date(2027, 3, 19): 3, date(2027, 3, 26): 3,
    }
    async with runtime.db.session() as session:
        state = await campaign.state(session, 2026)
    assert (state.reminded, state.reported_since, state.rounds) == (4, 1, 8)


async def test_digest_once_a_day_with_its_content(runtime: Runtime, world: dict[str, int],
                                                  manual_clock: clock.ManualClock) -> None:
    s = runtime.settings
    manual_clock.set(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))  # 07.00 WITA on 2 December
    await _meeting(runtime, world, clock.now() + timedelta(days=3), [])
    async with runtime.db.session() as session:
        session.add(AnnualReportRecord(
            cooperative_id=world["coop104"], fiscal_year=2025, revision=2, submitted_by=world[104],
            rat_held=True, members_men=1, members_women=1, pengurus=1, pengawas=1, employees=0,
            total_assets=1, own_capital=1, external_capital=0, business_volume=1, surplus=0,
            still_operating=True, main_business="x", submitted_at=clock.now()))
    await _answer(runtime, world, 1, 101, "h")
    async with runtime.db.session() as session:
        assert (await digest.tick(session, now=clock.now(), settings=s)).queued == 0  # before 08.00
    manual_clock.advance(timedelta(hours=2))  # 09.00 WITA: missed 08.00, sent now
    for _ in range(3):
        async with runtime.db.session() as session:
            await digest.tick(session, now=clock.now(), settings=s)
    [(chat, text)] = await _sent(runtime, "officer_digest")
    assert chat == s.officers_chat_id
    assert "2 Desember 2026" in text
    assert "Laporan tahunan baru sejak ringkasan terakhir: <b>1</b>" in text
    assert "Koperasi 104 — tahun buku 2025 (revisi 2)" in text
    assert "Rapat dalam 7 hari: <b>1</b>" in text and "✅ 1 · ❌ 0 · ❔ 0 · ⏳ 2" in text
