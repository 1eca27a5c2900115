"""Benchmark: the delivery engine (`kopdesk worker`) sending a broadcast through the sandbox.

(a) 2,000 recipients at SEND_RATE=25: duration against the ideal 2000/25 s (target ratio ≤ 1.05)
    and the busiest one-second window.
(b) 20,000 recipients with paid broadcasts (SEND_RATE=1000): the engine's own throughput
    (target ≥ 500 messages/s).
(c) (a) with 10% 429, 5% 5xx and 2% dropped connections injected: everyone served, duration,
    and whether anything was sent during a 429's retry_after.
(d) (a) with three `kill -9` of the worker at random moments (restarted at once): lost
    recipients (target 0) and duplicates (at most the rows in `sending` at the kills).

The sandbox runs in its own process; recipients are synthetic people inserted directly, their
chats registered through the sandbox's control API. SQLite by default; `--database-url` names a
PostgreSQL *server* URL: the benchmark creates its own database there and drops it afterwards.

    .venv/bin/python bench/broadcast.py [--quick] [--only a,b,c,d] [--database-url URL] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.common import TOKEN, Proc, emit, start_sandbox  # noqa: E402
from bot.delivery.outbox import Content, Recipient, enqueue  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Person  # noqa: E402
from storage.models_delivery import OutboxMessage, OutboxState  # noqa: E402

TEXT = "📣 <b>Pengumuman</b>: rapat koordinasi koperasi hari Senin pukul 09.00 WITA."


class Bench:
    """One sandbox, one database, and helpers to run scenarios against them."""

    def __init__(self, workdir: Path, base_url: str, control_url: str, db_url: str) -> None:
        self.workdir = workdir
        self.base_url = base_url
        self.control_url = control_url
        self.db_url = db_url
        self.db = Database(db_url)
        self.http: aiohttp.ClientSession | None = None
        self.next_id = 1_000_000

    async def control(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call of the sandbox's control API."""
        assert self.http is not None
        async with self.http.request(method, self.control_url + path, **kwargs) as response:
            body = await response.json()
            if response.status >= 400:
                raise RuntimeError(f"{method} {path}: {body}")
            return body

    async def people(self, n: int) -> list[Recipient]:
        """n synthetic people with private chats known to the sandbox."""
        ids = list(range(self.next_id, self.next_id + n))
        self.next_id += n
        async with self.db.session() as session:
            for start in range(0, n, 5000):
                await session.execute(
                    Person.__table__.insert(),
                    [{"telegram_id": i, "first_name": "Bench", "unreachable": False} for i in ids[start:start + 5000]],
                )
        async with self.db.session() as session:
            rows = await session.execute(select(Person.id, Person.telegram_id).where(Person.telegram_id.in_(ids)))
            by_tid = {t: p for p, t in rows.all()}
        limit = asyncio.Semaphore(64)

        async def register(chat_id: int) -> None:
            async with limit:
                await self.control("POST", f"/chats/{chat_id}", json={"type": "private"})

        await asyncio.gather(*(register(i) for i in ids))
        return [Recipient(i, by_tid[i]) for i in ids]

    async def last_seq(self) -> int:
        """The sequence number of the newest Bot API call so far (0 if none)."""
        calls = await self.calls()
        return calls[-1]["seq"] if calls else 0

    async def calls(self, method: str | None = None, since: int = 0) -> list[dict[str, Any]]:
        """The Bot API calls the sandbox received after `since` (of one method, if given)."""
        params = {"since_seq": str(since)} | ({"method": method} if method else {})
        return (await self.control("GET", "/calls", params=params))["calls"]

    def worker(self, name: str, rate: int, extra: dict[str, str] | None = None) -> Proc:
        """Start `kopdesk worker` at this SEND_RATE (paid broadcasts above 30)."""
        env = dict(os.environ)
        env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=self.base_url, DATABASE_URL=self.db_url,
                   SEND_RATE=str(rate), PAID_BROADCASTS="true" if rate > 30 else "false",
                   LOG_LEVEL="WARNING", **(extra or {}))
        return Proc([sys.executable, "-m", "bot.cli", "worker"], env, self.workdir / f"{name}.log")

    async def ready(self, proc: Proc, timeout: float = 60) -> None:
        """Wait until the worker sends: one warm-up message goes through it first.

        The timed broadcasts measure a running worker (its normal state), not its start-up
        (on PostgreSQL a new worker waits a few seconds for the others to make room).
        """
        batch = await self.enqueue(await self.people(1))
        await self.wait_done(batch, timeout, proc)

    async def started(self, proc: Proc, before: int, timeout: float = 60) -> None:
        """Wait until a (re)started worker called getMe: its bot is initialised."""
        deadline = time.monotonic() + timeout
        while len(await self.calls("getMe")) <= before:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"worker exited:\n{proc.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError("worker did not start")
            await asyncio.sleep(0.05)

    async def enqueue(self, recipients: list[Recipient]) -> int:
        """Queue the benchmark message for these recipients; the batch id."""
        async with self.db.session() as session:
            return await enqueue(session, Content(TEXT), recipients, source=("bench", uuid.uuid4().hex[:8]))

    async def open_rows(self, batch: int) -> int:
        """Rows of the batch still pending or sending."""
        async with self.db.session() as session:
            return (await session.execute(select(func.count()).where(
                OutboxMessage.batch_id == batch,
                OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
            ))).scalar_one()

    async def states(self, batch: int) -> dict[str, int]:
        """Rows of the batch per state."""
        async with self.db.session() as session:
            rows = await session.execute(select(OutboxMessage.state, func.count())
                                         .where(OutboxMessage.batch_id == batch).group_by(OutboxMessage.state))
            return {s: n for s, n in rows.all()}

    async def sending(self) -> int:
        """Rows in `sending` right now (after a kill: the possible duplicates)."""
        async with self.db.session() as session:
            return (await session.execute(
                select(func.count()).where(OutboxMessage.state == OutboxState.SENDING))).scalar_one()

    async def wait_done(self, batch: int, timeout: float, proc: Proc | None = None) -> float:
        """Seconds until no row of the batch is pending or sending (polled every 0.1 s)."""
        started = time.perf_counter()
        while await self.open_rows(batch):
            if proc is not None and proc.popen.poll() is not None:
                raise RuntimeError(f"worker exited:\n{proc.log.read_text()[-3000:]}")
            if time.perf_counter() - started > timeout:
                raise TimeoutError(f"batch {batch} not done after {timeout}s: {await self.states(batch)}")
            await asyncio.sleep(0.1)
        return time.perf_counter() - started


