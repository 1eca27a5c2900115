"""Benchmark: the deployment pipeline on PostgreSQL with 1, 2 and 4 `kopdesk worker` processes.

For each worker count, on a fresh scratch database and sandbox: one `kopdesk web` receiver and
N workers start; then 3,000 updates from 300 users (10 each, every user's in order) are POSTed
to the receiver as fast as it takes them (64 at a time: Telegram's own webhook concurrency is up
to 100), and each is answered by a worker. The commands are unknown ones (`/c<user>_<n>`), so
every reply names its update and its latency is measured from its POST to its sendMessage at
the sandbox (one clock: CLOCK_MONOTONIC is the machine's). The send limit is lifted
(PAID_BROADCASTS, SEND_RATE=1000) so that the pipeline, not Telegram's pace, is measured.

Reported per worker count: throughput (updates / (last reply − first POST)), reply latency
p50/p99, the receiver's ingest rate, CPU milliseconds per update of the workers, the receiver
and PostgreSQL (all its processes, from /proc), and database round trips per update of the
workers and of the receiver (statements, commits, rollbacks and pool checkouts — each checkout
is a ping — counted in the processes through KOPDESK_ROUND_TRIPS_FILE). CPU time is the steadier
figure on a shared 2-core machine: when workers + PostgreSQL use both cores, more workers
cannot help.

    .venv/bin/python bench/scale_out.py [--workers 1,2,4] [--users 300] [--messages 10]
                                        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench.broadcast import prepare_database  # noqa: E402
from bench.common import TOKEN, Proc, emit, free_port, percentile, start_sandbox  # noqa: E402
from bench.inbound_burst import cpu_seconds  # noqa: E402
from bot.pipeline.ingress import SECRET_HEADER  # noqa: E402
from bot.sandbox import SandboxClient  # noqa: E402
from storage.db import ROUND_TRIPS_ENV, Database  # noqa: E402
from storage.models_delivery import DeliveryWorker  # noqa: E402

SECRET = "bench-secret"


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process of this machine so far."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() in ("postgres", "postmaster"):
                total += cpu_seconds(int(entry.name))
        except (OSError, ValueError):
            continue
    return total


def update_json(update_id: int, user: int, n: int) -> tuple[str, dict[str, Any]]:
    text = f"/c{user}_{n}"
    person = {"id": user, "is_bot": False, "first_name": f"U{user}", "language_code": "id"}
    return text, {"update_id": update_id, "message": {
        "message_id": n, "date": int(time.time()), "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        "chat": {"id": user, "type": "private", "first_name": f"U{user}"}, "from": person}}


def round_trips(prefix: Path) -> dict[str, int]:
    """The counts the processes wrote at exit, summed."""
    total: dict[str, int] = {}
    for path in prefix.parent.glob(f"{prefix.name}.*.json"):
        for key, value in json.loads(path.read_text()).items():
            if key != "engines":
                total[key] = total.get(key, 0) + value
    return total


async def one_config(workers: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    db_url, drop = await prepare_database(args.database_url, workdir)
    sandbox, base_url, control_url = start_sandbox(workdir)
    port = free_port()
    users = list(range(50_000, 50_000 + args.users))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "TELEGRAM_", "DATABASE_"))}
    env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=base_url, DATABASE_URL=db_url, LOG_LEVEL="WARNING",
               WEBHOOK_URL=f"http://127.0.0.1:{port}/hook", WEBHOOK_SECRET=SECRET,
               PAID_BROADCASTS="true", SEND_RATE="1000", FLOOD_LIMIT_PER_MINUTE="100000",
               DIGEST_TIME="off", CAMPAIGN_ENABLED="false", SEND_LEDGER_DIR=str(workdir / "sends"))
    procs: list[Proc] = []
    db = Database(db_url)
    try:
        async with SandboxClient(control_url) as client, aiohttp.ClientSession() as http:
            for user in users:
                await client.register_chat(user, type="private")
            receiver = Proc([sys.executable, "-m", "bot.cli", "web", "--port", str(port), "--no-set-webhook"],
                            {**env, ROUND_TRIPS_ENV: str(workdir / "rt-web")}, workdir / "web.log")
            procs.append(receiver)
            workers_ = [Proc([sys.executable, "-m", "bot.cli", "worker", "--worker-id", f"w{n}"],
                             {**env, ROUND_TRIPS_ENV: str(workdir / "rt-worker")}, workdir / f"w{n}.log")
                        for n in range(1, workers + 1)]
            procs.extend(workers_)
            await _ready(http, port, db, workers, procs)

            cpu0 = {"workers": sum(cpu_seconds(p.popen.pid) for p in workers_),
                    "receiver": cpu_seconds(receiver.popen.pid), "postgres": postgres_cpu()}
            posted: dict[str, float] = {}
            limit = asyncio.Semaphore(64)
            url = f"http://127.0.0.1:{port}/hook"
            counter = iter(range(1, 10**9))

            async def one_user(user: int) -> None:
                for n in range(1, args.messages + 1):
                    text, body = update_json(next(counter), user, n)
                    async with limit:
                        posted[text] = time.monotonic()
                        async with http.post(url, json=body, headers={SECRET_HEADER: SECRET}) as resp:
                            assert resp.status == 200, await resp.text()

            started = time.monotonic()
            await asyncio.gather(*(one_user(u) for u in users))
            ingest_s = time.monotonic() - started
            total = len(users) * args.messages
            replies = await _replies(client, total, set(users), procs, timeout=600)
            cpu1 = {"workers": sum(cpu_seconds(p.popen.pid) for p in workers_),
                    "receiver": cpu_seconds(receiver.popen.pid), "postgres": postgres_cpu()}
    finally:
        for proc in procs:
            proc.stop()
        await db.dispose()
        sandbox.stop()
        await drop()
    # A chat's replies come in the order of its updates (the pipeline keeps it): the k-th reply
    # to a user answers his k-th command.
    latency, nth = [], dict.fromkeys(users, 0)
    for call in sorted(replies, key=lambda c: c["seq"]):
        nth[call["chat_id"]] += 1
        latency.append(call["t"] - posted[f"/c{call['chat_id']}_{nth[call['chat_id']]}"])
    last = max(c["t"] for c in replies)
    seconds = last - started
    rt_workers, rt_web = round_trips(workdir / "rt-worker"), round_trips(workdir / "rt-web")
    return {
        "workers": workers,
        "updates": total,
        "seconds": round(seconds, 2),
        "updates_per_second": round(total / seconds, 1),
        "reply_p50_s": round(percentile(latency, 50), 3),
        "reply_p99_s": round(percentile(latency, 99), 3),
        "ingest_updates_per_second": round(total / ingest_s, 1),
        "cpu_ms_per_update": {k: round((cpu1[k] - cpu0[k]) / total * 1000, 2) for k in cpu0},
        "round_trips_per_update": {
            "workers": {k: round(v / total, 2) for k, v in sorted(rt_workers.items())},
            "receiver": {k: round(v / total, 2) for k, v in sorted(rt_web.items())},
        },
        "duplicates": len(replies) - total,
    }


async def _ready(http: aiohttp.ClientSession, port: int, db: Database, workers: int,
                 procs: list[Proc], timeout: float = 90) -> None:
    """The receiver answers its health check and every worker's engine has registered."""
    deadline = time.monotonic() + timeout
    while True:
        for proc in procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.log.name} exited:\n{proc.log.read_text()[-3000:]}")
        try:
            async with http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                healthy = resp.status == 200
        except aiohttp.ClientError:
            healthy = False
        async with db.session() as session:
            registered = (await session.execute(select(func.count()).select_from(DeliveryWorker))).scalar_one()
        if healthy and registered >= workers:
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the receiver or the workers did not start")
        await asyncio.sleep(0.1)


async def _replies(client: SandboxClient, total: int, users: set[int], procs: list[Proc],
                   timeout: float) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        calls = [c for c in await client.calls(method="sendMessage") if c["status"] == 200 and c["chat_id"] in users]
        if len(calls) >= total:
            return calls
        for proc in procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.log.name} exited:\n{proc.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(calls)}/{total} replies after {timeout}s")
        await asyncio.sleep(0.2)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in [int(w) for w in args.workers.split(",")]:
            workdir = Path(tmp) / f"w{workers}"
            workdir.mkdir()
            results.append(await one_config(workers, args, workdir))
    base = results[0]["updates_per_second"]
    for result in results:
        result["speedup_over_first"] = round(result["updates_per_second"] / base, 2)
    return {"configs": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL server (a scratch database is made for each configuration)")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(run(args))
    emit({"benchmark": "scale_out", "database": "postgresql", "cores": os.cpu_count(), **result,
          "wall_s": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
