"""Registration end to end (SPEC 3): invite deep link, approval with Setujui/Tolak, lock-out,
forged buttons — the real process, the sandbox, the database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.i18n import t
from bot.sandbox import SandboxClient
from bot.seed import seed_demo
from storage.db import Database
from storage.models import AuditEntry, Cooperative, ManagerLink, ManagerPosition, Person, RegistrationRequest
from tests.conftest import ADMIN_ID, OFFICERS_CHAT
from tests.e2e.conftest import BotProcess, wait_until

pytestmark = pytest.mark.e2e
MANAGER = 7001
APPLICANT = 7002


async def first_coops(db: Database, n: int = 2) -> list[Cooperative]:
    async with db.session() as session:
        return list((await session.execute(select(Cooperative).order_by(Cooperative.id).limit(n))).scalars())


async def links_of(db: Database, telegram_id: int) -> list[tuple[int, ManagerPosition]]:
    async with db.session() as session:
        rows = await session.execute(
            select(ManagerLink.cooperative_id, ManagerLink.position)
            .join(Person, Person.id == ManagerLink.person_id)
            .where(Person.telegram_id == telegram_id)
        )
        return [tuple(r) for r in rows]


def buttons(message: dict) -> list[tuple[str, str]]:
    keyboard = (message.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b["callback_data"]) for row in keyboard for b in row]


async def invite_code(client: SandboxClient, registration_number: str) -> str:
    """The admin asks /undang for a cooperative and reads the code from the answer."""
    before = await client.messages(ADMIN_ID)
    await client.send_text(ADMIN_ID, f"/undang {registration_number}")
    after = max([m["message_id"] for m in before], default=0)
    [answer] = await client.wait_for_messages(ADMIN_ID, after_id=after, count=1)
    match = re.search(r"\?start=([A-Z0-9]{8})", answer["text"])
    assert match, answer["text"]
    return match.group(1)


@pytest.fixture
async def seeded(db: Database) -> list[Cooperative]:
    await seed_demo(db)
    return await first_coops(db)


async def test_invite_deep_link_registers_and_profile_shows_coop(
    bot: BotProcess, client: SandboxClient, db: Database, seeded: list[Cooperative]
) -> None:
    """Officer invites → manager opens t.me/<bot>?start=<code> → registered → /profil shows it."""
    coop = seeded[0]
    code = await invite_code(client, coop.registration_number)

    await client.send_text(MANAGER, f"/start {code}")
    welcome, question = await client.wait_for_messages(MANAGER, count=2)
    assert welcome["text"].startswith("✅") and coop.name in welcome["text"]
    await client.press(MANAGER, question["message_id"], f"pos:{coop.id}:ketua")
    await wait_until(lambda: _position_is(db, MANAGER, ManagerPosition.KETUA), what="position saved")

    await client.send_text(MANAGER, "/profil")
    person, profile = await client.wait_for_messages(MANAGER, after_id=question["message_id"], count=2)
    assert person["text"].startswith("👤")  # his own details first, then each cooperative
    assert coop.name in profile["text"] and coop.registration_number in profile["text"]
    assert t("id", "profile.position", position=t("id", "position.ketua")) in profile["text"]

    # Single use: a second person cannot use the same code.
    await client.send_text(MANAGER + 50, f"/start {code}")
    [refused] = await client.wait_for_messages(MANAGER + 50, count=1)
    assert refused["text"] == t("id", "register.wrong_code", left=4)
    assert await links_of(db, MANAGER + 50) == []


async def _position_is(db: Database, telegram_id: int, position: ManagerPosition) -> bool:
    return [p for _, p in await links_of(db, telegram_id)] == [position]


async def _apply_without_code(client: SandboxClient, user: int, coop: Cooperative, kecamatan_name: str) -> None:
    """/daftar → no code → kecamatan (paging with ▶️) → cooperative (paging) → position."""
    await client.send_text(user, "/daftar")
    [ask] = await client.wait_for_messages(user, count=1)
    await client.press(user, ask["message_id"], "reg:nocode")
    # The same message is edited through the steps: follow it by its buttons.
    await _press_when_listed(client, user, ask["message_id"], lambda text, d: text == kecamatan_name)
    await _press_when_listed(client, user, ask["message_id"], lambda text, d: d == f"reg:c:{coop.id}")
    await wait_until(lambda: _has_button(client, user, f"reg:p:{coop.id}:bendahara"), what="position buttons")
    await client.press(user, ask["message_id"], f"reg:p:{coop.id}:bendahara")


async def _press_when_listed(client: SandboxClient, user: int, message_id: int, wanted) -> None:
    """Press the wanted button of the edited message, turning pages with ▶️ until it shows."""
    seen: set[tuple] = set()
    while True:
        async def shown():
            msg = next(m for m in await client.messages(user) if m["message_id"] == message_id)
            state = tuple(buttons(msg))
            useful = any(wanted(text, d) or text == "▶️" for text, d in state)
            return state if useful and state not in seen else None

        state = await wait_until(shown, what="the next list of buttons")
        seen.add(state)
        hit = [d for text, d in state if wanted(text, d)]
        if hit:
            await client.press(user, message_id, hit[0])
            return
        forward = [d for text, d in state if text == "▶️"]
        await client.press(user, message_id, forward[0])


async def _has_button(client: SandboxClient, user: int, data: str) -> bool:
    return any(d == data for m in await client.messages(user) for _, d in buttons(m))


async def _kecamatan_of(db: Database, coop: Cooperative) -> str:
    from storage.repositories.coop_browse import kecamatan_name

    async with db.session() as session:
        return await kecamatan_name(session, coop.kecamatan_id)


@pytest.mark.parametrize("verdict", ["ok", "no"])
async def test_approval_request_setujui_and_tolak(
    verdict: str, bot: BotProcess, client: SandboxClient, db: Database, seeded: list[Cooperative]
) -> None:
    """/daftar without a code: the officers' chat gets Setujui/Tolak; the applicant is told."""
    coop = seeded[1]
    await client.register_chat(OFFICERS_CHAT, type="supergroup", title="Petugas Koperasi")
    await _apply_without_code(client, APPLICANT, coop, await _kecamatan_of(db, coop))

    [request] = await client.wait_for_messages(OFFICERS_CHAT, count=1)
    assert coop.name in request["text"] and str(APPLICANT) in request["text"]
    data = dict((d.split(":")[1], d) for _, d in buttons(request))
    # A guest cannot decide, whatever button data he sends.
    await client.press(APPLICANT, request["message_id"], data["ok"], chat_id=OFFICERS_CHAT)
    await client.press(ADMIN_ID, request["message_id"], data[verdict], chat_id=OFFICERS_CHAT)

    applicant_messages = await client.wait_for_messages(APPLICANT, after_id=0, count=2, timeout=20)
    outcome = applicant_messages[-1]["text"]

    async def decided_in_db() -> bool:
        async with db.session() as session:
            status = (await session.execute(select(RegistrationRequest.status))).scalar_one()
        return str(status) != "pending"

    await wait_until(decided_in_db, what="the decision to commit")
    if verdict == "ok":
        assert outcome.startswith("✅")
        assert await links_of(db, APPLICANT) == [(coop.id, ManagerPosition.BENDAHARA)]
    else:
        assert outcome.startswith("Maaf")
        assert await links_of(db, APPLICANT) == []
    decided = (await client.messages(OFFICERS_CHAT))[0]
    assert "Disetujui" in decided["text"] if verdict == "ok" else "Ditolak" in decided["text"]
    assert buttons(decided) == []
    async with db.session() as session:
        statuses = (await session.execute(select(RegistrationRequest.status))).scalars().all()
        denied = (await session.execute(
            select(func.count()).where(AuditEntry.action == "access_denied", AuditEntry.actor_telegram_id == APPLICANT)
        )).scalar_one()
    assert [str(s) for s in statuses] == ["approved" if verdict == "ok" else "rejected"]
    assert denied == 1