def busiest_window(times: list[float], window: float = 1.0) -> int:
    """The most calls in any closed window of `window` seconds."""
    times, best, start = sorted(times), 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best


def sends_during_pauses(calls: list[dict[str, Any]]) -> int:
    """Calls received while a 429's retry_after was running (after the first in-flight 50 ms)."""
    refused = [(c["t"], c["t"] + 1.0) for c in calls if c["status"] == 429]
    return sum(1 for c in calls for a, b in refused if a + 0.05 < c["t"] < b)


async def delivery_stats(bench: Bench, recipients: list[Recipient], since: int) -> dict[str, Any]:
    """The sendMessage calls since `since`, and who got the message how often."""
    calls = await bench.calls("sendMessage", since)
    ok = Counter(c["chat_id"] for c in calls if c["status"] == 200)
    wanted = {r.chat_id for r in recipients}
    return {
        "calls": calls,
        "delivered": len(wanted & set(ok)),
        "lost": len(wanted - set(ok)),
        "duplicates": sum(n - 1 for chat, n in ok.items() if chat in wanted),
    }


async def scenario_rate(bench: Bench, n: int, rate: int, faults: dict[str, Any] | None = None) -> dict[str, Any]:
    """Send one batch to n recipients at `rate` with one worker; optional injected faults."""
    recipients = await bench.people(n)
    proc = bench.worker(f"worker-{rate}-{n}", rate)
    try:
        await bench.ready(proc)
        since = await bench.last_seq()
        if faults:
            await bench.control("POST", "/faults", json=faults)
        batch = await bench.enqueue(recipients)
        duration = await bench.wait_done(batch, timeout=max(120, n / rate * 8), proc=proc)
    finally:
        await bench.control("DELETE", "/faults")
        proc.stop()
    stats = await delivery_stats(bench, recipients, since)
    calls = stats.pop("calls")
    ok_times = [c["t"] for c in calls if c["status"] == 200]
    result = {
        "recipients": n,
        "send_rate": rate,
        "duration_s": round(duration, 2),
        "ideal_s": round(n / rate, 2),
        "ratio_duration_over_ideal": round(duration / (n / rate), 3),
        "messages_per_second": round(n / duration, 1),
        "send_span_s": round(max(ok_times) - min(ok_times), 2) if ok_times else None,
        "busiest_1s_window": busiest_window([c["t"] for c in calls]),
        "states": await bench.states(batch),
        **stats,
    }
    if faults:
        result["faults_seen"] = dict(Counter(c["fault"] for c in calls if c["fault"]))
        result["sends_during_429_retry_after"] = sends_during_pauses(calls)
    return result


