"""`kopdesk export tickets` as a process: the file is opened and checked against the database."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.seed import seed_demo
from storage.models_support import Ticket, TicketState
from tests.support.cli import run_cli
from tests.support.office_data import build

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
async def office(runtime):
    await seed_demo(runtime.db, reference_year=2022)
    return runtime, await build(runtime.db, NOW, 2022)


async def test_export_tickets_with_a_range_and_a_kecamatan(office, database_url, tmp_path) -> None:
    runtime, data = office
    target = tmp_path / "files" / "tiket.csv"
    proc = run_cli("export", "tickets", "--from", "2026-11-01", "--to", "20/11/2026", "--kecamatan", "Sulamu",
                   str(target), cwd=tmp_path, timeout=120, DATABASE_URL=database_url)
    assert proc.returncode == 0, proc.stderr
    async with runtime.db.session() as session:
        sulamu = list((await session.execute(
            select(Ticket).where(Ticket.kecamatan_id == data.sulamu, Ticket.state != TicketState.DRAFT)
            .order_by(Ticket.id))).scalars())
    assert f"{len(sulamu)} rows written to {target}, open 1, answered 1, closed 0" in proc.stdout
    with target.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0][:3] == ["nomor tiket", "dibuka (WITA)", "status"]
    assert [(int(r[0]), r[3], r[9]) for r in rows[1:]] == [(t.id, "Sulamu", t.question) for t in sulamu]
    assert [r[1] for r in rows[1:]] == [
        (t.opened_at + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S") for t in sulamu]


async def test_export_tickets_needs_a_range(office, database_url, tmp_path) -> None:
    proc = run_cli("export", "tickets", str(tmp_path / "x.csv"), cwd=tmp_path, timeout=120, DATABASE_URL=database_url)
    assert proc.returncode == 2 and "--from" in proc.stderr
    assert not list(tmp_path.glob("x.*"))
