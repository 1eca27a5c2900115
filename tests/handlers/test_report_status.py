"""Cooperative status (SPEC 4): the rule on submission and daily, the officer's hand-set status,
and the reports by year in /koperasi and /profil."""

from __future__ import annotations

from datetime import UTC, date, datetime


from bot.i18n import t
from bot.runtime import Runtime
from bot.services import report_flow
from bot.tg.jobs import STATUS_JOB
from storage.models import (
    AnnualReportRecord, Cooperative, CoopForm, CoopStatus, CoopType, Kecamatan, ManagerPosition, StatusSource,
)
from storage.repositories import people, registry
from tests.conftest import ADMIN_ID
from tests.support.harness import running_bot
from tests.support.updates import callback_update, message_update

MANAGER = 6100


async def _coop_with_manager(runtime: Runtime) -> tuple[int, int]:
    async with runtime.db.session() as session:
        kec = Kecamatan(name="Takari")
        session.add(kec)
        await session.flush()
        coop = Cooperative(registration_number="BH-77/2001", name="KSU Takari Maju", form=CoopForm.PRIMER,
                           type=CoopType.JASA, kecamatan_id=kec.id, status=CoopStatus.TIDAK_AKTIF)
        session.add(coop)
        await session.flush()
        person = await people.seen(session, telegram_id=MANAGER, first_name="Yohana", last_name=None,
                                   username=None, telegram_language="id")
        await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                    position=ManagerPosition.BENDAHARA)
        return coop.id, person.id


def _report(coop_id: int, person_id: int, year: int, *, rat: bool = True, operating: bool = True, revision: int = 1) -> AnnualReportRecord:
    return AnnualReportRecord(
        cooperative_id=coop_id, fiscal_year=year, revision=revision, submitted_by=person_id,
        submitted_at=datetime(year + 1, 3, 20, 2, tzinfo=UTC), rat_held=rat,
        rat_date=date(year + 1, 3, 15) if rat else None, members_men=10, members_women=12, pengurus=3,
        pengawas=2, employees=1, total_assets=10**8, own_capital=6 * 10**7, external_capital=10**7,
        business_volume=2 * 10**8, surplus=10**6, still_operating=operating, main_business="Jasa",
        obstacles=[], support_needed=[],
    )


async def _status(runtime: Runtime, coop_id: int) -> tuple[CoopStatus, StatusSource]:
    async with runtime.db.session() as session:
        coop = await session.get(Cooperative, coop_id)
        return coop.status, coop.status_source


async def test_daily_rule_turns_inactive_when_the_rat_is_too_old(runtime: Runtime) -> None:
    """A RAT for 2025 keeps the cooperative aktif through 2027; in 2028 it is tidak aktif."""
    coop_id, person_id = await _coop_with_manager(runtime)
    async with runtime.db.session() as session:
        session.add(_report(coop_id, person_id, 2025))
    for today, expected in ((date(2026, 5, 1), CoopStatus.AKTIF), (date(2027, 5, 1), CoopStatus.AKTIF),
                            (date(2028, 5, 1), CoopStatus.TIDAK_AKTIF)):
        async with runtime.db.session() as session:
            await report_flow.refresh_all_statuses(session, today=today, now=datetime.now(UTC),
                                                   inactive_after_years=2)
        assert await _status(runtime, coop_id) == (expected, StatusSource.DERIVED), today


