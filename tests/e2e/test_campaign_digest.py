"""The report campaign and the officers' daily digest end to end: the real `kopdesk run` process,
the sandbox, and the process's clock moved through CLOCK_OFFSET_FILE (the tick every 0.3 s).

To show that something was *not* sent by a later tick, a test needs proof that such a tick ran:
a "witness" meeting reminder falling due shortly after the clock was moved. The scheduler's
parts run in order (reminders, campaign, digest) and a tick never overlaps the next, so once a
witness due after the move has arrived, at least one whole tick ran on the new clock before it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import write_offset
from bot.formatting import local_datetime, long_date
from bot.i18n import t
from bot.sandbox import SandboxClient
from storage.db import Database
from storage.models import AnnualReportRecord, ManagerPosition, Person, RegistrationRequest
from storage.models_meetings import Meeting, MeetingInvitation, MeetingReminder, MeetingState
from storage.repositories.meetings import Invitee, add_invitations
from tests.conftest import OFFICERS_CHAT
from tests.e2e.conftest import BotProcess, wait_until
from tests.e2e.test_broadcast import AMARASI, OFFICER, managers  # noqa: F401

pytestmark = pytest.mark.e2e
WITA = ZoneInfo("Asia/Makassar")
WITNESS = "Rapat penanda waktu"


class MovableClock:
    """The bot process's clock, moved by writing its offset file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = timedelta(0)
        write_offset(path, self.offset)

    def now(self) -> datetime:
        """The bot's time now."""
        return datetime.now(UTC) + self.offset

    def move_to(self, when: datetime) -> None:
        """Set the bot's time to `when` (it then runs on from there)."""
        self.offset = when - datetime.now(UTC)
        write_offset(self.path, self.offset)


@pytest.fixture
def clock(tmp_path: Path) -> MovableClock:
    return MovableClock(tmp_path / "clock-offset")


@pytest.fixture
def bot_env(bot_env: dict[str, str], clock: MovableClock) -> dict[str, str]:
    """The usual environment, the movable clock and a short scheduler tick."""
    return {**bot_env, "CLOCK_OFFSET_FILE": str(clock.path), "REMINDER_TICK_SECONDS": "0.3"}


async def _person(db: Database, telegram_id: int) -> int:
    async with db.session() as session:
        return (await session.execute(select(Person.id).where(Person.telegram_id == telegram_id))).scalar_one()


async def _coop_of(db: Database, telegram_id: int) -> int:
    from storage.models import ManagerLink

    async with db.session() as session:
        return (await session.execute(select(ManagerLink.cooperative_id).join(Person, Person.id == ManagerLink.person_id)
                                      .where(Person.telegram_id == telegram_id))).scalar_one()


async def _report(db: Database, telegram_id: int, fiscal_year: int, submitted_at: datetime) -> None:
    """The cooperative of this manager reports for `fiscal_year`."""
    coop, person = await _coop_of(db, telegram_id), await _person(db, telegram_id)
    async with db.session() as session:
        session.add(AnnualReportRecord(
            cooperative_id=coop, fiscal_year=fiscal_year, revision=1, submitted_by=person, submitted_at=submitted_at,
            rat_held=True, members_men=10, members_women=12, pengurus=3, pengawas=2, employees=1,
            total_assets=1_000_000, own_capital=600_000, external_capital=400_000, business_volume=2_000_000,
            surplus=50_000, still_operating=True, main_business="Simpan pinjam"))


async def _meeting(db: Database, title: str, starts_at: datetime, invitees: dict[int, str | None],
                   offsets: list[int] | None = None) -> int:
    """A scheduled meeting (inserted as /rapat_baru would leave it) with these answers."""
    async with db.session() as session:
        meeting = Meeting(title=title, kind="rakor", starts_at=starts_at, place="Aula Dinas", audience={"kind": "all"},
                          audience_label="Semua", offsets=offsets or [], state=MeetingState.SCHEDULED.value,
                          created_by=OFFICER, chat_id=OFFICER, sent_at=starts_at - timedelta(days=10))
        session.add(meeting)
        await session.flush()
        people = []
        for telegram_id in invitees:
            person = (await session.execute(select(Person).where(Person.telegram_id == telegram_id))).scalar_one()
            people.append(Invitee(person.id, telegram_id, None, None))  # type: ignore[arg-type]
        await add_invitations(session, meeting.id, people, offsets or [], starts_at, starts_at - timedelta(days=10))
        for person, answer in zip(people, invitees.values(), strict=True):
            invitation = (await session.execute(select(MeetingInvitation).where(
                MeetingInvitation.meeting_id == meeting.id, MeetingInvitation.person_id == person.person_id))).scalar_one()
            invitation.answer = answer
        return meeting.id


async def _count(client: SandboxClient, chat_id: int, needle: str) -> int:
    return sum(needle in (m.get("text") or "") for m in await client.messages(chat_id))


async def _witness(db: Database, client: SandboxClient, clock: MovableClock, telegram_id: int) -> None:
    """Wait for a whole scheduler tick on the current clock: a reminder due 1 s from now arrives."""
    before = await _count(client, telegram_id, WITNESS)
    # Eight days ahead: outside the digest's "meetings in the next 7 days".
    starts = clock.now() + timedelta(days=8, seconds=1)
    meeting_id = await _meeting(db, WITNESS, starts, {telegram_id: None}, offsets=[8 * 86400])
    async with db.session() as session:  # one pending reminder, due in a second
        [due] = (await session.execute(select(MeetingReminder.due_at).where(
            MeetingReminder.meeting_id == meeting_id))).scalars().all()
    assert due > clock.now()
    await wait_until(lambda: _more(client, telegram_id, before), timeout=30, what="the witness reminder")


