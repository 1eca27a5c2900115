"""Benchmark: stored meeting reminders (SPEC 6) reaching the outbox on time, never twice.

One meeting with 5,000 invitees and three reminder offsets (7 days, 1 day, 2 hours before it):
15,000 reminder rows. The real `kopdesk run` process runs against the sandbox (in its own
process) with paid broadcasts (SEND_RATE=1000), so delivery is not the bottleneck. Its clock is
moved through CLOCK_OFFSET_FILE: before each offset the bot's time is set a few seconds before
that offset's due time, and real time then lets it fall due during the run.

- Lateness: for every reminder, when it was written to the outbox (its outbox batch's
  `created_at`, on the bot's clock) minus its due time. Target: p99 within the scheduler's
  tick interval (REMINDER_TICK_SECONDS), reminders that fell due while the process was down
  included.
- Three `kill -9` of the bot process, restarted at once, one at each offset: a second before the
  first offset falls due (they fall due while it is down), the moment the second offset's first
  reminders reach the outbox (mid-claim, mid-send), and once a random 20–80 % of the third
  offset's reminders have been sent (mid-send: many rows in `sending`). Target: every reminder queued exactly once (outbox rows per invitee and
  offset) and sent exactly once
  (sendMessage calls that succeeded, per chat and offset — the offsets are sent one after the
  other, so the calls are told apart by their sequence number); a duplicate send could only come
  from an outbox row caught in `sending` by a kill (at-least-once delivery), counted separately.

Invitees and the meeting are inserted directly; their chats are registered through the
sandbox's control API. SQLite by default; `--database-url` names a PostgreSQL *server* URL: a
scratch database is made there and dropped afterwards.

    .venv/bin/python bench/reminders.py [--invitees N] [--tick S] [--database-url URL] [--seed N]
                                        [--logs DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.broadcast import Bench, prepare_database  # noqa: E402
from bench.common import TOKEN, Proc, emit, percentile, start_sandbox  # noqa: E402
from bot.clock import write_offset  # noqa: E402
from bot.delivery.engine import UNCERTAIN  # noqa: E402
from storage.models_delivery import OutboxBatch, OutboxMessage, OutboxState  # noqa: E402
from storage.models_meetings import Meeting, MeetingReminder, MeetingState, ReminderState  # noqa: E402
from storage.repositories.meetings import Invitee, add_invitations  # noqa: E402

OFFSETS = [int(timedelta(days=7).total_seconds()), int(timedelta(days=1).total_seconds()),
           int(timedelta(hours=2).total_seconds())]
LEAD = 4.0  # seconds of real time between moving the clock and the offset's due time


class ReminderBench(Bench):
    """The broadcast benchmark's sandbox and database, plus the bot process and its clock."""

    def __init__(self, *args: Any, tick: float) -> None:
        super().__init__(*args)
        self.tick = tick
        self.clock_file = self.workdir / "clock-offset"

    def bot(self, name: str) -> Proc:
        """Start `kopdesk run` (the scheduler tick and the delivery engine in one process)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
        env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=self.base_url, DATABASE_URL=self.db_url,
                   SEND_RATE="1000", PAID_BROADCASTS="true", LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
                   CLOCK_OFFSET_FILE=str(self.clock_file), REMINDER_TICK_SECONDS=str(self.tick),
                   DELIVERY_LEASE_SECONDS="5", DIGEST_TIME="off", CAMPAIGN_ENABLED="false",
                   ADMIN_IDS="1", OFFICERS_CHAT_ID="-100",
                   SEND_LEDGER_DIR=str(self.workdir / "sends"))
        return Proc([sys.executable, "-m", "bot.cli", "run"], env, self.workdir / f"{name}.log")

    async def meeting(self, n: int) -> tuple[int, datetime, list[int]]:
        """A scheduled meeting 8 days ahead with n invitees; (id, start, chat ids)."""
        recipients = await self.people(n)
        starts_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=8)
        async with self.db.session() as session:
            meeting = Meeting(title="Rapat anggota tahunan", kind="rat", starts_at=starts_at,
                              place="Aula Dinas Koperasi", audience={"kind": "all"}, audience_label="Semua",
                              offsets=OFFSETS, state=MeetingState.SCHEDULED.value, created_by=1, chat_id=1,
                              sent_at=datetime.now(UTC))
            session.add(meeting)
            await session.flush()
            people = [Invitee(r.person_id, r.chat_id, None, None) for r in recipients]  # type: ignore[arg-type]
            await add_invitations(session, meeting.id, people, OFFSETS, starts_at, datetime.now(UTC))
            return meeting.id, starts_at, [r.chat_id for r in recipients]

    async def queued(self, offset: int) -> int:
        """Reminders of this offset handed to the outbox so far."""
        async with self.db.session() as session:
            return (await session.execute(select(func.count()).where(
                MeetingReminder.offset_seconds == offset,
                MeetingReminder.state == ReminderState.QUEUED))).scalar_one()

    async def open_outbox(self) -> int:
        """Outbox rows still pending or sending."""
        async with self.db.session() as session:
            return (await session.execute(select(func.count()).where(
                OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING])))).scalar_one()

    async def uncertain(self) -> set[tuple[int, int]]:
        """(offset, chat) of reminder rows a restart failed as uncertain (on the wire at a kill)."""
        rem = MeetingReminder
        async with self.db.session() as session:
            rows = await session.execute(
                select(rem.offset_seconds, OutboxMessage.chat_id)
                .join(OutboxMessage, (OutboxMessage.batch_id == rem.outbox_batch_id)
                      & (OutboxMessage.person_id == rem.person_id))
                .where(OutboxMessage.state == OutboxState.FAILED, OutboxMessage.last_error == UNCERTAIN))
            return {(o, c) for o, c in rows.all()}

    async def wait(self, what: str, condition: Any, proc: Proc, timeout: float) -> None:
        """Poll `condition()` every 0.1 s until true; fail if the bot died or time ran out."""
        deadline = time.monotonic() + timeout
        while not await condition():
            if proc.popen.poll() is not None:
                raise RuntimeError(f"bot exited:\n{proc.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} after {timeout}s")
            await asyncio.sleep(0.1)

    async def restart(self, proc: Proc, name: str) -> tuple[Proc, int]:
        """kill -9 and start again at once; returns the new process and the rows caught in sending."""
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait()
        caught = await self.sending()
        before = len(await self.calls("getMe"))
        new = self.bot(name)
        await self.started(new, before)
        return new, caught

    async def lateness(self) -> dict[int, list[tuple[float, datetime]]]:
        """Per offset: (seconds from due time to being queued, when queued) of each reminder."""
        rem = MeetingReminder
        async with self.db.session() as session:
            rows = await session.execute(
                select(rem.offset_seconds, rem.due_at, OutboxBatch.created_at)
                .join(OutboxBatch, OutboxBatch.id == rem.outbox_batch_id)
                .join(OutboxMessage, (OutboxMessage.batch_id == rem.outbox_batch_id)
                      & (OutboxMessage.person_id == rem.person_id)))
            out: dict[int, list[tuple[float, datetime]]] = {o: [] for o in OFFSETS}
            for offset, due, created in rows.all():
                out[offset].append(((created - due).total_seconds(), created))
        return out

    async def outbox_rows_per_reminder(self) -> Counter[tuple[int, int]]:
        """How many outbox rows each (offset, person) got."""
        rem = MeetingReminder
        async with self.db.session() as session:
            rows = await session.execute(
                select(rem.offset_seconds, OutboxMessage.person_id, func.count())
                .join(OutboxMessage, OutboxMessage.batch_id == rem.outbox_batch_id)
                .where(OutboxMessage.person_id == rem.person_id)
                .group_by(rem.offset_seconds, OutboxMessage.person_id))
            return Counter({(o, p): n for o, p, n in rows.all()})


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Seed, run the bot through the three offsets with a kill at each, measure."""
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_url, drop = await prepare_database(args.database_url, workdir)
        sandbox, base_url, control_url = start_sandbox(workdir)
        bench = ReminderBench(workdir, base_url, control_url, db_url, tick=args.tick)
        bench.http = aiohttp.ClientSession()
        proc: Proc | None = None
        try:
            meeting_id, starts_at, chats = await bench.meeting(args.invitees)
            write_offset(bench.clock_file, timedelta(0))
            proc = bench.bot("bot-0")
            await bench.started(proc, 0)
            kills: list[dict[str, Any]] = []
            phase_start: list[int] = []
            kill_clock: dict[int, datetime] = {}
            started = time.perf_counter()
            for k, offset in enumerate(OFFSETS, 1):
                phase_start.append(await bench.last_seq())  # the offsets are sent one after another
                due = starts_at - timedelta(seconds=offset)
                # The bot's clock LEAD seconds before this offset falls due.
                shift = due - timedelta(seconds=LEAD) - datetime.now(UTC)
                write_offset(bench.clock_file, shift)
                moved = time.monotonic()
                if k == 1:  # down when they fall due: sent by the first tick after the restart
                    await asyncio.sleep(LEAD - 1)
                elif k == 2:  # the moment the first of them reach the outbox: mid-claim, mid-send
                    await bench.wait("first reminders queued", lambda o=offset: _some(bench, o), proc,
                                     timeout=LEAD + args.tick * 3)
                else:  # mid-send: a random share (20–80 %) of them already sent
                    share = rng.uniform(0.2, 0.8)

                    async def sent_share(low: int = phase_start[-1], share: float = share) -> bool:
                        sent = [c for c in await bench.calls("sendMessage", low) if c["status"] == 200]
                        return len(sent) >= share * len(chats)

                    await bench.wait("a share of the third offset sent", sent_share, proc,
                                     timeout=LEAD + args.tick * 3)
                killed_at, after_move = datetime.now(UTC) + shift, time.monotonic() - moved
                queued_at_kill = await bench.queued(offset)
                proc, caught = await bench.restart(proc, f"bot-{k}")
                kill_clock[offset] = killed_at
                kills.append({"offset_s": offset, "s_after_clock_move": round(after_move, 2),
                              "reminders_queued_before_kill": queued_at_kill, "rows_in_sending": caught})

                async def done(offset: int = offset) -> bool:
                    return await bench.queued(offset) == len(chats) and await bench.open_outbox() == 0

                await bench.wait(f"offset {offset}", done, proc, timeout=300)
            duration = time.perf_counter() - started
            proc.stop()
            proc = None
            late = await bench.lateness()
            per_reminder = await bench.outbox_rows_per_reminder()
            on_wire = await bench.uncertain()
            sent: Counter[tuple[int, int]] = Counter()
            bounds = [*phase_start, await bench.last_seq()]
            for offset, low, high in zip(OFFSETS, bounds, bounds[1:], strict=False):
                sent.update((offset, c["chat_id"]) for c in await bench.calls("sendMessage", low)
                            if c["status"] == 200 and c["seq"] <= high)
        finally:
            if proc is not None:
                proc.stop()
            if args.logs:
                Path(args.logs).mkdir(parents=True, exist_ok=True)
                for log in workdir.glob("*.log"):
                    shutil.copy(log, Path(args.logs) / log.name)
            await bench.http.close()
            await bench.db.dispose()
            sandbox.stop()
            await drop()
    everything = [x for values in late.values() for x, _ in values]
    # Queued by the process that was then killed, or by its successor (fell due while it was down
    # or were still pending at the kill): the latter's lateness includes the restart.
    before_kill = [x for o, values in late.items() for x, at in values if at <= kill_clock[o]]
    after_restart = [x for o, values in late.items() for x, at in values if at > kill_clock[o]]
    expected = {(o, c) for o in OFFSETS for c in chats}
    p99 = percentile(everything, 99)
    queued_twice = sum(n - 1 for n in per_reminder.values() if n > 1)
    sent_twice = sum(n - 1 for key, n in sent.items() if key in expected and n > 1)
    in_sending = sum(k["rows_in_sending"] for k in kills)
    on_wire_arrived = sum(1 for key in on_wire if sent[key])
    result = {
        "invitees": len(chats),
        "offsets_s": OFFSETS,
        "reminders": len(expected),
        "tick_interval_s": args.tick,
        "kills": kills,
        "duration_s": round(duration, 1),
        "lateness_s": {
            "p50": round(percentile(everything, 50), 2), "p99": round(p99, 2), "max": round(max(everything), 2),
            "min": round(min(everything), 2),
            "p99_per_offset": {str(o): round(percentile([x for x, _ in v], 99), 2) for o, v in late.items()},
            "p99_queued_by_running_process": round(percentile(before_kill, 99), 2),
            "p99_queued_after_restart": round(percentile(after_restart, 99), 2),
            "queued_by_running_process": len(before_kill),
            "queued_after_restart": len(after_restart),
        },
        "queued": len(everything),
        "queued_twice": queued_twice,
        "never_queued": len(expected) - len(per_reminder),
        "sent": sum(1 for key in expected if sent[key]),
        "not_sent": sum(1 for key in expected if not sent[key]),
        "sent_twice": sent_twice,
        "rows_in_sending_at_kills": in_sending,
        # Rows on the wire at a kill: failed as uncertain by the restart (at most once), and how
        # many of them Telegram (the sandbox) had in fact taken.
        "uncertain_at_restart": len(on_wire),
        "uncertain_that_had_arrived": on_wire_arrived,
        "missed": len(on_wire) - on_wire_arrived,
    }
    result["met"] = {
        "on_time": p99 <= args.tick,
        "queued_once": queued_twice == 0 and result["never_queued"] == 0,
        "sent_all_but_missed_on_the_wire": result["not_sent"] == result["missed"],
        "sent_twice_within_rows_in_sending": sent_twice <= in_sending,
        "sent_once": sent_twice == 0,
    }
    return result


async def _some(bench: ReminderBench, offset: int) -> bool:
    return await bench.queued(offset) > 0


def main() -> None:
    """Parse the arguments, run, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--invitees", type=int, default=5000)
    parser.add_argument("--tick", type=float, default=30.0, help="REMINDER_TICK_SECONDS of the bot (default as shipped)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (a scratch database is made)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the kill moments")
    parser.add_argument("--logs", default=None, help="copy the processes' logs to this directory")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(run(args))
    emit({"benchmark": "reminders", "database": "postgresql" if args.database_url else "sqlite",
          **result, "targets": {"on_time": "lateness p99 <= tick interval",
                                "queued_once": "every reminder in the outbox exactly once",
                                "sent_once": "no reminder sent twice across the three kill -9"},
          "wall_s": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
