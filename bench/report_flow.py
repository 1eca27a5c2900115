"""Benchmark: many managers fill in complete annual reports (/laporan) at the same time.

One `kopdesk run` process against the Bot API sandbox (its own process). Set-up, before the bot
starts: a fresh database migrated to head, `seed_demo`, and N people each linked to a different
cooperative. Each virtual manager then walks the whole report in a closed loop: /laporan, the
year button, one answer per question (typed numbers, money in several spellings, yes/no typed or
pressed, the RAT date, multi-select ticks, optional questions answered or /lewati), and finally
📨 Kirim; every step waits for the bot's next question (ticks wait for the edit) before the next.

Per-answer latency runs from sending an answer (a text or a yes/no / ✔️ press) to receiving the
next question (or the summary). Afterwards `annual_reports` is read back and every report must
exist exactly once, revision 1, with exactly the values that manager typed.

    .venv/bin/python bench/report_flow.py [--managers 200 | --quick] [--database-url URL]

The database given with --database-url must be empty (a scratch database); without it a SQLite
file in a temporary directory is used. Only 127.0.0.1 is used. JSON on stdout only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import TOKEN, Proc, emit, percentile, start_sandbox, wait_polling  # noqa: E402

FLOOD_LIMIT = 10_000  # messages per user per minute: far above the ~20 a bench user types
SEND_RATE = 1000  # as in echo_baseline: measure the bot, not PTB's overall send limiter
USER_BASE = 7_000_000  # Telegram ids of the virtual managers: USER_BASE + index
MANAGERS_PER_CLIENT = 50  # one in-flight request per manager; httpx pools 100 connections
OFFICERS_CHAT = -100500  # with --officers-chat: the officers' supergroup told of every report
_MONTHS_ID = ("Januari", "Februari", "Maret", "April", "Mei", "Juni", "Juli", "Agustus",
              "September", "Oktober", "November", "Desember")


# --- what each manager types -------------------------------------------------------------------


@dataclass
class Step:
    """One question: the field, and how it is answered ("text", "yn" press, "multi" ticks)."""

    field: str
    kind: str  # "text" | "yn" | "multi"
    text: str = ""
    yes: bool = False
    ticks: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """A manager's whole report: the steps in question order and the record they must give."""

    index: int
    user_id: int
    cooperative_id: int = 0
    person_id: int = 0
    steps: list[Step] = field(default_factory=list)
    expected: dict[str, Any] = field(default_factory=dict)


def _grouped(value: int, sep: str = ".") -> str:
    return f"{value:,}".replace(",", sep)


def _money(rng: random.Random, low: int = 1_000_000) -> tuple[str, int]:
    """A non-negative amount in one of the spellings managers use, and its value."""
    form = rng.randrange(6)
    if form == 0:
        value = rng.randrange(low, 90_000_000_000)
        return f"Rp {_grouped(value)}", value
    if form == 1:
        tenths = rng.randrange(10, 250)  # 1,0 M … 24,9 M
        whole, frac = divmod(tenths, 10)
        return (f"{whole},{frac} M" if frac else f"{whole} M"), tenths * 100_000_000
    if form == 2:
        n = rng.randrange(1, 1000)
        return f"{n} {rng.choice(['jt', 'juta'])}", n * 1_000_000
    if form == 3:
        value = rng.randrange(low, 5_000_000_000)
        return str(value), value
    if form == 4:
        value = rng.randrange(low, 900_000_000, 1000)
        return f"Rp. {_grouped(value)},-", value
    n = rng.randrange(100, 1000)
    return f"{n} rb", n * 1000


def _surplus(rng: random.Random) -> tuple[str, int]:
    """SHU: positive, zero or a loss, written as the question suggests or accounting style."""
    form = rng.randrange(5)
    if form == 0:
        n = rng.randrange(1, 500)
        return f"-{n} juta", -n * 1_000_000
    if form == 1:
        value = rng.randrange(1_000_000, 300_000_000)
        return f"({_grouped(value)})", -value
    if form == 2:
        value = rng.randrange(1_000_000, 300_000_000)
        return f"-Rp {_grouped(value)}", -value
    if form == 3:
        return "0", 0
    return _money(rng)


