"""/siaran end to end: the real `kopdesk run` process, the sandbox, a kecamatan's managers."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.i18n import t
from bot.sandbox import SandboxClient
from bot.seed import seed_demo
from storage.db import Database
from storage.models import Cooperative, Kecamatan, Person
from storage.models_delivery import OutboxMessage
from storage.repositories import registry
from tests.conftest import ADMIN_ID
from tests.e2e.conftest import BotProcess, wait_until

pytestmark = pytest.mark.e2e
OFFICER = ADMIN_ID
AMARASI = [9101, 9102, 9103, 9104]
ELSEWHERE = 9201


def buttons(message: dict) -> dict[str, str]:
    """Button label → callback data of a message's inline keyboard."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def data_starting(message: dict, prefix: str) -> str:
    """The one callback data of the message that starts with `prefix`."""
    [data] = [d for d in buttons(message).values() if d.startswith(prefix)]
    return data


async def current(client: SandboxClient, chat_id: int, message_id: int) -> dict:
    """A message of the bot as it is now (after edits)."""
    return next(m for m in await client.messages(chat_id) if m["message_id"] == message_id)


@pytest.fixture
async def managers(db: Database, client: SandboxClient) -> None:
    """The demo registry; four managers of cooperatives in Amarasi, one in another kecamatan."""
    await seed_demo(db)
    async with db.session() as session:
        amarasi = (await session.execute(select(Kecamatan.id).where(Kecamatan.name == "Amarasi"))).scalar_one()
        here = (await session.execute(
            select(Cooperative.id).where(Cooperative.kecamatan_id == amarasi).order_by(Cooperative.id).limit(2)
        )).scalars().all()
        there = (await session.execute(
            select(Cooperative.id).where(Cooperative.kecamatan_id != amarasi).limit(1)
        )).scalar_one()
        for i, telegram_id in enumerate([*AMARASI, ELSEWHERE]):
            person = Person(telegram_id=telegram_id, first_name=f"Pengurus {i}")
            session.add(person)
            await session.flush()
            coop = there if telegram_id == ELSEWHERE else here[i % 2]
            await registry.link_manager(session, person_id=person.id, cooperative_id=coop,
                                        position=registry.ManagerPosition.KETUA)
    for telegram_id in [*AMARASI, ELSEWHERE]:
        await client.register_chat(telegram_id, type="private")


async def test_officer_broadcasts_to_a_kecamatan(
    managers: None, bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """Compose, pick Amarasi from the kecamatan list, see the exact count and the preview, Kirim:
    the four managers get it, the other kecamatan does not, progress and final report follow."""
    await client.send_text(OFFICER, "/siaran")
    [prompt] = await client.wait_for_messages(OFFICER, count=1)
    assert prompt["text"].startswith(t("id", "siaran.history_none"))

    await client.send_text(OFFICER, "Rapat koordinasi <b>Senin</b> pukul 09.00 WITA")
    [menu] = await client.wait_for_messages(OFFICER, after_id=prompt["message_id"], count=1)
    await client.press(OFFICER, menu["message_id"], data_starting(menu, "sia:kp:"))

    async def kecamatan_list() -> dict | None:
        now = await current(client, OFFICER, menu["message_id"])
        return now if now["text"] == t("id", "siaran.pick_kecamatan") else None

    listing = await wait_until(kecamatan_list, what="the kecamatan list")
    await client.press(OFFICER, menu["message_id"], buttons(listing)["Amarasi"])
    preview, control = await client.wait_for_messages(OFFICER, after_id=menu["message_id"], count=2)
    assert preview["text"] == "Rapat koordinasi Senin pukul 09.00 WITA"
    assert [e["type"] for e in preview["entities"]] == ["bold"]
    assert "4 pengurus" in control["text"] and "Kecamatan Amarasi" in control["text"]

    await client.press(OFFICER, control["message_id"], data_starting(control, "sia:go:"))
    for telegram_id in AMARASI:
        [got] = await client.wait_for_messages(telegram_id, count=1, timeout=20)
        assert got["text"] == preview["text"] and got["entities"] == preview["entities"]
    [report] = await client.wait_for_messages(OFFICER, after_id=control["message_id"], count=1, timeout=30)
    assert "✅ Terkirim: 4" in report["text"] and "❌ Gagal: 0" in report["text"]
    progress = await current(client, OFFICER, control["message_id"])
    assert "Terkirim 4/4" in progress["text"]
    assert await client.messages(ELSEWHERE) == []

    # /siaran now lists it; a manager may not start one.
    await client.send_text(OFFICER, "/siaran")
    [again] = await client.wait_for_messages(OFFICER, after_id=report["message_id"], count=1)
    assert again["text"].startswith(t("id", "siaran.history_header")) and "Kecamatan Amarasi: terkirim 4/4" in again["text"]
    await client.send_text(AMARASI[0], "/siaran")
    [refusal] = await client.wait_for_messages(AMARASI[0], after_id=got["message_id"], count=1)
    assert refusal["text"] == t("id", "access.officer_only")


async def test_bad_formatting_is_refused_at_the_preview(
    managers: None, bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """Unclosed HTML: the officer is told Telegram's reason before anything is sent."""
    await client.send_text(OFFICER, "/siaran")
    [prompt] = await client.wait_for_messages(OFFICER, count=1)
    await client.send_text(OFFICER, "<b>Rapat besok")
    [menu] = await client.wait_for_messages(OFFICER, after_id=prompt["message_id"], count=1)
    await client.press(OFFICER, menu["message_id"], data_starting(menu, "sia:all:"))
    [warning] = await client.wait_for_messages(OFFICER, after_id=menu["message_id"], count=1)
    assert warning["text"].startswith("⚠️") and "Can't parse entities" in warning["text"]
    async with db.session() as session:
        assert (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 0


async def test_the_kirim_of_an_earlier_preview_does_not_send_a_text_telegram_refused(
    managers: None, bot: BotProcess, client: SandboxClient, db: Database
) -> None:
    """A first text passed its preview, and its Kirim button stays in the chat. He then types a
    text Telegram refuses at the preview (the same open draft): that old Kirim sends nothing."""
    await client.send_text(OFFICER, "/siaran")
    [prompt] = await client.wait_for_messages(OFFICER, count=1)
    await client.send_text(OFFICER, "Rapat besok")
    [menu] = await client.wait_for_messages(OFFICER, after_id=prompt["message_id"], count=1)
    await client.press(OFFICER, menu["message_id"], data_starting(menu, "sia:all:"))
    _preview, control = await client.wait_for_messages(OFFICER, after_id=menu["message_id"], count=2)
    await client.send_text(OFFICER, "<b>Rapat besok")
    [menu] = await client.wait_for_messages(OFFICER, after_id=control["message_id"], count=1)
    await client.press(OFFICER, menu["message_id"], data_starting(menu, "sia:all:"))
    [warning] = await client.wait_for_messages(OFFICER, after_id=menu["message_id"], count=1)
    assert "Can't parse entities" in warning["text"]
    query = await client.press(OFFICER, control["message_id"], data_starting(control, "sia:go:"))
    answer = await client.callback_answer(query["id"])
    assert answer.get("text") == t("id", "access.stale_button")
    async with db.session() as session:
        assert (await session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one() == 0
