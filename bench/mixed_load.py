"""Benchmark: a broadcast and people chatting at once, through one bot's one send budget.

`kopdesk run` (handlers and the delivery engine in one process, SEND_RATE=25) sends a broadcast
to 2,000 recipients while 100 people each send a command every 5–15 seconds (about 10
replies a second, so bulk gets what is left: about 15 a second). Telegram sees the
sum, so what counts is measured at the sandbox, over every call that sends:

- the busiest one-second window of all sends (replies and broadcast together) ≤ SEND_RATE;
- the chatters' reply latency p99 ≤ 2 s (replies go before bulk);
- the broadcast's duration ≤ (recipients + replies sent meanwhile) / SEND_RATE × 1.05
  (bulk fills what the replies leave; the baseline is the ideal at the same rate).

    .venv/bin/python bench/mixed_load.py [--recipients 2000] [--chatters 100] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402

from bench.broadcast import Bench, busiest_window, prepare_database  # noqa: E402
from bench.common import TOKEN, Proc, emit, percentile, start_sandbox, wait_polling  # noqa: E402
from bot.sandbox import SandboxClient  # noqa: E402

SEND_METHODS = ("sendMessage", "sendPhoto", "sendDocument", "copyMessage", "editMessageText")
RATE = 25


def start_bot(bench: Bench, rate: int) -> Proc:
    """`kopdesk run` against the sandbox: replies and delivery in one process."""
    env = dict(os.environ)
    env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=bench.base_url, DATABASE_URL=bench.db_url,
               SEND_RATE=str(rate), LOG_LEVEL="WARNING", RUN_DELIVERY_WORKER="true")
    return Proc([sys.executable, "-m", "bot.cli", "run"], env, bench.workdir / "bot.log")


async def chatter(client: SandboxClient, user_id: int, rng: random.Random, stop: asyncio.Event,
                  latencies: list[float], lost: list[int]) -> None:
    """One person: a command, wait for the answer, think 5–15 s, again — until `stop`."""
    last_id = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rng.uniform(5.0, 15.0))  # think time
            return
        except TimeoutError:
            pass
        started = time.perf_counter()
        await client.send_text(user_id, "/bantuan")
        try:
            replies = await client.wait_for_messages(user_id, after_id=last_id, count=1, timeout=60)
        except TimeoutError:
            lost.append(user_id)
            continue
        latencies.append(time.perf_counter() - started)
        last_id = max(m["message_id"] for m in replies)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_url, drop = await prepare_database(args.database_url, workdir)
        sandbox, base_url, control_url = start_sandbox(workdir)
        bench = Bench(workdir, base_url, control_url, db_url)
        bench.http = aiohttp.ClientSession()
        proc: Proc | None = None
        try:
            recipients = await bench.people(args.recipients)
            async with SandboxClient(control_url) as client:
                proc = start_bot(bench, RATE)
                await wait_polling(client, 0, proc)
                # Warm-up: one answer and one outbox message, so start-up is not measured.
                await client.send_text(1, "/bantuan")
                await client.wait_for_messages(1, count=1, timeout=60)
                await bench.wait_done(await bench.enqueue(await bench.people(1)), 60, proc)
                since = await bench.last_seq()

                rng = random.Random(args.seed)
                stop = asyncio.Event()
                latencies: list[float] = []
                lost: list[int] = []
                users = [2_000_000 + i for i in range(args.chatters)]
                talk = [asyncio.create_task(chatter(client, u, random.Random(rng.random()), stop,
                                                    latencies, lost)) for u in users]
                batch = await bench.enqueue(recipients)
                duration = await bench.wait_done(batch, timeout=args.recipients / RATE * 10 + 120, proc=proc)
                stop.set()
                await asyncio.gather(*talk)
            calls = [c for c in await bench.calls(since=since) if c["method"] in SEND_METHODS]
            user_set = set(users)
            reply_calls = [c for c in calls if c["chat_id"] in user_set]
            window_start = min((c["t"] for c in calls), default=0.0)
            during = [c for c in reply_calls if c["t"] <= window_start + duration]
            ideal = (args.recipients + len(during)) / RATE
            result = {
                "recipients": args.recipients,
                "chatters": args.chatters,
                "send_rate": RATE,
                "busiest_1s_window_all_sends": busiest_window([c["t"] for c in calls]),
                "replies": len(latencies),
                "replies_lost": len(lost),
                "reply_p50_ms": round(percentile(latencies, 50) * 1000, 1),
                "reply_p99_ms": round(percentile(latencies, 99) * 1000, 1),
                "broadcast_duration_s": round(duration, 2),
                "replies_during_broadcast": len(during),
                "ideal_s": round(ideal, 2),
                "ratio_duration_over_ideal": round(duration / ideal, 3),
                "states": await bench.states(batch),
            }
            result["met"] = {
                "busiest_second_within_rate": result["busiest_1s_window_all_sends"] <= RATE,
                "reply_p99_within_2s": result["reply_p99_ms"] <= 2000 and not lost,
                "duration_within_5_percent": result["ratio_duration_over_ideal"] <= 1.05,
            }
            return result
        finally:
            if proc is not None:
                proc.stop()
            await bench.http.close()
            await bench.db.dispose()
            sandbox.stop()
            await drop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recipients", type=int, default=2000)
    parser.add_argument("--chatters", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (a scratch database is made)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(run(args))
    emit({"benchmark": "mixed_load", "database": "postgresql" if args.database_url else "sqlite",
          **result, "wall_s": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