def _count(rng: random.Random, low: int, high: int) -> tuple[str, int]:
    value = rng.randint(low, high)
    form = rng.randrange(3)
    if form == 0 and value >= 1000:
        return _grouped(value), value
    if form == 1:
        return f"{value} orang", value
    return str(value), value


def _yes_no(rng: random.Random, yes: bool, field_name: str) -> Step:
    if rng.random() < 0.5:
        return Step(field_name, "yn", yes=yes)
    word = rng.choice(["ya", "Ya", "sudah", "iya"] if yes else ["tidak", "belum", "Tidak", "tdk"])
    return Step(field_name, "text", text=word)


def _rat_date(rng: random.Random, year: int, today: date) -> tuple[str, date]:
    """A RAT date inside the window (fiscal year Y or Y+1, not after today), in three spellings."""
    last = min(date(year + 1, 12, 31), today - timedelta(days=2))  # two days: any time zone
    first = date(year, 1, 1)
    day = first + timedelta(days=rng.randrange((last - first).days + 1))
    form = rng.randrange(3)
    if form == 0:
        return day.strftime("%d/%m/%Y"), day
    if form == 1:
        return f"{day.day} {_MONTHS_ID[day.month - 1]} {day.year}", day
    return day.isoformat(), day


def make_plan(index: int, year: int, today: date) -> Plan:
    """The answers of manager `index` (deterministic) and the record they must produce."""
    from bot.services.annual_report import Obstacle, SupportNeed

    rng = random.Random(1000 + index)
    plan = Plan(index=index, user_id=USER_BASE + index)
    exp = plan.expected
    steps = plan.steps

    rat_held = index % 4 != 3
    steps.append(_yes_no(rng, rat_held, "rat_held"))
    exp["rat_held"] = rat_held
    exp["rat_date"] = None
    if rat_held:
        text, day = _rat_date(rng, year, today)
        steps.append(Step("rat_date", "text", text=text))
        exp["rat_date"] = day
    for name, low, high in (("members_men", 0, 6000), ("members_women", 0, 6000),
                            ("pengurus", 1, 15), ("pengawas", 1, 9), ("employees", 0, 80)):
        text, value = _count(rng, low, high)
        steps.append(Step(name, "text", text=text))
        exp[name] = value
    for name in ("total_assets", "own_capital", "external_capital", "business_volume"):
        text, value = _money(rng)
        steps.append(Step(name, "text", text=text))
        exp[name] = value
    text, value = _surplus(rng)
    steps.append(Step("surplus", "text", text=text))
    exp["surplus"] = value
    operating = index % 7 != 6
    steps.append(_yes_no(rng, operating, "still_operating"))
    exp["still_operating"] = operating
    business = rng.choice(["Simpan pinjam", "Toko sembako & simpan pinjam", "Budidaya rumput laut",
                           "Tenun ikat <Amarasi>", "Penggemukan sapi", "Pemasaran jambu mete"])
    text = f"{business}  untuk anggota,   cabang {index}"  # extra spaces: squeezed when stored
    steps.append(Step("main_business", "text", text=text))
    exp["main_business"] = " ".join(text.split())

    options = [o.value for o in Obstacle]
    chosen = rng.sample(options, rng.randrange(0, 4))
    if index % 3 == 0 and "lainnya" not in chosen:
        chosen.append("lainnya")
    rng.shuffle(chosen)  # ticked in any order; stored in menu order
    steps.append(Step("obstacles", "multi", ticks=chosen))
    exp["obstacles"] = [o for o in options if o in chosen]
    exp["obstacles_other"] = None
    if "lainnya" in chosen:
        if index % 2 == 0:
            text = f"Harga pupuk naik; jalan ke desa rusak (manajer {index})"
            steps.append(Step("obstacles_other", "text", text=text))
            exp["obstacles_other"] = text
        else:
            steps.append(Step("obstacles_other", "text", text="/lewati"))
    support = [s.value for s in SupportNeed]
    wanted = rng.sample(support, rng.randrange(0, 4))
    if index % 5 == 1 and wanted:  # tick one twice: it ends unticked
        wanted_ticks = [*wanted, wanted[0]]
        wanted = wanted[1:]
    else:
        wanted_ticks = list(wanted)
    steps.append(Step("support_needed", "multi", ticks=wanted_ticks))
    exp["support_needed"] = [s for s in support if s in wanted]
    if index % 2 == 0:
        text = f"Catatan manajer {index}:\nRAT dihadiri {rng.randint(20, 300)} anggota."
        steps.append(Step("notes", "text", text=text))
        exp["notes"] = text
    else:
        steps.append(Step("notes", "text", text="/lewati"))
        exp["notes"] = None
    return plan


