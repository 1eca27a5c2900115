"""Two managers of one cooperative submitting the same year at the same moment get revisions
1 and 2 — not the same number twice (and not a unique-key error)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import select

from bot.runtime import Runtime
from bot.services import report_flow
from bot.services.annual_report import encode_answer
from storage.models import AnnualReportRecord, Cooperative, CoopForm, CoopType, Kecamatan, ReportDraft
from storage.repositories import people

TODAY = date(2026, 5, 1)
ANSWERS = {
    "rat_held": True, "rat_date": date(2026, 3, 15), "members_men": 40, "members_women": 35,
    "pengurus": 3, "pengawas": 2, "employees": 1, "total_assets": 500_000_000,
    "own_capital": 300_000_000, "external_capital": 100_000_000, "business_volume": 900_000_000,
    "surplus": 12_000_000, "still_operating": True, "main_business": "Simpan pinjam",
    "obstacles": [], "support_needed": [], "notes": None,
}


async def test_simultaneous_submissions_get_consecutive_revisions(runtime: Runtime) -> None:
    """Both transactions commit; the revisions are 1 and 2."""
    async with runtime.db.session() as session:
        kec = Kecamatan(name="Sulamu")
        session.add(kec)
        await session.flush()
        coop = Cooperative(registration_number="BH-RACE", name="KSP Race", form=CoopForm.PRIMER,
                           type=CoopType.SIMPAN_PINJAM, kecamatan_id=kec.id)
        session.add(coop)
        await session.flush()
        drafts = []
        for telegram_id in (8101, 8102):
            person = await people.seen(session, telegram_id=telegram_id, first_name="M", last_name=None,
                                       username=None, telegram_language="id")
            draft = ReportDraft(person_id=person.id, cooperative_id=coop.id, fiscal_year=2025,
                                answers={k: encode_answer(v) for k, v in ANSWERS.items()}, current_field=None)
            session.add(draft)
            await session.flush()
            drafts.append(draft.id)
        coop_id = coop.id

    async def submit(draft_id: int) -> None:
        async with runtime.db.session() as session:
            draft = await session.get(ReportDraft, draft_id)
            await report_flow.submit(session, draft, today=TODAY, now=datetime.now(UTC),
                                     inactive_after_years=2, actor_telegram_id=1)

    await asyncio.gather(*(submit(d) for d in drafts))
    async with runtime.db.session() as session:
        revisions = sorted((await session.execute(
            select(AnnualReportRecord.revision).where(AnnualReportRecord.cooperative_id == coop_id)
        )).scalars())
    assert revisions == [1, 2]
