"""The seeded fuzz run: thousands of varied updates through the real `kopdesk run` and the sandbox.

FUZZ_SEED (default below) chooses the sequence, FUZZ_UPDATES (default 5,000) its length; see
docs/TESTING.md. The run:

1. seeds the demo registry, a manager of two cooperatives, an officer and the officers' chat;
2. sends random updates of every kind (tests/fuzz/generator.py) in batches, pressing buttons the
   bot really sent; at most WINDOW updates are ahead of the bot, so that there are buttons to
   press and the bot's state moves with the traffic;
3. meanwhile runs the scripted deep paths (tests/fuzz/scripts.py): a submitted report after an
   invite, an approved registration request, a sent broadcast;
4. near the end lets a week pass on the bot's clock and restarts Telegram's update numbering
   from the first id of the run (Telegram numbers anew after a quiet week), then goes on;
5. waits until every update is handled and checks the rules of tests/fuzz/checks.py.

The flood limit is raised for the run: a handful of users sends thousands of messages within
minutes, and the limit (tested on its own elsewhere) would otherwise swallow the traffic.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, or_, select

from bot.clock import write_offset
from bot.i18n import t
from bot.sandbox import SandboxClient
from bot.seed import seed_demo
from bot.services.coop_status import last_closed_fiscal_year
from storage.db import Database
from storage.models import (
    AnnualReportRecord, AuditEntry, Cooperative, InboundUpdate, ManagerPosition, OfficerRole, OutboundCall,
    Person, RegistrationRequest,
)
from storage.models_delivery import OutboxMessage
from storage.repositories import officers, people, registry
from storage.repositories.coop_browse import kecamatan_name
from storage.types import utcnow
from tests.conftest import ADMIN_ID, OFFICERS_CHAT
from tests.e2e.conftest import BotProcess, wait_until
from tests.fuzz import checks, scripts
from tests.fuzz.checks import Outbound, Sent
from tests.fuzz.generator import ANONYMOUS_ADMIN, Action, Cast, Generator, World, fit

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz]
SEED = int(os.environ.get("FUZZ_SEED", "20261201"))
UPDATES = int(os.environ.get("FUZZ_UPDATES", "5000"))
OFFICER = 920  # the scripts' officer; ADMIN_ID sends random staff traffic
MANAGER, INVITED, APPLICANT = 8101, 8102, 8103
GUESTS = list(range(8201, 8209))
BATCH, WINDOW = 50, 200
RESTART_AT = 0.85  # share of the run after which Telegram restarts its numbering
SETTLE_TIMEOUT = 120.0
REFRESH_TAIL = 12  # the bot's latest messages per chat are re-read, for their edits


@pytest.fixture
def bot_env(bot_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    # Thousands of updates in a few minutes: neither the flood limit nor Telegram's 20 messages a
    # minute into one group (the officers' chat gets hundreds of commands) is what is tested here.
    return dict(bot_env, FLOOD_LIMIT_PER_MINUTE="100000", GROUP_SEND_RATE="6000",
                CLOCK_OFFSET_FILE=str(tmp_path / "clock"))


@pytest.fixture
async def scene(db: Database, client: SandboxClient) -> dict[str, Any]:
    """The registry, a manager of two cooperatives, an officer; cooperatives for the scripts."""
    await seed_demo(db)
    async with db.session() as session:
        coops = list((await session.execute(select(Cooperative).order_by(Cooperative.id).limit(4))).scalars())
        person = await people.seen(session, telegram_id=MANAGER, first_name="Maria <b>", last_name=None,
                                   username=None, telegram_language="id")
        for coop in coops[:2]:
            await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                        position=ManagerPosition.KETUA)
        await officers.add_officer(session, telegram_id=OFFICER, name="Petugas Fuzz", role=OfficerRole.OFFICER)
        applicant_kecamatan = await kecamatan_name(session, coops[3].kecamatan_id)
    await client.register_chat(OFFICERS_CHAT, type="supergroup", title="Petugas Koperasi")
    return {"invite_coop": coops[2], "apply_coop": coops[3], "apply_kecamatan": applicant_kecamatan}


class RecordingClient(SandboxClient):
    """The control-API client, telling `on_update` of every update it makes (scripts' too)."""

    on_update: Any = None

    async def _message(self, user_id: int, body: dict[str, Any]) -> dict[str, Any]:
        update = await super()._message(user_id, body)
        self.on_update(update)
        return update

    async def press_update(self, user_id: int, message_id: int, data: str, *,
                           chat_id: int | None = None) -> dict[str, Any]:
        update = await super().press_update(user_id, message_id, data, chat_id=chat_id)
        self.on_update(update)
        return update

    async def press(self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None) -> dict[str, Any]:
        return (await self.press_update(user_id, message_id, data, chat_id=chat_id))["callback_query"]

    async def inject(self, update: dict[str, Any], *, update_id: int | None = None) -> dict[str, Any]:
        queued = await super().inject(update, update_id=update_id)
        self.on_update(queued, duplicate=update_id is not None)
        return queued


class FuzzRun:
    """Sends the generator's actions and keeps what is needed for the checks."""

    def __init__(self, client: RecordingClient, db: Database, cast: Cast) -> None:
        self.client, self.db, self.cast = client, db, cast
        client.on_update = self.record
        self.generator = Generator(SEED, cast)
        self.world = World()
        self.sent: list[Sent] = []
        self.history: list[dict[str, Any]] = []  # updates of the current epoch, for duplicates
        self.epoch = 0
        self.waited = 0.0  # seconds spent waiting for the bot to catch up
        self.senders = [ADMIN_ID, MANAGER, *GUESTS]
        # The scripts' officer lends no buttons: another officer may act on his broadcast draft.
        self.donors = [ADMIN_ID, MANAGER, INVITED, APPLICANT, *GUESTS]
        self.scripted = {OFFICER, INVITED, APPLICANT}

    def record(self, update: dict[str, Any], *, duplicate: bool = False) -> None:
        self.sent.append(sent := Sent.of(update, self.epoch, duplicate=duplicate))
        if duplicate or sent.chat_id in self.scripted or sent.user_id in self.scripted:
            return  # the scripts' users are left alone, so that their paths are deterministic
        self.history = [*self.history[-299:], update]
        kind = next(k for k in update if k != "update_id")
        body = update[kind]
        if kind in ("message", "channel_post") and "text" in body:
            chat = body["chat"]["id"]
            self.world.user_messages[chat] = [*self.world.user_messages.get(chat, [])[-29:], body]

    async def do(self, action: Action) -> None:
        client = self.client
        if action.kind == "raw":
            await client.inject(action.update)
        elif action.kind == "media":
            caption = fit(self.generator.text(), 1024).strip() or None if action.media in ("photo", "document") else None
            sender = {"photo": client.send_photo, "sticker": client.send_sticker, "voice": client.send_voice}
            if action.media == "document":
                await client.send_document(action.user, "laporan <RAT>.pdf", b"%PDF-1.4 fuzz",
                                                    caption=caption)
            elif action.media == "photo":
                await client.send_photo(action.user, caption=caption, width=64, height=48)
            else:
                await sender[action.media](action.user)
        elif action.kind == "press":
            await client.press_update(action.user, action.message_id, action.data, chat_id=action.chat_id)
        elif action.kind == "duplicate" and self.history:
            original = self.generator.rng.choice(self.history)
            kind = next(k for k in original if k != "update_id")
            await client.inject({kind: original[kind]}, update_id=original["update_id"])

    async def refresh(self) -> None:
        """Bring the bot's messages up to date: new ones, and edits of the recent ones."""
        for chat in sorted({*self.donors, OFFICERS_CHAT}):
            known = self.world.bot_messages.setdefault(chat, [])
            since = known[-REFRESH_TAIL]["message_id"] - 1 if len(known) >= REFRESH_TAIL else 0
            fresh = await self.client.messages(chat, after_id=since)
            fresh_ids = {m["message_id"] for m in fresh}
            self.world.bot_messages[chat] = [m for m in known if m["message_id"] not in fresh_ids] + fresh

    async def processed(self) -> int:
        async with self.db.session() as session:
            return (await session.execute(select(func.count()).where(
                or_(InboundUpdate.handled_at.is_not(None), InboundUpdate.throttled.is_(True))))).scalar_one()

    async def quiet(self) -> bool:
        """Nothing waits at the sandbox, nothing stored is unhandled."""
        if await self.client.pending_updates():
            return False
        async with self.db.session() as session:
            open_rows = (await session.execute(select(func.count()).where(
                InboundUpdate.handled_at.is_(None), InboundUpdate.throttled.is_(False)))).scalar_one()
        return open_rows == 0

    async def pace(self) -> None:
        logical = len({(s.update_id, s.epoch) for s in self.sent})

        async def caught_up() -> bool:
            return await self.processed() >= logical - WINDOW or await self.quiet()

        began = time.monotonic()
        await wait_until(caught_up, timeout=SETTLE_TIMEOUT, interval=0.1, what="the bot to catch up")
        self.waited += time.monotonic() - began

    async def settle(self) -> None:
        """Everything sent is handled; if some never is (swallowed), everything at least is quiet."""
        logical = len({(s.update_id, s.epoch) for s in self.sent})

        async def all_done() -> bool:
            return await self.processed() >= logical

        try:
            await wait_until(all_done, timeout=10, interval=0.2, what="every update handled")
        except AssertionError:
            try:
                await wait_until(self.quiet, timeout=SETTLE_TIMEOUT, interval=0.2, what="the bot to go quiet")
            except AssertionError as exc:
                pending = await self.client._request("GET", "/updates/pending")
                raise AssertionError(f"{exc}; pending at the sandbox: {pending}") from None


@pytest.fixture
async def recording(sandbox: Any) -> Any:
    async with RecordingClient(sandbox.control_url) as recorder:
        yield recorder


async def test_fuzz(scene: dict[str, Any], bot: BotProcess, recording: RecordingClient, db: Database,
                    bot_env: dict[str, str], tmp_path: Path) -> None:
    client = recording
    started = time.monotonic()
    info = await client.info()
    cast = Cast(bot_username=info["bot_username"], admin=ADMIN_ID, officers_chat=OFFICERS_CHAT,
                managers=[MANAGER], guests=GUESTS)
    run = FuzzRun(client, db, cast)
    year = last_closed_fiscal_year(utcnow().date())
    deep: list[asyncio.Task] = []
    first_id: int | None = None
    epoch_split: datetime | None = None
    restart_after = int(UPDATES * RESTART_AT)

    async def officer_paths() -> None:
        await scripts.invite_and_report(client, OFFICER, INVITED, scene["invite_coop"].registration_number, year)
        await scripts.broadcast(client, OFFICER)

    while len(run.sent) < UPDATES:
        if not deep and len(run.sent) >= UPDATES // 10:
            deep = [asyncio.create_task(officer_paths(), name="invite, report and broadcast"),
                    asyncio.create_task(scripts.request_and_approval(
                        client, OFFICER, APPLICANT, OFFICERS_CHAT, scene["apply_kecamatan"],
                        scene["apply_coop"].id), name="request and approval")]
        if run.epoch == 0 and len(run.sent) >= restart_after:
            await asyncio.wait(deep, timeout=SETTLE_TIMEOUT)
            await run.settle()
            # A quiet week, then Telegram numbers the updates anew from where the run began.
            write_offset(Path(bot_env["CLOCK_OFFSET_FILE"]), timedelta(days=8))
            epoch_split = datetime.now(UTC) + timedelta(days=4)
            await client.restart_update_ids(first_id)
            run.epoch, run.history = 1, []
        await run.refresh()
        for _ in range(BATCH):
            await run.do(run.generator.next(run.world, senders=run.senders, donors=run.donors))
        first_id = first_id if first_id is not None else run.sent[0].update_id
        await run.pace()
    if deep:
        await asyncio.wait(deep, timeout=SETTLE_TIMEOUT)
    await run.settle()
    fuzz_seconds = time.monotonic() - started

    results = await gather(run, client, db, bot, cast, epoch_split)
    for task in deep:
        error = task.exception() if task.done() else TimeoutError("still running")
        results["deep paths reached"] += [f"{task.get_name()}: {error!r}"[:300]] if error else []
    async with db.session() as session:
        reports = (await session.execute(select(func.count()).select_from(AnnualReportRecord))).scalar_one()
        approved = (await session.execute(select(func.count()).where(
            RegistrationRequest.status == "approved"))).scalar_one()
    results["deep paths reached"] += [] if reports else ["no annual report was submitted"]
    results["deep paths reached"] += [] if approved else ["no registration request was approved"]

    kinds = sorted({s.kind for s in run.sent})
    summary = (f"seed {SEED}: {len(run.sent)} updates ({sum(s.duplicate for s in run.sent)} duplicates, "
               f"{sum(s.epoch for s in run.sent)} after the restart of update ids) of {len(kinds)} kinds "
               f"in {fuzz_seconds:.0f} s ({run.waited:.0f} s waiting for the bot)\n" + checks.report(results))
    if results["deep paths reached"]:
        summary += "\n" + await deep_path_trace(db)
    refusals = checks.refusals(await client.calls())
    summary += "\nBot API refusals (diagnostic): " + (
        "; ".join(f"{n}× {k}" for k, n in refusals.most_common(12)) or "none")
    (tmp_path / "fuzz-report.txt").write_text(summary, encoding="utf-8")
    (tmp_path / "fuzz-violations.json").write_text(json.dumps(results, ensure_ascii=False, indent=1), encoding="utf-8")
    print(summary)
    assert not any(results.values()), summary


async def deep_path_trace(db: Database) -> str:
    """What the database holds of the registration request path, to tell why it stalled."""
    lines = ["registration path, as stored:"]
    async with db.session() as session:
        for r in await session.execute(select(RegistrationRequest).where(
                RegistrationRequest.telegram_id == APPLICANT)):
            req = r[0]
            lines.append(f"  request {req.id}: {req.status} created {req.created_at:%H:%M:%S}"
                         f" decided {req.decided_at and f'{req.decided_at:%H:%M:%S}'}")
        for row in await session.execute(
                select(OutboxMessage).where(OutboxMessage.chat_id.in_([OFFICERS_CHAT, APPLICANT]))
                .order_by(OutboxMessage.id)):
            m = row[0]
            lines.append(f"  outbox {m.id} chat {m.chat_id} lane {m.lane} {m.state} attempts {m.attempts}"
                         f" due {m.next_attempt_at:%H:%M:%S} created {m.created_at:%H:%M:%S}"
                         f" sent {m.sent_at and f'{m.sent_at:%H:%M:%S}'} {m.last_error or ''}")
        for row in await session.execute(
                select(InboundUpdate).where(or_(InboundUpdate.user_id == APPLICANT,
                                                InboundUpdate.user_id == OFFICER))
                .order_by(InboundUpdate.id)):
            u = row[0]
            lines.append(f"  update {u.update_id} from {u.user_id} in {u.chat_id} {u.kind} {u.text!r:.40}"
                         f" at {u.received_at:%H:%M:%S} handled {u.handled_at and f'{u.handled_at:%H:%M:%S}'}"
                         f" throttled {u.throttled}")
    return "\n".join(lines)


async def gather(run: FuzzRun, client: SandboxClient, db: Database, bot: BotProcess, cast: Cast,
                 epoch_split: datetime | None) -> dict[str, list[str]]:
    """Compute every check from the database, the sandbox and the process log."""
    async with db.session() as session:
        rows = [(r.update_id, bool(r.handled_at or r.throttled)) for r in await session.execute(
            select(InboundUpdate.update_id, InboundUpdate.handled_at, InboundUpdate.throttled))]
        throttled = {r for (r,) in await session.execute(
            select(InboundUpdate.update_id).where(InboundUpdate.throttled.is_(True)))}
        outbound = [Outbound(r.method, r.chat_id, r.text, r.ok, r.error, r.update_id, r.created_at)
                    for r in (await session.execute(select(OutboundCall))).scalars()]
        audits = [(r.subject_id, (r.details or {}).get("error")) for r in (await session.execute(
            select(AuditEntry).where(AuditEntry.action == "error"))).scalars()]
        coop_names = [n for (n,) in await session.execute(
            select(Cooperative.name).join(registry.ManagerLink, registry.ManagerLink.cooperative_id == Cooperative.id))]
        phones = [p for (p,) in await session.execute(select(Person.phone).where(Person.phone.is_not(None)))]
    admin_prefix = t("id", "error.admin_report", update_id="", error="")[:12]
    admin_reports = sum(1 for c in outbound if c.chat_id == ADMIN_ID and (c.text or "").startswith(admin_prefix))
    calls = await client.calls()
    if bot.proc is not None and bot.proc.returncode is not None:
        audits.append((None, f"the process exited with {bot.proc.returncode}"))
    foreign = {g["id"] for g in cast.groups} | {cast.channel["id"]}
    return {
        "unhandled exceptions": checks.crashes(bot.log(), audits, admin_reports),
        "every update stored once": checks.logging_once(run.sent, rows),
        "every private message answered": checks.unanswered(
            run.sent, outbound, throttled, {*cast.humans, OFFICER, INVITED, APPLICANT}, epoch_split),
        "quiet where not spoken to": checks.misplaced(
            run.sent, outbound, calls, bots=set(cast.bots) | {ANONYMOUS_ADMIN["id"]}, foreign=foreign,
            managers={MANAGER, INVITED, APPLICANT}, bot_username=cast.bot_username,
            private_data=[*coop_names, *phones], epoch_split=epoch_split),
        "HTML valid for Telegram": checks.html_refused(
            calls, outbound, {(s.chat_id, s.text) for s in run.sent if s.text is not None}),
        "every callback answered": checks.unanswered_callbacks(await client.callbacks(), run.sent),
        "deep paths reached": [],
    }