# --- driving one manager through the sandbox ---------------------------------------------------


class FlowError(Exception):
    """The conversation went somewhere the plan did not expect."""


def _buttons(message: dict[str, Any]) -> list[str]:
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [b.get("callback_data", "") for row in keyboard for b in row]


def _button(message: dict[str, Any], prefix: str) -> str:
    found = [d for d in _buttons(message) if d.startswith(prefix)]
    if not found:
        raise FlowError(f"no button {prefix}… in {message.get('text')!r}")
    return found[0]


class Chat:
    """One manager's side: send, press, and wait for what the bot does in the chat (events)."""

    def __init__(self, client: Any, user_id: int, step_timeout: float) -> None:
        self.client, self.user, self.step_timeout = client, user_id, step_timeout
        self.seq = 0
        self.inbox: deque[dict[str, Any]] = deque()
        self.edits: Counter[int] = Counter()

    async def _pull(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"user {self.user}: no reply within {self.step_timeout:g}s")
        events = await self.client.events(self.user, after_seq=self.seq, wait=remaining, min_count=1)
        for event in events:
            self.seq = max(self.seq, event["seq"])
            if event["kind"] == "sent":
                self.inbox.append(event["message"])
            elif event["kind"] == "edited":
                self.edits[event["message"]["message_id"]] += 1

    async def next_message(self) -> dict[str, Any]:
        deadline = time.monotonic() + self.step_timeout
        while not self.inbox:
            await self._pull(deadline)
        return self.inbox.popleft()

    async def wait_edits(self, message_id: int, count: int) -> None:
        deadline = time.monotonic() + self.step_timeout
        while self.edits[message_id] < count:
            await self._pull(deadline)

    async def say(self, text: str) -> dict[str, Any]:
        await self.client.send_text(self.user, text)
        return await self.next_message()

    async def press(self, message: dict[str, Any], data: str) -> dict[str, Any]:
        await self.client.press(self.user, message["message_id"], data)
        return await self.next_message()


@dataclass
class Timings:
    """Every latency of the run, in seconds."""

    answers: list[float] = field(default_factory=list)
    taps: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)  # /laporan → year buttons, year → first question
    submit: list[float] = field(default_factory=list)  # 📨 Kirim → ✅


async def drive(client: Any, plan: Plan, year: int, timings: Timings, step_timeout: float,
                questions: dict[str, str]) -> None:
    """Walk one manager through the whole report; raises FlowError/TimeoutError when it strays."""
    chat = Chat(client, plan.user_id, step_timeout)

    started = time.perf_counter()
    years = await chat.say("/laporan")
    timings.start.append(time.perf_counter() - started)
    year_data = f"rp:year:{plan.cooperative_id}:{year}"
    if year_data not in _buttons(years):
        raise FlowError(f"/laporan: no {year_data} in {years.get('text')!r} {_buttons(years)}")
    started = time.perf_counter()
    message = await chat.press(years, year_data)
    timings.start.append(time.perf_counter() - started)

    for step in plan.steps:
        text = message.get("text") or ""
        if questions[step.field] not in text or text.startswith("⚠️"):
            raise FlowError(f"expected question {step.field}, got {text[:200]!r}")
        if step.kind == "yn":
            data = _button(message, "rp:yn:").rsplit(":", 1)[0] + (":1" if step.yes else ":0")
            started = time.perf_counter()
            message = await chat.press(message, data)
        elif step.kind == "multi":
            prefix = _button(message, "rp:ms:").rsplit(":", 1)[0]
            for n, option in enumerate(step.ticks, start=1):
                tapped = time.perf_counter()
                await client.press(plan.user_id, message["message_id"], f"{prefix}:{option}")
                await chat.wait_edits(message["message_id"], n)
                timings.taps.append(time.perf_counter() - tapped)
            started = time.perf_counter()
            message = await chat.press(message, _button(message, "rp:done:"))
        else:
            started = time.perf_counter()
            message = await chat.say(step.text)
        timings.answers.append(time.perf_counter() - started)

    text = message.get("text") or ""
    if "Ringkasan laporan" not in text:
        raise FlowError(f"expected the summary, got {text[:200]!r}")
    started = time.perf_counter()
    done = await chat.press(message, _button(message, "rp:send:"))
    timings.submit.append(time.perf_counter() - started)
    text = done.get("text") or ""
    if not text.startswith("✅") or "revisi 1" not in text:
        raise FlowError(f"expected ✅ … revisi 1, got {text[:200]!r}")


