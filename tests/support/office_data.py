"""Tickets, meetings and campaign reminders in Semau, Sulamu and nowhere, for the statistics,
export and digest tests. Built relative to `now`, so the ages fall in known buckets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from storage.db import Database
from storage.models import AnnualReportRecord, Cooperative, Kecamatan, Person
from storage.models_meetings import CampaignReminder, Meeting, MeetingInvitation, MeetingState
from storage.models_support import Ticket, TicketState

OFFICER = 700  # creates the first meeting
OTHER_OFFICER = 800


@dataclass
class OfficeData:
    """Ids the tests look at."""

    semau: int
    sulamu: int
    semau_coops: list[Cooperative]
    sulamu_coops: list[Cooperative]
    meetings: dict[str, int]


async def _coops(session, kecamatan_id: int) -> list[Cooperative]:
    return list((await session.execute(
        select(Cooperative).where(Cooperative.kecamatan_id == kecamatan_id).order_by(Cooperative.id).limit(4)
    )).scalars())


def _report(coop_id: int, person_id: int, year: int) -> AnnualReportRecord:
    return AnnualReportRecord(
        cooperative_id=coop_id, fiscal_year=year, revision=1, submitted_by=person_id,
        submitted_at=datetime(year + 1, 3, 1, tzinfo=UTC), rat_held=True, rat_date=date(year + 1, 2, 1),
        members_men=1, members_women=1, pengurus=1, pengawas=1, employees=0, total_assets=1, own_capital=1,
        external_capital=0, business_volume=1, surplus=0, still_operating=True, main_business="x",
        obstacles=[], support_needed=[])


async def build(db: Database, now: datetime, fiscal_year: int) -> OfficeData:
    """Tickets of every state and age, five meetings, one campaign's reminders and reports."""
    async with db.session() as session:
        ids = dict((await session.execute(select(Kecamatan.name, Kecamatan.id))).all())
        semau, sulamu = ids["Semau"], ids["Sulamu"]
        semau_coops, sulamu_coops = await _coops(session, semau), await _coops(session, sulamu)
        people = [Person(telegram_id=9100 + i, first_name=f"Pengelola{i}", last_name="Uji",
                         username="uji" if i == 0 else None) for i in range(6)]
        session.add_all(people)
        await session.flush()

        def ticket(person: Person, coop: Cooperative | None, state: TicketState, waited: timedelta,
                   question: str = "Bagaimana cara mengajukan modal?") -> Ticket:
            since = now - waited
            return Ticket(person_id=person.id, manager_telegram_id=person.telegram_id,
                          cooperative_id=coop.id if coop else None, kecamatan_id=coop.kecamatan_id if coop else None,
                          question=question, state=state, opened_at=since - timedelta(hours=1), waiting_since=since,
                          answered_at=now - timedelta(hours=1) if state == TicketState.ANSWERED else None,
                          closed_at=now - timedelta(minutes=5) if state == TicketState.CLOSED else None)

        h = timedelta(hours=1)
        session.add_all([
            ticket(people[0], semau_coops[0], TicketState.OPEN, 2 * h, "=HYPERLINK(\"x\") <b>tolong</b>"),
            ticket(people[1], semau_coops[1], TicketState.OPEN, 30 * h),
            ticket(people[2], semau_coops[2], TicketState.OPEN, 5 * 24 * h),
            ticket(people[0], semau_coops[0], TicketState.ANSWERED, 40 * h),
            ticket(people[1], semau_coops[1], TicketState.CLOSED, 60 * h),
            ticket(people[2], semau_coops[2], TicketState.DRAFT, 10 * 24 * h),
            ticket(people[3], sulamu_coops[0], TicketState.OPEN, 50 * h),
            ticket(people[3], sulamu_coops[0], TicketState.ANSWERED, 3 * h),
            ticket(people[4], None, TicketState.OPEN, 4 * 24 * h),
        ])

        def meeting(title: str, by: int, starts: timedelta, state: MeetingState = MeetingState.SCHEDULED) -> Meeting:
            return Meeting(title=title, kind="rakor", starts_at=now + starts, place="Aula", state=state,
                           created_by=by, chat_id=by, offsets=[])

        meetings = {
            "own": meeting("Rakor <Semau>", OFFICER, timedelta(days=2)),
            "semau": meeting("Pelatihan Semau", OTHER_OFFICER, timedelta(days=1)),
            "sulamu": meeting("Sosialisasi Sulamu", OTHER_OFFICER, timedelta(days=3)),
            "past": meeting("Sudah lewat", OFFICER, -h),
            "cancelled": meeting("Batal", OFFICER, timedelta(days=4), MeetingState.CANCELLED),
        }
        session.add_all(meetings.values())
        await session.flush()
        invites = [
            ("own", people[0], semau_coops[0], "hadir"), ("own", people[1], semau_coops[1], "tidak"),
            ("own", people[2], semau_coops[2], None), ("own", people[3], sulamu_coops[0], "mungkin"),
            ("semau", people[0], semau_coops[0], None), ("semau", people[1], semau_coops[1], "hadir"),
            ("sulamu", people[3], sulamu_coops[0], "hadir"), ("past", people[0], semau_coops[0], "hadir"),
            ("cancelled", people[0], semau_coops[0], "tidak"),
        ]
        session.add_all([MeetingInvitation(meeting_id=meetings[m].id, person_id=p.id, cooperative_id=c.id, answer=a)
                         for m, p, c, a in invites])

        reminded = [(semau_coops[0], 0), (semau_coops[0], 1), (semau_coops[1], 0), (semau_coops[2], 0),
                    (sulamu_coops[0], 0)]
        session.add_all([CampaignReminder(cooperative_id=c.id, fiscal_year=fiscal_year, round=r,
                                          due_on=(now - timedelta(days=20 - 7 * r)).date(),
                                          queued_at=now - timedelta(days=20 - 7 * r), recipients=1)
                         for c, r in reminded])
        session.add_all([_report(semau_coops[0].id, people[0].id, fiscal_year),
                         _report(sulamu_coops[0].id, people[3].id, fiscal_year),
                         _report(semau_coops[1].id, people[1].id, fiscal_year - 1)])
        await session.flush()
        return OfficeData(semau, sulamu, semau_coops, sulamu_coops, {k: m.id for k, m in meetings.items()})
