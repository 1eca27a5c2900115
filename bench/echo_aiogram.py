"""The stretch baseline: a bare aiogram 3 echo bot, as its documentation writes one.

Run with an interpreter that has aiogram (`make bench` keeps one in .venv-aiogram, apart from
the project's: aiogram requires pydantic < 2.14, the project has 2.14):

    .venv-aiogram/bin/python bench/echo_aiogram.py TOKEN BASE_URL
"""

from __future__ import annotations

import asyncio
import sys

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message

dispatcher = Dispatcher()


@dispatcher.message(F.text)
async def echo(message: Message) -> None:
    """Send the text back."""
    await message.answer(message.text)


async def main() -> None:
    """Poll the Bot API at BASE_URL (PTB style, ``http://host:port/bot``)."""
    token, base_url = sys.argv[1], sys.argv[2]
    server = TelegramAPIServer(base=f"{base_url}{{token}}/{{method}}",
                               file=f"{base_url.rsplit('/bot', 1)[0]}/file/bot{{token}}/{{path}}")
    bot = Bot(token, session=AiohttpSession(api=server))
    await dispatcher.start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main())
