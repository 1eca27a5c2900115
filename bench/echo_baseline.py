"""Benchmark: KopDesk answering a command vs a bare PTB echo bot, on the same sandbox, same run.

(a) the bare echo bot; (b) `kopdesk run` answering /bantuan with the message log on (every
update and every reply written to SQLite, or to --database-url). Both face the same closed-loop
load: U users each send K messages, each waiting for the reply before sending the next.
Prints JSON with updates per second, p50/p99 reply latency and the ratio b/a.

    .venv/bin/python bench/echo_baseline.py [--users 50] [--messages 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import TOKEN, Proc, closed_loop, emit, run_with_client, start_sandbox, wait_polling  # noqa: E402


async def measure(control_url: str, proc: Proc, users: list[int], k: int, text: str, check) -> dict:
    async def work(client):
        await wait_polling(client, 0, proc)
        return await closed_loop(client, users, k, lambda u, i: text, check)

    try:
        return await run_with_client(control_url, work)
    finally:
        proc.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    users_a = list(range(10_000, 10_000 + args.users))
    users_b = list(range(20_000, 20_000 + args.users))

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sandbox, base_url, control_url = start_sandbox(workdir)
        try:
            echo = Proc([sys.executable, "bench/echo_bot.py", TOKEN, base_url], dict(os.environ), workdir / "echo.log")
            a = await measure(control_url, echo, users_a, args.messages, "halo", lambda m: m.get("text") == "halo")

            await run_with_client(control_url, lambda c: c.reset())
            db_url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
            env = dict(os.environ)
            env.update(
                BOT_TOKEN=TOKEN, TELEGRAM_API_URL=base_url, DATABASE_URL=db_url,
                LOG_LEVEL="WARNING", PAID_BROADCASTS="true", SEND_RATE="1000",
            )
            kopdesk = Proc([sys.executable, "-m", "bot.cli", "run"], env, workdir / "kopdesk.log")
            b = await measure(
                control_url, kopdesk, users_b, args.messages, "/bantuan",
                lambda m: (m.get("text") or "").startswith("ℹ️"),
            )
        finally:
            sandbox.stop()

    emit({
        "benchmark": "echo_baseline",
        "load": {"users": args.users, "messages_per_user": args.messages, "closed_loop": True},
        "database": "postgresql" if args.database_url else "sqlite",
        "a_bare_ptb_echo": a,
        "b_kopdesk_command_with_log": b,
        "ratio_throughput_b_over_a": round(b["updates_per_second"] / a["updates_per_second"], 3),
        "ratio_p50_latency_b_over_a": round(b["p50_ms"] / a["p50_ms"], 3),
        "target": "ratio_throughput_b_over_a >= 0.5",
        "met": b["updates_per_second"] / a["updates_per_second"] >= 0.5 and a["wrong_replies"] == b["wrong_replies"] == 0,
    })


if __name__ == "__main__":
    asyncio.run(main())
