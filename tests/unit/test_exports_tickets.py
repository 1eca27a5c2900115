"""The tickets CSV (bot/exports/tickets.py): opened and checked against the database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot import exports
from bot.exports.base import kind_for_word
from bot.exports.tickets import HEADER_TEMPLATE
from bot.seed import seed_demo
from bot.services.scope import Scope
from storage.models import Cooperative, Kecamatan, Person
from storage.models_support import Ticket, TicketMessage, TicketState
from tests.support.office_data import build
from tests.unit.test_exports import WITA, read_csv, request

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
STATES = {"open": "menunggu petugas", "answered": "dijawab", "closed": "ditutup"}


@pytest.fixture
async def office(runtime):
    await seed_demo(runtime.db, reference_year=2022)
    data = await build(runtime.db, NOW, 2022)
    async with runtime.db.session() as session:
        first = (await session.execute(select(Ticket).order_by(Ticket.id).limit(1))).scalar_one()
        for n in range(3):
            session.add(TicketMessage(ticket_id=first.id, author="manager", author_telegram_id=1, text=f"m{n}",
                                      source_chat_id=1, source_message_id=n))
    return runtime.db, data


def _local(moment: datetime | None) -> str:
    return moment.astimezone(WITA).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


async def _expected(db, first: date, last: date, kecamatan: int | None = None) -> list[list[str]]:
    """The rows the file should hold, worked out from the ORM objects."""
    async with db.session() as session:
        tickets = list((await session.execute(select(Ticket).order_by(Ticket.id))).scalars())
        coops = {c.id: c for c in (await session.execute(select(Cooperative))).scalars()}
        names = dict((await session.execute(select(Kecamatan.id, Kecamatan.name))).all())
        people = {p.id: p for p in (await session.execute(select(Person))).scalars()}
        messages = list((await session.execute(select(TicketMessage.ticket_id))).scalars())
    rows = []
    for t in tickets:
        day = t.opened_at.astimezone(WITA).date()
        if t.state == TicketState.DRAFT or not first <= day <= last:
            continue
        if kecamatan is not None and t.kecamatan_id != kecamatan:
            continue
        coop, person = coops.get(t.cooperative_id), people[t.person_id]
        manager = f"{person.first_name} {person.last_name}" + (f" (@{person.username})" if person.username else "")
        question = "'" + t.question if t.question[0] in "=+-@" else t.question
        rows.append([str(t.id), _local(t.opened_at), STATES[t.state], names.get(t.kecamatan_id, ""),
                     coop.name if coop else "", coop.registration_number if coop else "", manager,
                     str(t.manager_telegram_id), t.topic or "", question, str(messages.count(t.id)),
                     _local(t.waiting_since if t.state == TicketState.OPEN else None), _local(t.answered_at),
                     _local(t.closed_at), str(t.escalations)])
    return rows


async def test_tickets_csv_matches_the_database(office, tmp_path) -> None:
    db, _ = office
    first, last = date(2026, 11, 1), date(2026, 12, 1)
    result = await exports.run(db, request(tmp_path, "tickets", first_day=first, last_day=last))
    [path] = result.files
    assert path.name == "tiket_2026-11-01_2026-12-01.csv"
    rows = read_csv(path)
    assert rows[0] == [h.format(zone="WITA") for h in HEADER_TEMPLATE]
    assert rows[0][:3] == ["nomor tiket", "dibuka (WITA)", "status"]
    expected = await _expected(db, first, last)
    assert rows[1:] == expected and len(expected) == 8  # the draft is left out
    assert result.figures == {"open": 5, "answered": 2, "closed": 1}
    # The formula guard: the manager's "=HYPERLINK(...)" is text, not a formula.
    assert rows[1][9].startswith("'=HYPERLINK") and rows[1][10] == "3"


async def test_tickets_csv_scope_and_range(office, tmp_path) -> None:
    db, data = office
    first, last = date(2026, 11, 1), date(2026, 12, 1)
    scoped = await exports.run(db, request(tmp_path, "tickets", Scope((data.semau,), ("Semau",)),
                                           first_day=first, last_day=last))
    rows = read_csv(scoped.files[0])
    assert scoped.files[0].name == "tiket_2026-11-01_2026-12-01_semau.csv"
    assert rows[1:] == await _expected(db, first, last, data.semau)
    assert {r[3] for r in rows[1:]} == {"Semau"} and len(rows) == 1 + 5
    # Only the tickets opened on the days asked (office time): the last two days.
    recent = await exports.run(db, request(tmp_path, "tickets", first_day=date(2026, 11, 30), last_day=last))
    recent_rows = read_csv(recent.files[0])[1:]
    assert recent_rows == await _expected(db, date(2026, 11, 30), last)
    assert 0 < len(recent_rows) < 8
    quiet = await exports.run(db, request(tmp_path, "tickets", first_day=date(2025, 1, 1), last_day=date(2025, 1, 2)))
    assert quiet.rows == 0 and len(read_csv(quiet.files[0])) == 1


async def test_tickets_csv_pages_through_every_ticket(office, tmp_path, monkeypatch) -> None:
    db, _ = office
    import storage.repositories.exports as repo

    original = repo.ticket_rows
    monkeypatch.setattr(repo, "ticket_rows", lambda s, a, b, k: original(s, a, b, k, page=3))
    first, last = date(2026, 11, 1), date(2026, 12, 1)
    result = await exports.run(db, request(tmp_path, "tickets", first_day=first, last_day=last))
    assert read_csv(result.files[0])[1:] == await _expected(db, first, last)


def test_the_officer_may_name_it_in_either_language() -> None:
    assert kind_for_word("tiket").key == kind_for_word("tickets").key == "tickets"
    assert kind_for_word("tickets").period == "range"