# --- database set-up and check -----------------------------------------------------------------


async def prepare_database(db_url: str, plans: list[Plan]) -> None:
    """Migrate, refuse a used database, seed the demo registry, link one person per cooperative."""
    from sqlalchemy import func, select

    from bot.seed import seed_demo
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import AnnualReportRecord, Cooperative, ManagerPosition, Person
    from storage.repositories import people, registry

    await asyncio.to_thread(upgrade, db_url)
    db = Database(db_url)
    try:
        async with db.session() as session:
            used = (await session.execute(select(func.count()).select_from(Person))).scalar_one()
            used += (await session.execute(select(func.count()).select_from(AnnualReportRecord))).scalar_one()
        if used:
            raise SystemExit("the database is not fresh (people or annual_reports has rows): use a scratch one")
        await seed_demo(db)
        async with db.session() as session:
            coop_ids = list((await session.execute(
                select(Cooperative.id).order_by(Cooperative.id).limit(len(plans)))).scalars())
            if len(coop_ids) < len(plans):
                raise SystemExit(f"only {len(coop_ids)} cooperatives to link {len(plans)} managers")
            for plan, coop_id in zip(plans, coop_ids, strict=True):
                # The sandbox's default profile (User<id>, language id), so `seen` writes nothing more.
                person = await people.seen(session, telegram_id=plan.user_id, first_name=f"User{plan.user_id}",
                                           last_name=None, username=None, telegram_language="id")
                await registry.link_manager(session, person_id=person.id, cooperative_id=coop_id,
                                            position=ManagerPosition.KETUA)
                plan.cooperative_id, plan.person_id = coop_id, person.id
    finally:
        await db.dispose()


_COMPARED = ("fiscal_year", "revision", "submitted_by", "rat_held", "rat_date", "members_men",
             "members_women", "pengurus", "pengawas", "employees", "total_assets", "own_capital",
             "external_capital", "business_volume", "surplus", "still_operating", "main_business",
             "obstacles", "obstacles_other", "support_needed", "notes")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, (date, datetime)) else value


async def wait_for_reports(db_url: str, expected: int, timeout: float = 30) -> None:
    """The ✅ reply is sent before the update commits: wait for the last commits."""
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import AnnualReportRecord

    db = Database(db_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            async with db.session() as session:
                found = (await session.execute(select(func.count()).select_from(AnnualReportRecord))).scalar_one()
            if found >= expected:
                return
            await asyncio.sleep(0.2)
    finally:
        await db.dispose()


async def check_database(db_url: str, plans: list[Plan], year: int) -> dict[str, Any]:
    """Read annual_reports back and compare every report with what its manager typed."""
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import AnnualReportRecord, InboundUpdate, ReportDraft

    db = Database(db_url)
    mismatches: list[dict[str, Any]] = []
    try:
        async with db.session() as session:
            records = list((await session.execute(
                select(AnnualReportRecord).order_by(AnnualReportRecord.id))).scalars())
            drafts = (await session.execute(select(func.count()).select_from(ReportDraft))).scalar_one()
            unhandled = (await session.execute(select(func.count()).select_from(InboundUpdate).where(
                InboundUpdate.handled_at.is_(None), InboundUpdate.throttled.is_(False)))).scalar_one()
            throttled = (await session.execute(select(func.count()).select_from(InboundUpdate).where(
                InboundUpdate.throttled.is_(True)))).scalar_one()
    finally:
        await db.dispose()

    by_coop: dict[int, list[AnnualReportRecord]] = {}
    for record in records:
        by_coop.setdefault(record.cooperative_id, []).append(record)
    ours = {plan.cooperative_id for plan in plans}
    for coop_id in sorted(set(by_coop) - ours):
        mismatches.append({"cooperative_id": coop_id, "problem": "report for a cooperative no manager reported",
                           "rows": len(by_coop[coop_id])})
    for plan in plans:
        rows = by_coop.get(plan.cooperative_id, [])
        where = {"manager": plan.index, "user_id": plan.user_id, "cooperative_id": plan.cooperative_id}
        if len(rows) != 1:
            mismatches.append({**where, "problem": f"{len(rows)} report rows instead of 1",
                               "revisions": [r.revision for r in rows]})
            if not rows:
                continue
        record = rows[0]
        expected = dict(plan.expected, fiscal_year=year, revision=1, submitted_by=plan.person_id)
        for name in _COMPARED:
            found = getattr(record, name)
            if isinstance(found, list):
                found = [str(v) for v in found]
            if found != expected[name] or type(found) is not type(expected[name]):
                mismatches.append({**where, "field": name, "typed": _json(expected[name]), "stored": _json(found)})
    return {"mismatches": mismatches, "reports_in_db": len(records), "drafts_left": drafts,
            "unhandled_updates": unhandled, "throttled_updates": throttled}


# --- the run -----------------------------------------------------------------------------------


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux /proc), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _delta(before: float | None, after: float | None) -> float | None:
    return round(after - before, 2) if before is not None and after is not None else None


