"""Shared parts of the benchmarks: a sandbox in its own process, bot processes, workloads.

The sandbox runs in a separate process so that the bot under test and the load generator do
not share its event loop; every figure is measured against a baseline in the same run because
absolute times on shared machines drift.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH-TOKEN"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Proc:
    """A child process with its output in a log file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.popen = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def stop(self) -> None:
        """Terminate and wait."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_sandbox(workdir: Path) -> tuple[Proc, str, str]:
    """Start `python -m bot.sandbox` on a free port; returns (process, base_url, control_url)."""
    port = free_port()
    proc = Proc([sys.executable, "-m", "bot.sandbox", "--port", str(port)], dict(os.environ), workdir / "sandbox.log")
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.popen.poll() is not None:
                raise RuntimeError(proc.log.read_text()) from None
            time.sleep(0.05)
    return proc, f"{base}/bot", f"{base}/_sandbox"


async def wait_polling(client: Any, before: int, proc: Proc, timeout: float = 60) -> None:
    """Wait until a bot process has called getUpdates more than `before` times."""
    deadline = time.monotonic() + timeout
    while len(await client.calls(method="getUpdates")) <= before:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"bot exited:\n{proc.log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError("bot did not start polling")
        await asyncio.sleep(0.05)


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) of values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def closed_loop(
    client: Any,
    users: list[int],
    messages_per_user: int,
    text_for: Callable[[int, int], str],
    check: Callable[[dict], bool] | None = None,
) -> dict[str, Any]:
    """Each user sends a message, waits for the reply, sends the next; all users at once."""
    latencies: list[float] = []
    failures = 0

    async def one_user(user_id: int) -> None:
        nonlocal failures
        last_id = 0
        for k in range(messages_per_user):
            started = time.perf_counter()
            await client.send_text(user_id, text_for(user_id, k))
            replies = await client.wait_for_messages(user_id, after_id=last_id, count=1, timeout=60)
            latencies.append(time.perf_counter() - started)
            last_id = max(m["message_id"] for m in replies)
            if check is not None and not check(replies[-1]):
                failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_user(u) for u in users))
    elapsed = time.perf_counter() - started
    total = len(users) * messages_per_user
    return {
        "updates": total,
        "seconds": round(elapsed, 3),
        "updates_per_second": round(total / elapsed, 1),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "wrong_replies": failures,
    }


def emit(result: dict[str, Any]) -> None:
    """Print the result as JSON (the benchmarks' only output on stdout)."""
    print(json.dumps(result, indent=2, ensure_ascii=False))


async def run_with_client(control_url: str, work: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run `work(client)` with a SandboxClient on the control API."""
    from bot.sandbox import SandboxClient

    async with SandboxClient(control_url) as client:
        return await work(client)
