import pytest
from tests.support.offline import OfflineRequest
from tests.support.updates import message_update
from bot.tg.build import build_application

async def test_start(runtime):
    req = OfflineRequest()
    app = build_application(runtime, request=req, get_updates_request=OfflineRequest())
    async with app:
        await app.process_update(message_update(app.bot, 42, "/start"))
    print(req.calls)
    assert req.texts(42)
