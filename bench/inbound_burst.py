"""Benchmark: a burst of updates queued at once (open loop), bare echo bots vs KopDesk.

3,000 updates from 300 users wait in the sandbox before the bot starts polling — a restart
with a backlog, or everybody answering a broadcast at once. Each bot drains them; we measure,
at the sandbox, from the bot's first getUpdates to its last reply, and the bot process's CPU
time over the same span (read from /proc: the steadier figure on a shared machine).

Bots, interleaved in rounds (medians reported, at least 3 rounds):
  (a) a bare python-telegram-bot echo bot (bench/echo_bot.py);
  (b) KopDesk `kopdesk run` answering /bantuan, every update and reply logged, on a fresh
      database each round (SQLite, or a scratch database on --database-url);
  (c) a bare aiogram echo bot (bench/echo_aiogram.py, the stretch), run by the interpreter in
      AIOGRAM_PYTHON (default .venv-aiogram/bin/python, which `make bench` sets up) if it exists.
The send limit is lifted for the measurement (PAID_BROADCASTS=true, SEND_RATE=1000).

    .venv/bin/python bench/inbound_burst.py [--users 300] [--messages 10] [--rounds 3]
                                           [--database-url URL] [--only a,b,c]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.broadcast import prepare_database  # noqa: E402
from bench.common import TOKEN, Proc, emit, percentile, start_sandbox  # noqa: E402
from bot.sandbox import SandboxClient  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
REPLY_METHODS = {"sendMessage"}


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICKS, int(fields[12]) / TICKS


def aiogram_python() -> Path:
    """The interpreter with aiogram installed, kept apart from the project's virtualenv."""
    return Path(os.environ.get("AIOGRAM_PYTHON", ".venv-aiogram/bin/python"))


def spy_options() -> list[str]:
    """py-spy's sampling mode: without stopping the bot, unless PYSPY_NATIVE=1 asks for the C
    frames too (uvloop, sqlite3, orjson), which needs the process paused for each sample."""
    return ["--native"] if os.environ.get("PYSPY_NATIVE") == "1" else ["--nonblocking"]


