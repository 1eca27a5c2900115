"""/rapat_baru's audience by cooperative type and by chosen cooperatives (searched by name or
registration number, several ticked), end to end against the sandbox: the preview counts
exactly the managers of those cooperatives, and only they are invited."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.i18n import t
from bot.sandbox import SandboxClient
from storage.db import Database
from storage.models import Cooperative, ManagerLink, Person
from tests.e2e.conftest import BotProcess, wait_until
from tests.e2e.test_broadcast import AMARASI, ELSEWHERE, OFFICER, buttons, current, data_starting, managers  # noqa: F401

pytestmark = pytest.mark.e2e
WITA = ZoneInfo("Asia/Makassar")


async def _top(client: SandboxClient, chat_id: int) -> int:
    found = await client.messages(chat_id)
    return found[-1]["message_id"] if found else 0


async def _say(client: SandboxClient, text: str) -> dict:
    after = await _top(client, OFFICER)
    await client.send_text(OFFICER, text)
    [reply] = await client.wait_for_messages(OFFICER, after_id=after, count=1, timeout=20)
    return reply


async def _press(client: SandboxClient, message: dict, data: str) -> dict:
    """Press a button; returns the message as it is once the bot changed it or answered."""
    after = await _top(client, OFFICER)
    before = await current(client, OFFICER, message["message_id"])
    await client.press(OFFICER, message["message_id"], data)

    async def changed() -> dict | None:
        now = await current(client, OFFICER, message["message_id"])
        if now != before:
            return now
        newer = await client.messages(OFFICER)
        return newer[-1] if newer and newer[-1]["message_id"] > after else None

    return await wait_until(changed, what=f"the answer to {data}")


async def _to_audience_menu(client: SandboxClient, title: str) -> dict:
    """/rapat_baru up to the audience menu."""
    starts = (datetime.now(UTC) + timedelta(days=10)).astimezone(WITA)
    await _say(client, "/rapat_baru")
    kinds = await _say(client, title)
    after = await _top(client, OFFICER)
    [rakor] = [d for d in buttons(kinds).values() if d.startswith("mtg:k:") and d.endswith(":rakor")]
    await client.press(OFFICER, kinds["message_id"], rakor)
    await client.wait_for_messages(OFFICER, after_id=after, count=1)
    await _say(client, starts.strftime("%d/%m/%Y 09.00"))
    await _say(client, "Aula Dinas Koperasi")
    return await _say(client, "/lewati")


async def _managers_of(db: Database, *where) -> set[int]:
    async with db.session() as session:
        rows = await session.execute(select(Person.telegram_id).join(ManagerLink, ManagerLink.person_id == Person.id)
                                     .join(Cooperative, Cooperative.id == ManagerLink.cooperative_id).where(*where))
        return set(rows.scalars())


async def _send(client: SandboxClient, offsets_prompt: dict, recipients: int) -> tuple[str, int]:
    """/lewati the offsets; the preview must offer Kirim to exactly `recipients`; press it.
    Returns the preview's text and the meeting id."""
    assert "7 hari lagi, 1 hari lagi, 2 jam lagi" in offsets_prompt["text"]
    preview = await _say(client, "/lewati")
    go = buttons(preview)[t("id", "meeting.send_button", recipients=recipients)]
    await client.press(OFFICER, preview["message_id"], go)
    return preview["text"], int(go.split(":")[2])