async def test_officer_status_wins_until_the_next_report(runtime: Runtime) -> None:
    """/status sets it by hand; the daily rule leaves it; a new report applies the rule again."""
    coop_id, person_id = await _coop_with_manager(runtime)
    async with runtime.db.session() as session:
        session.add(_report(coop_id, person_id, 2025))
    runtime.settings.run_delivery_worker = False
    async with running_bot(runtime) as bot:
        await bot.app.post_init(bot.app)  # what run_polling does after initialize
        [job] = bot.app.job_queue.get_jobs_by_name(STATUS_JOB)
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/status BH-77/2001 tidak_aktif Kantor tutup sejak Mei"))
        assert bot.request.texts(ADMIN_ID)[-1].startswith("✅ Status KSU Takari Maju: tidak aktif")
    assert await _status(runtime, coop_id) == (CoopStatus.TIDAK_AKTIF, StatusSource.OFFICER)
    async with runtime.db.session() as session:
        await report_flow.refresh_all_statuses(session, today=date(2026, 5, 1), now=datetime.now(UTC),
                                               inactive_after_years=2)
    assert await _status(runtime, coop_id) == (CoopStatus.TIDAK_AKTIF, StatusSource.OFFICER)
    async with runtime.db.session() as session:
        session.add(_report(coop_id, person_id, 2025, revision=2))
        coop = await session.get(Cooperative, coop_id)
        await report_flow.refresh_status(session, coop, today=date(2026, 5, 1), now=datetime.now(UTC),
                                         inactive_after_years=2)
    assert await _status(runtime, coop_id) == (CoopStatus.AKTIF, StatusSource.DERIVED)


async def test_profiles_show_reports_by_year(runtime: Runtime) -> None:
    """/koperasi lists every revision for officers; /profil the newest per year for the manager."""
    coop_id, person_id = await _coop_with_manager(runtime)
    async with runtime.db.session() as session:
        session.add_all([_report(coop_id, person_id, 2024), _report(coop_id, person_id, 2025),
                         _report(coop_id, person_id, 2025, revision=2, operating=False)])
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/koperasi BH-77/2001"))
        officer_view = bot.request.texts(ADMIN_ID)[-1]
        await bot.feed(message_update(bot.app.bot, MANAGER, "/profil"))
        manager_view = bot.request.texts(MANAGER)[-1]
    assert officer_view.count("• 2025: revisi") == 2 and "• 2024: revisi 1" in officer_view
    assert manager_view.count("• 2025: revisi") == 1 and "• 2025: revisi 2" in manager_view


async def test_status_command_respects_scope_and_usage(runtime: Runtime) -> None:
    """A bad /status gets the usage line; a manager is refused."""
    await _coop_with_manager(runtime)
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/status BH-77/2001 hebat"))
        assert bot.request.texts(ADMIN_ID)[-1] == t("id", "status_cmd.usage")
        await bot.feed(message_update(bot.app.bot, MANAGER, "/status BH-77/2001 aktif bagus"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "access.officer_only")


async def test_long_officer_list_is_split(runtime: Runtime) -> None:
    """/petugas with 150 officers: several messages, each within Telegram's limit, none lost."""
    async with runtime.db.session() as session:
        for i in range(150):
            await registry.add_officer(session, telegram_id=50_000 + i, name=f"Petugas Dinas Nomor {i:03d} " + "x" * 20)
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/petugas"))
        texts = bot.request.texts(ADMIN_ID)
    assert len(texts) > 1 and all(len(text) <= 4096 for text in texts)
    joined = "\n".join(texts)
    assert all(f"Nomor {i:03d}" in joined for i in range(150))


async def test_manager_edits_own_phone_in_profile(runtime: Runtime) -> None:
    """/profil → 📞 → a wrong number is explained, a right one saved in +62 form."""
    await _coop_with_manager(runtime)
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, MANAGER, "/profil"))
        first = bot.request.sent(MANAGER)[0]
        assert first["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "ph:edit"
        await bot.feed(callback_update(bot.app.bot, MANAGER, "ph:edit"))
        await bot.feed(message_update(bot.app.bot, MANAGER, "nomor saya"))
        assert bot.request.texts(MANAGER)[-1].startswith(t("id", "parse.phone"))
        await bot.feed(message_update(bot.app.bot, MANAGER, "0812-3456-7890"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "profile.phone_saved", phone="+6281234567890")
    async with runtime.db.session() as session:
        person = await people.get_by_telegram_id(session, MANAGER)
    assert person.phone == "+6281234567890"