def _log_problems(log: Path) -> dict[str, Any]:
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line]
    warnings = [line for line in lines if " WARNING " in line]
    tracebacks = sum(line.startswith("Traceback") for line in lines)
    return {"errors": len(errors), "warnings": len(warnings), "tracebacks": tracebacks,
            "first": [line[:300] for line in (errors + warnings)[:5]]}


def _ms(values: list[float], q: float) -> float | None:
    return round(percentile(values, q) * 1000, 2) if values else None


async def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    from bot.i18n import t
    from bot.sandbox import SandboxClient
    from bot.services.annual_report import FIELDS
    from bot.services.coop_status import last_closed_fiscal_year

    db_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    if "127.0.0.1" not in db_url and not db_url.startswith("sqlite"):
        raise SystemExit("--database-url must point at 127.0.0.1")
    tz = ZoneInfo(os.environ.get("TIMEZONE", "Asia/Makassar"))
    today = datetime.now(tz).date()  # the bot's "today" (its TIMEZONE)
    year = last_closed_fiscal_year(today)
    questions = {spec.name: t("id", f"report.q.{spec.name}", year=year, next_year=year + 1) for spec in FIELDS}
    plans = [make_plan(i, year, today) for i in range(args.managers)]
    await prepare_database(db_url, plans)

    sandbox, base_url, control_url = start_sandbox(workdir)
    bot: Proc | None = None
    timings = Timings()
    failures: list[str] = []
    completed = 0
    try:
        env = dict(os.environ)
        env.update(
            BOT_TOKEN=TOKEN, TELEGRAM_API_URL=base_url, DATABASE_URL=db_url, LOG_LEVEL=args.log_level,
            PAID_BROADCASTS="true", SEND_RATE=str(SEND_RATE), FLOOD_LIMIT_PER_MINUTE=str(FLOOD_LIMIT),
            PYTHONUNBUFFERED="1",
        )
        for key in ("OFFICERS_CHAT_ID", "ADMIN_IDS", "ERROR_CHAT_ID", "WEBHOOK_URL"):
            env.pop(key, None)
        if args.officers_chat:
            env["OFFICERS_CHAT_ID"] = str(OFFICERS_CHAT)
        bot = Proc([sys.executable, "-m", "bot.cli", "run"], env, workdir / "kopdesk.log")
        n_clients = max(1, -(-args.managers // MANAGERS_PER_CLIENT))
        clients = [SandboxClient(control_url, timeout=args.step_timeout + 30) for _ in range(n_clients)]
        try:
            if args.officers_chat:
                await clients[0].register_chat(OFFICERS_CHAT, type="supergroup", title="Petugas")
            await wait_polling(clients[0], 0, bot)
            bot_cpu0, box_cpu0 = _cpu_seconds(bot.popen.pid), _cpu_seconds(sandbox.popen.pid)

            async def one(plan: Plan) -> bool:
                try:
                    await drive(clients[plan.index % n_clients], plan, year, timings, args.step_timeout, questions)
                    return True
                except Exception as error:  # noqa: BLE001 - one manager's failure is a result, not a crash
                    failures.append(f"manager {plan.index} (user {plan.user_id}): {type(error).__name__}: {error}"[:500])
                    return False

            started = time.perf_counter()
            tasks = [asyncio.create_task(one(plan)) for plan in plans]
            done, pending = await asyncio.wait(tasks, timeout=args.deadline)
            total = time.perf_counter() - started
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                failures.append(f"{len(pending)} manager(s) still running at the {args.deadline:g}s deadline")
            completed = sum(1 for task in done if task.result())
            bot_cpu1, box_cpu1 = _cpu_seconds(bot.popen.pid), _cpu_seconds(sandbox.popen.pid)
            notices = [c for c in await clients[0].calls(method="sendMessage") if c["chat_id"] == OFFICERS_CHAT]
        finally:
            for client in clients:
                await client.aclose()
        await wait_for_reports(db_url, completed)
    finally:
        if bot is not None:
            bot.stop()
        sandbox.stop()

    checked = await check_database(db_url, plans, year)
    answers = len(timings.answers)
    return {
        "benchmark": "report_flow",
        "managers": args.managers,
        "completed": completed,
        "answers": answers,
        "total_seconds": round(total, 3),
        "answers_per_second": round(answers / total, 1) if total else None,
        "answer_p50_ms": _ms(timings.answers, 50),
        "answer_p99_ms": _ms(timings.answers, 99),
        "database": "postgresql" if db_url.startswith("postgresql") else "sqlite",
        "all_correct": completed == args.managers and not checked["mismatches"],
        "mismatches": checked["mismatches"][:50],
        "mismatch_count": len(checked["mismatches"]),
        "fiscal_year": year,
        "answer_max_ms": round(max(timings.answers) * 1000, 2) if timings.answers else None,
        "tap_p50_ms": _ms(timings.taps, 50),
        "tap_p99_ms": _ms(timings.taps, 99),
        "taps": len(timings.taps),
        "start_p50_ms": _ms(timings.start, 50),
        "submit_p50_ms": _ms(timings.submit, 50),
        "submit_p99_ms": _ms(timings.submit, 99),
        "flow_failures": failures[:20],
        "reports_in_db": checked["reports_in_db"],
        "drafts_left": checked["drafts_left"],
        "unhandled_updates": checked["unhandled_updates"],
        "throttled_updates": checked["throttled_updates"],
        "cpu_seconds": {"bot": _delta(bot_cpu0, bot_cpu1), "sandbox": _delta(box_cpu0, box_cpu1)},
        "bot_log": _log_problems(workdir / "kopdesk.log"),
        "officer_notices": ({"sent": len(notices), "first_to_last_s": round(notices[-1]["t"] - notices[0]["t"], 1)
                             if notices else None} if args.officers_chat else None),
        "settings": {"FLOOD_LIMIT_PER_MINUTE": FLOOD_LIMIT, "SEND_RATE": SEND_RATE, "PAID_BROADCASTS": True,
                     "LOG_LEVEL": args.log_level, "closed_loop": True, "step_timeout_s": args.step_timeout,
                     "deadline_s": args.deadline, "OFFICERS_CHAT_ID": OFFICERS_CHAT if args.officers_chat else None},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--managers", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 managers")
    parser.add_argument("--database-url", default=None, help="an empty scratch database (default: SQLite in a temp dir)")
    parser.add_argument("--step-timeout", type=float, default=60, help="seconds to wait for each reply")
    parser.add_argument("--deadline", type=float, default=900, help="seconds for the whole run")
    parser.add_argument("--officers-chat", action="store_true",
                        help=f"set OFFICERS_CHAT_ID={OFFICERS_CHAT} (a sandbox supergroup): every report is announced there")
    parser.add_argument("--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--keep", type=Path, default=None, help="copy the bot and sandbox logs here")
    args = parser.parse_args()
    if args.quick:
        args.managers = 20
    if not 1 <= args.managers <= 401:
        parser.error("--managers: 1 to 401 (the demo registry has 401 cooperatives)")

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        try:
            result = await run(args, workdir)
        finally:
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                for name in ("kopdesk.log", "sandbox.log"):
                    if (workdir / name).exists():
                        shutil.copy(workdir / name, args.keep / name)
    emit(result)


if __name__ == "__main__":
    asyncio.run(main())