async def test_meeting_for_a_type_of_cooperative(
    managers: None, bot: BotProcess, client: SandboxClient, db: Database  # noqa: F811
) -> None:
    async with db.session() as session:
        coop_type = (await session.execute(
            select(Cooperative.type).join(ManagerLink, ManagerLink.cooperative_id == Cooperative.id)
            .join(Person, Person.id == ManagerLink.person_id).where(Person.telegram_id == AMARASI[0]))).scalar_one()
        coops_of_type = (await session.execute(select(func.count()).where(Cooperative.type == coop_type))).scalar_one()
    invited = await _managers_of(db, Cooperative.type == coop_type)
    assert AMARASI[0] in invited and coops_of_type > 1

    menu = await _to_audience_menu(client, "Sosialisasi per jenis")
    types = await _press(client, menu, data_starting(menu, "mtg:tm:"))
    label = t("id", f"siaran.type_{coop_type.name.lower()}")
    after = await _top(client, OFFICER)
    await client.press(OFFICER, types["message_id"], buttons(types)[label])
    [prompt] = await client.wait_for_messages(OFFICER, after_id=after, count=1)
    text, meeting_id = await _send(client, prompt, len(invited))
    assert t("id", "siaran.label_type", type=label) in text
    for telegram_id in [*AMARASI, ELSEWHERE]:
        if telegram_id in invited:
            [invite] = await client.wait_for_messages(telegram_id, count=1, timeout=30)
            assert invite["document"]["file_name"] == f"rapat-{meeting_id}.ics"
    for telegram_id in {*AMARASI, ELSEWHERE} - invited:
        assert await client.messages(telegram_id) == []


async def test_meeting_for_chosen_cooperatives_by_name_and_number(
    managers: None, bot: BotProcess, client: SandboxClient, db: Database  # noqa: F811
) -> None:
    async with db.session() as session:
        def coop_of(telegram_id: int):
            return (select(Cooperative).join(ManagerLink, ManagerLink.cooperative_id == Cooperative.id)
                    .join(Person, Person.id == ManagerLink.person_id).where(Person.telegram_id == telegram_id))
        by_name = (await session.execute(coop_of(AMARASI[1]))).scalar_one()
        by_number = (await session.execute(coop_of(ELSEWHERE))).scalar_one()
        unwanted = (await session.execute(coop_of(AMARASI[0]))).scalar_one()

    menu = await _to_audience_menu(client, "Rapat koperasi pilihan")
    picker = await _press(client, menu, data_starting(menu, "mtg:c:"))
    assert t("id", "siaran.pick_coops") in picker["text"]

    # By name: tick it and, by mistake, another; untick the mistake.
    found = await _say(client, by_name.name)
    results = {d: label for label, d in buttons(found).items() if d.startswith("mtg:ct:")}
    tick = f"mtg:ct:{data_starting(found, 'mtg:cd:').split(':')[2]}:{by_name.id}"
    assert tick in results
    found = await _press(client, found, tick)
    assert any(label.startswith("☑️") and by_name.name[:20] in label for label in buttons(found))
    if f"{tick.rsplit(':', 1)[0]}:{unwanted.id}" in buttons(found).values():
        mistake = f"{tick.rsplit(':', 1)[0]}:{unwanted.id}"
        found = await _press(client, found, mistake)
        found = await _press(client, found, mistake)
    # By registration number: the cooperative in the other kecamatan.
    found = await _say(client, by_number.registration_number)
    [(label, data)] = [(lb, d) for lb, d in buttons(found).items() if d.startswith("mtg:ct:")]
    assert data.endswith(f":{by_number.id}") and label.startswith("⬜")
    found = await _press(client, found, data)
    assert t("id", "siaran.coops_done", count=2) in buttons(found)

    after = await _top(client, OFFICER)
    await client.press(OFFICER, found["message_id"], data_starting(found, "mtg:cd:"))
    [prompt] = await client.wait_for_messages(OFFICER, after_id=after, count=1)
    invited = {AMARASI[1], AMARASI[3], ELSEWHERE}  # the managers of those two cooperatives
    assert invited == await _managers_of(db, Cooperative.id.in_([by_name.id, by_number.id]))
    text, meeting_id = await _send(client, prompt, len(invited))
    assert "2 koperasi pilihan" in text
    for telegram_id in invited:
        [invite] = await client.wait_for_messages(telegram_id, count=1, timeout=30)
        assert invite["document"]["file_name"] == f"rapat-{meeting_id}.ics"
    for telegram_id in {AMARASI[0], AMARASI[2]}:
        assert await client.messages(telegram_id) == []