def main_thread_seconds(pid: int) -> float:
    """User + system CPU time of a process's main thread (the event loop) so far."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    return sum(cpu_times(pid))


async def queue_burst(client: SandboxClient, users: list[int], messages: int, text: str) -> int:
    """Queue users × messages updates (each user's in order, users interleaved); the count."""
    limit = asyncio.Semaphore(32)

    async def one_user(user: int) -> None:
        for _ in range(messages):
            async with limit:
                await client.send_text(user, text)

    await asyncio.gather(*(one_user(u) for u in users))
    return len(users) * messages


async def drain(client: SandboxClient, proc: Proc, total: int, users: set[int],
                timeout: float, profile: Path | None = None) -> dict[str, Any]:
    """Wait for the bot's first getUpdates, then for `total` replies; time and CPU between."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await client.calls(method="getUpdates"):
        if proc.popen.poll() is not None:
            raise RuntimeError(f"bot exited:\n{proc.log.read_text()[-3000:]}")
        if loop.time() > deadline:
            raise TimeoutError("bot never polled")
        await asyncio.sleep(0.01)
    cpu_start = cpu_times(proc.popen.pid)
    main_start = main_thread_seconds(proc.popen.pid)
    spy = None
    if profile is not None:  # py-spy's collapsed stacks of the drain, every thread
        spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(proc.popen.pid), "--format", "raw",
                                "--threads", "--rate", "250", *spy_options(), "-o", str(profile)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first_poll = (await client.calls(method="getUpdates"))[0]["t"]
    seen = 0
    while True:
        calls = [c for c in await client.calls(method="sendMessage")
                 if c["status"] == 200 and c["chat_id"] in users]
        seen = len(calls)
        if seen >= total:
            break
        if proc.popen.poll() is not None:
            raise RuntimeError(f"bot exited:\n{proc.log.read_text()[-3000:]}")
        if loop.time() > deadline:
            raise TimeoutError(f"{seen}/{total} replies after {timeout}s")
        await asyncio.sleep(0.2)
    user, system = (end - start for end, start in zip(cpu_times(proc.popen.pid), cpu_start, strict=True))
    cpu = user + system
    main = main_thread_seconds(proc.popen.pid) - main_start
    if spy is not None:
        spy.send_signal(signal.SIGINT)
        spy.wait(30)
    last = max(c["t"] for c in calls)
    seconds = last - first_poll
    # Latency of each reply from the moment the bot could first have seen its update.
    latencies = [c["t"] - first_poll for c in calls]
    return {
        "updates": total,
        "seconds": round(seconds, 3),
        "updates_per_second": round(total / seconds, 1),
        "cpu_ms_per_update": round(cpu / total * 1000, 2),
        "cpu_system_share": round(system / cpu, 2) if cpu else 0.0,
        # The event loop's thread; the rest is the database driver's threads (aiosqlite).
        "cpu_main_thread_share": round(main / cpu, 2) if cpu else 0.0,
        "p50_reply_s": round(percentile(latencies, 50), 2),
        "duplicates": len(calls) - total,
    }


async def one_round(bot: str, workdir: Path, args: argparse.Namespace, rnd: int) -> dict[str, Any]:
    """Start a sandbox, queue the burst, start `bot`, measure, stop everything."""
    sandbox, base_url, control_url = start_sandbox(workdir)
    users = list(range(30_000, 30_000 + args.users))
    drop = None
    proc: Proc | None = None
    try:
        async with SandboxClient(control_url) as client:
            text = "/bantuan" if bot == "kopdesk" else "halo"
            total = await queue_burst(client, users, args.messages, text)
            env = dict(os.environ)
            if bot == "echo_ptb":
                proc = Proc([sys.executable, "bench/echo_bot.py", TOKEN, base_url], env,
                            workdir / f"echo-{rnd}.log")
            elif bot == "echo_aiogram":
                proc = Proc([str(aiogram_python()), "bench/echo_aiogram.py", TOKEN, base_url], env,
                            workdir / f"aiogram-{rnd}.log")
            else:
                db_url, drop = await prepare_database(args.database_url, workdir / f"r{rnd}")
                env.update(BOT_TOKEN=TOKEN, TELEGRAM_API_URL=base_url, DATABASE_URL=db_url,
                           LOG_LEVEL="WARNING", PAID_BROADCASTS="true", SEND_RATE="1000")
                proc = Proc([sys.executable, "-m", "bot.cli", "run"], env, workdir / f"kopdesk-{rnd}.log")
            profile = (Path(args.profile) / f"{bot}-{rnd}.txt") if args.profile else None
            return await drain(client, proc, total, set(users), timeout=600, profile=profile)
    finally:
        if proc is not None:
            proc.stop()
        sandbox.stop()
        if drop is not None:
            await drop()


def median_of(results: list[dict[str, Any]], key: str) -> float:
    return round(statistics.median(r[key] for r in results), 2)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    bots = {"a": "echo_ptb", "b": "kopdesk", "c": "echo_aiogram"}
    chosen = [bots[k] for k in args.only.split(",")]
    if "echo_aiogram" in chosen and not aiogram_python().exists():
        chosen.remove("echo_aiogram")  # the stretch needs aiogram's interpreter (make bench makes it)
    rounds: dict[str, list[dict[str, Any]]] = {b: [] for b in chosen}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds):
            for bot in chosen:  # interleaved: a noisy neighbour hits every bot alike
                workdir = Path(tmp) / f"{bot}-{rnd}"
                (workdir / f"r{rnd}").mkdir(parents=True)
                rounds[bot].append(await one_round(bot, workdir, args, rnd))
    out: dict[str, Any] = {}
    for bot, results in rounds.items():
        out[bot] = {
            "rounds": results,
            "median_updates_per_second": median_of(results, "updates_per_second"),
            "median_cpu_ms_per_update": median_of(results, "cpu_ms_per_update"),
        }
    if "echo_ptb" in out and "kopdesk" in out:
        a, b = out["echo_ptb"], out["kopdesk"]
        out["ratio_throughput_kopdesk_over_ptb"] = round(
            b["median_updates_per_second"] / a["median_updates_per_second"], 3)
        out["ratio_cpu_kopdesk_over_ptb"] = round(
            b["median_cpu_ms_per_update"] / a["median_cpu_ms_per_update"], 3)
        out["met"] = {
            "throughput_at_least_ptb": out["ratio_throughput_kopdesk_over_ptb"] >= 1.0,
            "cpu_within_1_5x": out["ratio_cpu_kopdesk_over_ptb"] <= 1.5,
        }
    if "echo_aiogram" in out and "kopdesk" in out:  # the stretch: reported, not a target
        c, b = out["echo_aiogram"], out["kopdesk"]
        out["stretch_throughput_kopdesk_over_aiogram"] = round(
            b["median_updates_per_second"] / c["median_updates_per_second"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (a scratch database is made)")
    parser.add_argument("--only", default="a,b,c")
    parser.add_argument("--profile", default=None,
                        help="directory for py-spy's collapsed stacks of each drain (pip install py-spy)")
    args = parser.parse_args()
    started = time.perf_counter()
    result = asyncio.run(run(args))
    emit({"benchmark": "inbound_burst", "database": "postgresql" if args.database_url else "sqlite",
          "load": {"users": args.users, "messages_per_user": args.messages, "open_loop": True},
          **result, "wall_s": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