async def test_five_wrong_codes_lock_out(
    bot: BotProcess, client: SandboxClient, db: Database, seeded: list[Cooperative]
) -> None:
    """Five wrong codes in an hour lock the user out, even for a right code."""
    good = await invite_code(client, seeded[0].registration_number)
    last = 0
    for attempt in range(5):
        await client.send_text(MANAGER, "/start ZZZZ2222")
        [answer] = await client.wait_for_messages(MANAGER, after_id=last, count=1)
        last = answer["message_id"]
        if attempt < 4:
            assert answer["text"] == t("id", "register.wrong_code", left=4 - attempt)
        else:
            assert answer["text"].startswith("Terlalu banyak kode salah")
    await client.send_text(MANAGER, f"/start {good}")
    [locked] = await client.wait_for_messages(MANAGER, after_id=last, count=1)
    assert locked["text"].startswith("Terlalu banyak kode salah")
    assert await links_of(db, MANAGER) == []


async def test_forged_callback_for_another_cooperative_is_refused(
    bot: BotProcess, client: SandboxClient, db: Database, seeded: list[Cooperative]
) -> None:
    """A manager who forges a position button for a cooperative he does not manage changes nothing."""
    mine, other = seeded
    code = await invite_code(client, mine.registration_number)
    await client.send_text(MANAGER, f"/start {code}")
    _, question = await client.wait_for_messages(MANAGER, count=2)
    forged = await client.press(MANAGER, question["message_id"], f"pos:{other.id}:ketua")
    answer = await client.callback_answer(forged["id"])
    assert answer["text"] == t("id", "access.stale_button")
    assert await links_of(db, MANAGER) == [(mine.id, ManagerPosition.LAINNYA)]
    # And an officer-only button from a manager: refused with the officers-only text.
    forged = await client.press(MANAGER, question["message_id"], f"kop:{other.id}")
    answer = await client.callback_answer(forged["id"])
    assert answer["text"] == t("id", "access.officer_only")
