"""Run the sandbox standalone: ``python -m bot.sandbox --host 127.0.0.1 --port 8081``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc

from .client import SandboxClient
from .server import Sandbox
from .terminal import run_terminal_chat


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:SANDBOX-TOKEN", help="token shown in the hints")
    parser.add_argument("--bot-username", default="kopdesk_bot")
    parser.add_argument("--bot-first-name", default="KopDesk")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--first-update-id", type=int, default=None,
        help="number updates from here (e.g. above the highest update_id a bot already logged)",
    )
    parser.add_argument(
        "--chat", type=int, metavar="USER_ID", help="also open a terminal chat as this user"
    )
    return parser.parse_args()


async def _main(args: argparse.Namespace) -> None:
    sandbox = Sandbox(
        host=args.host,
        port=args.port,
        bot_token=args.token,
        bot_username=args.bot_username,
        bot_first_name=args.bot_first_name,
        seed=args.seed,
        first_update_id=args.first_update_id,
    )
    await sandbox.start()
    try:
        print(f"base_url:      {sandbox.base_url}")
        print(f"file_base_url: {sandbox.file_base_url}")
        print(f"control_url:   {sandbox.control_url}")
        print(f"browser chat:  {sandbox.url}/")
        print("Ctrl-C to stop.", flush=True)
        if args.chat is not None:
            async with SandboxClient(sandbox.control_url) as client:
                await run_terminal_chat(client, user_id=args.chat)
        else:
            await asyncio.Event().wait()
    finally:
        await sandbox.stop()


def main() -> None:
    """Entry point; Ctrl-C stops cleanly."""
    # The collector tuned as the bot's processes tune theirs (bot.cli.common.for_serving; the
    # sandbox imports nothing of the bot): a full collection of a sandbox that keeps every call
    # stopped its loop for up to 85 ms, and the calls it then took in were stamped closer together
    # than they were sent, so a benchmark counted a busiest second the bot never sent
    # (docs/PERFORMANCE.md).
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 50, 50)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(_parse_args()))


if __name__ == "__main__":
    main()