async def scenario_kills(bench: Bench, n: int, rate: int, kills: int, rng: random.Random) -> dict[str, Any]:
    """(a) with `kills` kill -9 of the worker at random moments, each restarted at once."""
    recipients = await bench.people(n)
    extra = {"DELIVERY_LEASE_SECONDS": "5"}
    ideal = n / rate
    moments = sorted(rng.uniform(0.1 * ideal, 0.8 * ideal) for _ in range(kills))
    proc = bench.worker("worker-kill-0", rate, extra)
    in_sending: list[int] = []
    try:
        await bench.ready(proc)
        since = await bench.last_seq()
        batch = await bench.enqueue(recipients)
        started = time.perf_counter()
        for k, moment in enumerate(moments, 1):
            await asyncio.sleep(max(0.0, started + moment - time.perf_counter()))
            proc.popen.send_signal(signal.SIGKILL)
            proc.popen.wait()
            in_sending.append(await bench.sending())
            before = len(await bench.calls("getMe"))
            proc = bench.worker(f"worker-kill-{k}", rate, extra)
            await bench.started(proc, before)
        await bench.wait_done(batch, timeout=ideal * 8 + 60, proc=proc)
        duration = time.perf_counter() - started
    finally:
        proc.stop()
    stats = await delivery_stats(bench, recipients, since)
    stats.pop("calls")
    return {
        "recipients": n,
        "send_rate": rate,
        "kills_at_s": [round(m, 1) for m in moments],
        "rows_in_sending_at_each_kill": in_sending,
        "duration_s": round(duration, 2),
        "states": await bench.states(batch),
        **stats,
        "duplicates_within_bound": stats["duplicates"] <= sum(in_sending),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the chosen scenarios on one sandbox and one fresh database."""
    quick = args.quick
    sizes = {"a": 500 if quick else 2000, "b": 5000 if quick else 20000}
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_url, drop = await prepare_database(args.database_url, workdir)
        sandbox, base_url, control_url = start_sandbox(workdir)
        bench = Bench(workdir, base_url, control_url, db_url)
        bench.http = aiohttp.ClientSession()
        out: dict[str, Any] = {}
        try:
            if "a" in only:
                out["a_rate_25"] = await scenario_rate(bench, sizes["a"], 25)
                out["a_rate_25"]["met"] = out["a_rate_25"]["ratio_duration_over_ideal"] <= 1.05
                await bench.control("POST", "/reset")
            if "b" in only:
                out["b_paid_1000"] = await scenario_rate(bench, sizes["b"], 1000)
                out["b_paid_1000"]["met"] = out["b_paid_1000"]["messages_per_second"] >= 500
                await bench.control("POST", "/reset")
            if "c" in only:
                faults = {"rate_429": 0.10, "rate_5xx": 0.05, "rate_drop": 0.02, "retry_after": 1,
                          "methods": ["sendMessage"], "seed": args.seed}
                out["c_faults"] = await scenario_rate(bench, sizes["a"], 25, faults)
                c = out["c_faults"]
                c["met"] = c["lost"] == 0 and c["duplicates"] == 0 and c["sends_during_429_retry_after"] == 0
                await bench.control("POST", "/reset")
            if "d" in only:
                out["d_kill_9"] = await scenario_kills(bench, sizes["a"], 25, 3, random.Random(args.seed))
                out["d_kill_9"]["met"] = out["d_kill_9"]["lost"] == 0 and out["d_kill_9"]["duplicates_within_bound"]
        finally:
            await bench.http.close()
            await bench.db.dispose()
            sandbox.stop()
            await drop()
    return out


async def prepare_database(server_url: str | None, workdir: Path) -> tuple[str, Any]:
    """A fresh migrated database: a SQLite file, or a new database on the PostgreSQL server."""
    async def nothing() -> None:
        return None

    if not server_url:
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        await asyncio.to_thread(upgrade, url)
        return url, nothing
    import asyncpg

    parsed = make_url(server_url)
    name = f"kopdesk_bench_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(host=parsed.host or "127.0.0.1", port=parsed.port or 5432,
                                     user=parsed.username or "postgres", password=parsed.password,
                                     database=parsed.database or "postgres")
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    await admin(f'CREATE DATABASE "{name}"')
    url = parsed.set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade, url)

    async def drop() -> None:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url, drop


def main() -> None:
    """Parse the arguments, run, print the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="500 recipients for a, c, d and 5,000 for b")
    parser.add_argument("--only", default="a,b,c,d", help="scenarios to run, e.g. a,b")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (a scratch database is made)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the faults and of the kill moments")
    args = parser.parse_args()
    started = time.perf_counter()
    results = asyncio.run(run(args))
    emit({
        "benchmark": "broadcast",
        "database": "postgresql" if args.database_url else "sqlite",
        "quick": args.quick,
        **results,
        "targets": {"a": "ratio_duration_over_ideal <= 1.05", "b": "messages_per_second >= 500",
                    "c": "lost 0, duplicates 0, no send during retry_after",
                    "d": "lost 0, duplicates <= rows in sending at the kills"},
        "wall_s": round(time.perf_counter() - started, 1),
    })


if __name__ == "__main__":
    main()
