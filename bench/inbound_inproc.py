"""Benchmark: the inbound path without the network, KopDesk vs a bare PTB echo bot, in-process.

`bench/inbound_burst.py` measures the whole bot against the sandbox over HTTP; there most of the
echo bot's CPU is httpx and the sandbox's answers, and both are noisy. This one feeds the same
burst (300 users × 10 messages, each user's in order) straight into each application's update
queue, answers every Bot API call from memory (the same canned answer for both bots), and
reads the CPU time the process spent until the last reply left: what each framework and its
handlers cost per update, and no more. Each bot runs in its own child process (a fresh
interpreter, uvloop, the collector as `kopdesk run` sets it).

Two phases per bot: `first` (each user's first message: KopDesk creates the person) and
`rest` (the nine that follow: the sender is remembered). The send limit is lifted
(PAID_BROADCASTS=true, SEND_RATE=1000); at that rate the shared budget lets at most ~900 sends
a second through (bot/delivery/limits.py), which caps `updates_per_second` here, not the CPU.

    .venv/bin/python bench/inbound_inproc.py [--rounds 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, TOKEN, emit  # noqa: E402

BOT_USER = {"id": 1, "is_bot": True, "first_name": "KopDesk", "username": "kopdesk_bot"}
USERS, MESSAGES = 300, 10


def burst(text: str) -> list[dict[str, Any]]:
    """The updates of the burst as Telegram sends them, users interleaved."""
    ids = itertools.count(1)
    entities = [{"type": "bot_command", "offset": 0, "length": len(text)}] if text.startswith("/") else None
    updates = []
    for number in range(MESSAGES):
        for user in range(30_000, 30_000 + USERS):
            message: dict[str, Any] = {
                "message_id": number + 1, "date": int(time.time()), "text": text,
                "chat": {"id": user, "type": "private", "first_name": "Budi"},
                "from": {"id": user, "is_bot": False, "first_name": "Budi", "language_code": "id"},
            }
            if entities:
                message["entities"] = entities
            updates.append({"update_id": next(ids), "message": message})
    return updates


def canned_request() -> Any:
    """A BaseRequest answering from memory: getMe, and every sendMessage as Telegram would."""
    import orjson
    from telegram.request import BaseRequest

    class Canned(BaseRequest):
        def __init__(self) -> None:
            self.ids = itertools.count(1000)
            self.sent = 0

        @property
        def read_timeout(self) -> float | None:
            return None

        async def initialize(self) -> None:
            pass

        async def shutdown(self) -> None:
            pass

        async def do_request(self, url: str, method: str, request_data: Any = None, **_: Any) -> tuple[int, bytes]:
            api = url.rsplit("/", 1)[-1]
            if api == "getMe":
                return 200, orjson.dumps({"ok": True, "result": BOT_USER})
            if api != "sendMessage":
                return 200, b'{"ok":true,"result":true}'
            self.sent += 1
            params = request_data.parameters
            await asyncio.sleep(0)  # a real answer comes back in a later turn of the loop
            return 200, orjson.dumps({"ok": True, "result": {
                "message_id": next(self.ids), "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": int(params["chat_id"]), "type": "private", "first_name": "Budi"},
                "text": params["text"]}})

    return Canned()


async def drive(app: Any, request: Any, updates: list[dict[str, Any]], wrap: Any) -> dict[str, Any]:
    """Queue each phase at once and wait for its replies; CPU and wall time per phase."""
    from telegram import Update

    out: dict[str, Any] = {}
    async with app:
        await app.start()
        for phase, part in (("first", updates[:USERS]), ("rest", updates[USERS:])):
            sent = request.sent
            wall, cpu = time.perf_counter(), time.process_time()
            for data in part:
                await app.update_queue.put(Update.de_json(wrap(data), app.bot))
            while request.sent < sent + len(part):
                await asyncio.sleep(0.002)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            out[phase] = {"updates": len(part), "updates_per_second": round(len(part) / wall, 1),
                          "cpu_ms_per_update": round(cpu / len(part) * 1000, 3)}
        await app.stop()
    return out


async def echo_bot() -> dict[str, Any]:
    """PTB's echo example on the canned request."""
    from telegram.ext import Application, MessageHandler, filters

    async def echo(update: Any, _context: Any) -> None:
        await update.message.reply_text(update.message.text)

    request = canned_request()
    app = Application.builder().token(TOKEN).request(request).get_updates_request(canned_request()).build()
    app.add_handler(MessageHandler(filters.TEXT, echo))
    return await drive(app, request, burst("halo"), lambda data: data)


async def kopdesk(url: str, workdir: Path) -> dict[str, Any]:
    """`kopdesk run`'s application answering /bantuan, everything logged, on the canned request."""
    from bot.message_log import carrying_raw
    from bot.runtime import Runtime
    from bot.settings import Settings
    from bot.tg.build import build_application

    settings = Settings(_env_file=None, database_url=url, bot_token=TOKEN,  # type: ignore[call-arg]
                        send_ledger_dir=workdir / "sends", telegram_api_url="http://127.0.0.1:9/bot",
                        paid_broadcasts=True, send_rate=1000)
    runtime = Runtime.create(settings)
    request = canned_request()
    app = build_application(runtime, request=request, get_updates_request=canned_request())
    try:
        result = await drive(app, request, burst("/bantuan"), carrying_raw)  # as polling hands them on
        result["commits"] = {"inbound_batches": app.inbound.batches, "group_commits": runtime.db.results.commits}
        return result
    finally:
        await runtime.db.dispose()


def child(bot: str, url: str | None, workdir: str) -> None:
    """One bot, one round, in this process; prints its JSON."""
    from bot.cli.common import for_serving

    for_serving()  # uvloop and the collector, as `kopdesk run` has them
    result = asyncio.run(echo_bot() if bot == "echo_ptb" else kopdesk(url or "", Path(workdir)))
    print(json.dumps(result))


async def one_round(bot: str, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    url = None
    drop = None
    if bot == "kopdesk":
        from bench.broadcast import prepare_database

        url, drop = await prepare_database(args.database_url, workdir)
    try:
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, __file__, "--child", bot, "--url", url or "", "--workdir", str(workdir)],
            cwd=ROOT, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"{bot} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        if drop is not None:
            await drop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rounds: dict[str, list[dict[str, Any]]] = {"echo_ptb": [], "kopdesk": []}
    with tempfile.TemporaryDirectory() as tmp:
        for number in range(args.rounds):
            for bot in rounds:  # interleaved
                workdir = Path(tmp) / f"{bot}-{number}"
                workdir.mkdir()
                rounds[bot].append(await one_round(bot, args, workdir))
    out: dict[str, Any] = {}
    for bot, results in rounds.items():
        out[bot] = {"rounds": results, **{
            f"median_cpu_ms_{phase}": round(statistics.median(r[phase]["cpu_ms_per_update"] for r in results), 3)
            for phase in ("first", "rest")}}
    for phase in ("first", "rest"):
        out[f"ratio_cpu_{phase}_kopdesk_over_ptb"] = round(
            out["kopdesk"][f"median_cpu_ms_{phase}"] / out["echo_ptb"][f"median_cpu_ms_{phase}"], 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None, help="PostgreSQL server (a scratch database is made)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.workdir)
        return
    started = time.perf_counter()
    result = asyncio.run(run(args))
    emit({"benchmark": "inbound_inproc", "database": "postgresql" if args.database_url else "sqlite",
          "load": {"users": USERS, "messages_per_user": MESSAGES}, **result,
          "wall_s": round(time.perf_counter() - started, 1)})


if __name__ == "__main__":
    main()