async def _more(client: SandboxClient, chat_id: int, before: int) -> bool:
    return await _count(client, chat_id, WITNESS) > before


async def test_campaign_round_reminds_only_who_has_not_reported(
    managers: None, bot_env: dict[str, str], client: SandboxClient, db: Database,  # noqa: F811
    clock: MovableClock, tmp_path: Path,
) -> None:
    """In the season: the managers of the Amarasi cooperative without a report get the reminder,
    those of the one that reported do not, and a later tick of the same round sends nothing."""
    year = clock.now().astimezone(WITA).year + 1
    season_day = datetime.combine(date(year, 1, 20), time(10, 0), WITA)
    reported, owing = [AMARASI[0], AMARASI[2]], [AMARASI[1], AMARASI[3]]  # two cooperatives, two managers each
    await _report(db, AMARASI[0], year - 1, season_day.astimezone(UTC) - timedelta(days=2))
    clock.move_to(season_day)
    bot = BotProcess({**bot_env, "CAMPAIGN_ENABLED": "true"}, tmp_path / "bot.log", client)
    await bot.start()
    try:
        needle = "Pengingat laporan tahunan"
        for telegram_id in owing:
            await wait_until(lambda tid=telegram_id: _count(client, tid, needle), timeout=30,
                             what="the campaign reminder")
        [reminder] = [m for m in await client.messages(owing[0]) if needle in (m.get("text") or "")]
        assert f"tahun buku {year - 1}" in reminder["text"]
        assert long_date(date(year, 3, 31), "id") in reminder["text"]

        # Later ticks, the next day of the same round: nothing again, nothing to who reported.
        clock.move_to(season_day + timedelta(days=1))
        await _witness(db, client, clock, owing[0])
        await _witness(db, client, clock, owing[0])
        for telegram_id in owing:
            assert await _count(client, telegram_id, needle) == 1
        for telegram_id in reported:
            assert await _count(client, telegram_id, needle) == 0
    finally:
        await bot.stop()


async def test_digest_on_a_seeded_day_once_even_after_a_restart(
    managers: None, bot_env: dict[str, str], client: SandboxClient, db: Database,  # noqa: F811
    clock: MovableClock, tmp_path: Path,
) -> None:
    """08:00 WITA: the officers' chat gets the day's digest — the report submitted since the last
    one, the registration request waiting, next week's meeting with its answers — once, and a
    kill -9 and a restart that same morning do not send it again."""
    await client.register_chat(OFFICERS_CHAT, type="supergroup", title="Petugas")
    day = clock.now().astimezone(WITA).date() + timedelta(days=2)
    morning = datetime.combine(day, time(8, 0), WITA)
    await _report(db, AMARASI[0], day.year - 1, morning.astimezone(UTC) - timedelta(hours=12))
    async with db.session() as session:
        session.add(RegistrationRequest(telegram_id=777001, cooperative_id=await _coop_of(db, AMARASI[1]),
                                        position=ManagerPosition.BENDAHARA))
    meeting_at = morning + timedelta(days=4, hours=1)
    await _meeting(db, "Rakor <Amarasi> & Kupang", meeting_at.astimezone(UTC),
                   {AMARASI[0]: "hadir", AMARASI[1]: "tidak", AMARASI[2]: "hadir", AMARASI[3]: None})
    clock.move_to(morning - timedelta(minutes=2))  # the bot starts before 08:00: no digest yet
    bot = BotProcess({**bot_env, "DIGEST_TIME": "08:00"}, tmp_path / "bot.log", client)
    await bot.start()
    try:
        await _witness(db, client, clock, AMARASI[3])
        assert await client.messages(OFFICERS_CHAT) == []
        clock.move_to(morning + timedelta(seconds=5))
        [digest] = await client.wait_for_messages(OFFICERS_CHAT, count=1, timeout=30)
        text = digest["text"]
        assert t("id", "digest.header", day=long_date(day, "id")).replace("<b>", "").replace("</b>", "") in text
        coop_name = await _coop_name(db, AMARASI[0])
        assert f"{coop_name} — tahun buku {day.year - 1} (revisi 1)" in text
        assert "Laporan tahunan baru sejak ringkasan terakhir: 1" in text
        assert "Permintaan pendaftaran menunggu: 1" in text
        assert "Rapat dalam 7 hari: 1" in text
        when = local_datetime(meeting_at, "id", WITA)
        assert f"Rakor <Amarasi> & Kupang — {when}: ✅ 2 · ❌ 1 · ❔ 0 · ⏳ 1" in text

        # kill -9 and a restart the same morning: a whole tick runs, no second digest.
        await bot.kill9()
        await bot.start()
        await _witness(db, client, clock, AMARASI[3])
        assert len(await client.messages(OFFICERS_CHAT)) == 1
    finally:
        await bot.stop()


async def _coop_name(db: Database, telegram_id: int) -> str:
    from storage.models import Cooperative

    coop = await _coop_of(db, telegram_id)
    async with db.session() as session:
        return (await session.execute(select(Cooperative.name).where(Cooperative.id == coop))).scalar_one()
