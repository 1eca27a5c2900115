"""/statistik and /ekspor end to end: the real `kopdesk run` process uploads PNGs and files to
the sandbox, which stores them as Telegram would; the test reads them back."""

from __future__ import annotations

import csv
import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from bot.sandbox import Sandbox, SandboxClient
from bot.seed import seed_demo
from storage.db import Database
from storage.models import Cooperative, OutboundCall
from tests.conftest import ADMIN_ID
from tests.e2e.conftest import BotProcess, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
async def demo(db: Database, client: SandboxClient) -> None:
    await seed_demo(db)
    await client.register_chat(ADMIN_ID, type="private")


async def test_statistics_photos_and_export_document(
    demo: None, bot: BotProcess, client: SandboxClient, sandbox: Sandbox, db: Database
) -> None:
    await client.send_text(ADMIN_ID, "/statistik")
    text, status_chart, reports_chart = await client.wait_for_messages(ADMIN_ID, count=3, timeout=60)
    assert "Koperasi: 401" in text["text"] and "aktif: 157 (39,2%)" in text["text"]
    for message in (status_chart, reports_chart):
        largest = message["photo"][-1]
        data = sandbox.state.files[largest["file_id"]].data
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG" and image.size[0] == 1080
    assert status_chart["caption"].startswith("Koperasi per kecamatan menurut status (jumlah 401)")

    await client.send_text(ADMIN_ID, "/ekspor registri")
    [document] = await client.wait_for_messages(ADMIN_ID, after_id=reports_chart["message_id"], count=1, timeout=60)
    assert document["document"]["file_name"] == "registri.csv"
    rows = list(csv.reader(io.StringIO(sandbox.state.files[document["document"]["file_id"]].data.decode("utf-8-sig"))))
    async with db.session() as session:
        numbers = set((await session.execute(select(Cooperative.registration_number))).scalars())
    assert {r[0] for r in rows[1:]} == numbers and len(rows) == 402

    async def logged() -> int:
        async with db.session() as session:
            return (await session.execute(select(func.count()).where(
                OutboundCall.method.in_(["sendPhoto", "sendDocument"]), OutboundCall.ok.is_(True)))).scalar_one()

    assert await wait_until(lambda: _at_least(logged, 3), what="the uploads in the outbound log")


async def _at_least(count, n: int) -> bool:
    return await count() >= n
