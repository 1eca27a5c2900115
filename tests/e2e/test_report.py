"""The annual report (SPEC 4) end to end: the real process, the sandbox, the database."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.i18n import t
from bot.sandbox import SandboxClient
from bot.seed import seed_demo
from bot.services import digest
from bot.services.coop_status import last_closed_fiscal_year
from bot.settings import Settings
from storage.db import Database
from storage.models import AnnualReportRecord, Cooperative, ManagerPosition, ReportDraft
from storage.repositories import people, registry
from storage.types import utcnow
from tests.conftest import OFFICERS_CHAT
from tests.e2e.conftest import BotProcess, settled, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def bot_env(bot_env: dict[str, str]) -> dict[str, str]:
    """These tests type a whole report within seconds: above the default flood limit."""
    return dict(bot_env, FLOOD_LIMIT_PER_MINUTE="200")
MANAGER = 8001
YEAR = last_closed_fiscal_year(utcnow().date())


class Chat:
    """One user's side of the chat: send, press, and wait for the bot's next message."""

    def __init__(self, client: SandboxClient, user: int) -> None:
        self.client, self.user, self.last_id = client, user, 0

    async def next(self, timeout: float = 20) -> dict:
        [message] = (await self.client.wait_for_messages(self.user, after_id=self.last_id, count=1, timeout=timeout))[:1]
        self.last_id = message["message_id"]
        return message

    async def say(self, text: str) -> dict:
        await self.client.send_text(self.user, text)
        return await self.next()

    async def press(self, message: dict, data: str) -> dict:
        await self.client.press(self.user, message["message_id"], data)
        return await self.next()

    async def tap(self, message: dict, data: str) -> None:
        """A press that edits the message instead of sending a new one (multi-select)."""
        await self.client.press(self.user, message["message_id"], data)


def data_of(message: dict, startswith: str) -> str:
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    found = [b["callback_data"] for row in keyboard for b in row if b["callback_data"].startswith(startswith)]
    assert found, f"no button {startswith}… in {message}"
    return found[0]


async def make_manager(db: Database, telegram_id: int, count: int = 1) -> list[Cooperative]:
    """Seed the registry and link a person to `count` cooperatives."""
    await seed_demo(db)
    async with db.session() as session:
        coops = list((await session.execute(select(Cooperative).order_by(Cooperative.id).limit(count))).scalars())
        person = await people.seen(session, telegram_id=telegram_id, first_name="Maria", last_name=None,
                                   username=None, telegram_language="id")
        for coop in coops:
            await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                        position=ManagerPosition.KETUA)
    return coops


async def answer_until_summary(chat: Chat, question: dict, answers: dict[str, str]) -> dict:
    """Answer the remaining questions by field; returns the summary message."""
    message = question
    for _ in range(30):
        text = message["text"]
        if "Ringkasan laporan" in text:
            return message
        asked = [name for name in answers if t("id", f"report.q.{name}", year=YEAR, next_year=YEAR + 1) in text]
        assert asked, f"unexpected message: {text}"
        field = asked[0]
        value = answers[field]
        if value.startswith("tap:"):
            for option in value[4:].split(","):
                if option:
                    await chat.tap(message, data_of(message, "rp:ms:").rsplit(":", 1)[0] + f":{option}")
            message = await chat.press(message, data_of(message, "rp:done:"))
        elif value.startswith("press:"):
            message = await chat.press(message, data_of(message, value[6:]))
        else:
            message = await chat.say(value)
    raise AssertionError("no summary after 30 steps")


FULL = {
    "rat_held": "press:rp:yn:",
    "rat_date": f"15 Maret {YEAR + 1}",
    "members_men": "1.250",
    "members_women": "980",
    "pengurus": "5",
    "pengawas": "3",
    "employees": "12",
    "total_assets": "2,5 M",
    "own_capital": "1,2 M",
    "external_capital": "800 jt",
    "business_volume": "Rp 3.100.000.000",
    "surplus": "-5 juta",
    "still_operating": "ya",
    "main_business": "Simpan pinjam dan toko sembako",
    "obstacles": "tap:modal,lainnya",
    "obstacles_other": "Harga pupuk naik",
    "support_needed": "tap:permodalan",
    "notes": "/lewati",
}


async def reports_in_db(db: Database, coop_id: int) -> list[AnnualReportRecord]:
    async with db.session() as session:
        return list((await session.execute(
            select(AnnualReportRecord).where(AnnualReportRecord.cooperative_id == coop_id)
            .order_by(AnnualReportRecord.revision))).scalars())


async def test_complete_report_with_mistakes_back_skip_cancel_and_kill(
    bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """Wrong answers, ◀️, /lewati, /batal and kill -9 on the way; the database holds what was typed."""
    [coop] = await make_manager(db, MANAGER)
    await client.register_chat(OFFICERS_CHAT, type="supergroup", title="Petugas")
    chat = Chat(client, MANAGER)
    years = await chat.say("/laporan")
    question = await chat.press(years, f"rp:year:{coop.id}:{YEAR}")
    assert t("id", "report.q.rat_held", year=YEAR) in question["text"]
    question = await chat.press(question, data_of(question, "rp:yn:"))  # Ya
    # A date that does not exist, then text that is no date: the reason and the same question.
    wrong = await chat.say("31/02/2026")
    assert wrong["text"].startswith("⚠️") and t("id", "report.q.rat_date", year=YEAR, next_year=YEAR + 1) in wrong["text"]
    wrong = await chat.say("kemarin dulu")
    assert wrong["text"].startswith("⚠️")
    question = await chat.say(f"15/03/{YEAR + 1}")
    assert t("id", "report.q.members_men") in question["text"]
    wrong = await chat.say("banyak")
    assert wrong["text"].startswith("⚠️") and t("id", "report.q.members_men") in wrong["text"]
    question = await chat.say("1.200")
    # ◀️ back: the saved answer is shown, and a new one replaces it.
    back = await chat.press(question, data_of(question, "rp:back:"))
    assert t("id", "report.q.members_men") in back["text"] and "1.200" in back["text"]
    question = await chat.say("1.250")
    assert t("id", "report.q.members_women") in question["text"]

    # /batal halfway, then /laporan offers to continue at the same question.
    cancelled = await chat.say("/batal")
    assert cancelled["text"] == t("id", "cancel.done")
    offer = await chat.say("/laporan")
    assert offer["text"].startswith("Anda punya isian laporan")
    question = await chat.press(offer, data_of(offer, "rp:resume:"))
    assert t("id", "report.q.members_women") in question["text"]

    # kill -9 while a question waits; after the restart the typed answer goes to that question.
    async def draft_at(field: str) -> bool:
        async with db.session() as session:
            draft = (await session.execute(select(ReportDraft))).scalar_one_or_none()
        return draft is not None and draft.current_field == field

    await wait_until(lambda: draft_at("members_women"), what="the draft to be saved")
    await wait_until(lambda: settled(db, MANAGER), what="the resume press to commit")
    await bot.kill9()
    await bot.start()
    question = await chat.say("980")
    assert t("id", "report.q.pengurus") in question["text"]

    remaining = {k: v for k, v in FULL.items() if k not in {"rat_held", "rat_date", "members_men", "members_women"}}
    summary = await answer_until_summary(chat, question, remaining)
    assert "Rp 2.500.000.000" in summary["text"] and "2.230" in summary["text"]  # members total
    assert t("id", "report.summary_no_previous") in summary["text"]
    done = await chat.press(summary, data_of(summary, "rp:send:"))
    assert done["text"].startswith("✅") and "revisi 1" in done["text"]

    await wait_until(lambda: _count(db, coop.id, 1), what="the report to commit")
    [record] = await reports_in_db(db, coop.id)
    assert (record.fiscal_year, record.rat_held, record.rat_date) == (YEAR, True, date(YEAR + 1, 3, 15))
    assert (record.members_men, record.members_women, record.pengurus, record.pengawas, record.employees) == (1250, 980, 5, 3, 12)
    assert (record.total_assets, record.own_capital, record.external_capital) == (2_500_000_000, 1_200_000_000, 800_000_000)
    assert (record.business_volume, record.surplus, record.still_operating) == (3_100_000_000, -5_000_000, True)
    assert record.main_business == "Simpan pinjam dan toko sembako"
    assert (record.obstacles, record.obstacles_other, record.support_needed, record.notes) == (
        ["modal", "lainnya"], "Harga pupuk naik", ["permodalan"], None)
    async with db.session() as session:
        drafts = (await session.execute(select(ReportDraft))).scalars().all()
        status = (await session.execute(select(Cooperative.status).where(Cooperative.id == coop.id))).scalar_one()
    assert drafts == [] and str(status) == "aktif"
    # The officers are not told one by one (SPEC 6): the report is in their next daily digest.
    async with db.session() as session:
        digest_text = await digest.build(session, now=utcnow(), since=utcnow() - timedelta(hours=1),
                                         settings=Settings(_env_file=None))
    assert f"{coop.name} — tahun buku {YEAR} (revisi 1)" in digest_text
    assert await client.messages(OFFICERS_CHAT) == []


async def _count(db: Database, coop_id: int, n: int) -> bool:
    return len(await reports_in_db(db, coop_id)) == n


async def test_resubmission_and_two_cooperatives_and_forged_button(
    bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """A manager of two cooperatives; reporting twice makes revision 2; a forged button is refused."""
    first, second = await make_manager(db, MANAGER, count=2)
    async with db.session() as session:
        stranger = (await session.execute(select(Cooperative).order_by(Cooperative.id.desc()).limit(1))).scalar_one()
    chat = Chat(client, MANAGER)
    for revision in (1, 2):
        choose = await chat.say("/laporan")
        assert {data_of(choose, f"rp:coop:{first.id}"), data_of(choose, f"rp:coop:{second.id}")}
        years = await chat.press(choose, f"rp:coop:{second.id}")
        question = await chat.press(years, f"rp:year:{second.id}:{YEAR}")
        answers = dict(FULL, members_men=str(1000 + revision), rat_held="press:rp:yn:")
        summary = await answer_until_summary(chat, question, answers)
        done = await chat.press(summary, data_of(summary, "rp:send:"))
        assert f"revisi {revision}" in done["text"]
        await wait_until(lambda r=revision: _count(db, second.id, r), what=f"revision {revision}")
    records = await reports_in_db(db, second.id)
    assert [(r.revision, r.members_men) for r in records] == [(1, 1001), (2, 1002)]
    assert await reports_in_db(db, first.id) == []

    # Forged: a year button for a cooperative he does not manage.
    forged = await client.press(MANAGER, chat.last_id, f"rp:year:{stranger.id}:{YEAR}")
    answer = await client.callback_answer(forged["id"])
    assert answer["text"] == t("id", "report.not_yours")
    async with db.session() as session:
        drafts = (await session.execute(select(ReportDraft.cooperative_id))).scalars().all()
    assert stranger.id not in drafts
