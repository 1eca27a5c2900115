"""Meetings end to end: the real `kopdesk run` process, the sandbox, a kecamatan's managers, and
the process's clock moved through CLOCK_OFFSET_FILE (the scheduler ticks every 0.3 s)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.clock import write_offset
from bot.sandbox import SandboxClient
from storage.db import Database
from storage.models import Person
from storage.models_delivery import OutboxMessage, OutboxState
from storage.models_meetings import MeetingInvitation, MeetingReminder
from tests.e2e.conftest import BotProcess, wait_until
from tests.e2e.test_broadcast import AMARASI, ELSEWHERE, OFFICER, buttons, data_starting, managers  # noqa: F401

pytestmark = pytest.mark.e2e
WITA = ZoneInfo("Asia/Makassar")


@pytest.fixture
def offset_file(tmp_path: Path) -> Path:
    path = tmp_path / "clock-offset"
    write_offset(path, timedelta(0))
    return path


@pytest.fixture
def bot_env(bot_env: dict[str, str], offset_file: Path) -> dict[str, str]:
    """The usual environment, the movable clock and a short scheduler tick."""
    return {**bot_env, "CLOCK_OFFSET_FILE": str(offset_file), "REMINDER_TICK_SECONDS": "0.3"}


async def _last(client: SandboxClient, chat_id: int) -> dict:
    [message] = await client.wait_for_messages(chat_id, after_id=(await _top(client, chat_id)), count=1)
    return message


async def _top(client: SandboxClient, chat_id: int) -> int:
    found = await client.messages(chat_id)
    return found[-1]["message_id"] if found else 0


async def _say(client: SandboxClient, chat_id: int, text: str) -> dict:
    after = await _top(client, chat_id)
    await client.send_text(chat_id, text)
    [reply] = await client.wait_for_messages(chat_id, after_id=after, count=1, timeout=20)
    return reply


async def _texts(client: SandboxClient, chat_id: int) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in await client.messages(chat_id)]


async def _count(client: SandboxClient, chat_id: int, needle: str) -> int:
    return sum(needle in text for text in await _texts(client, chat_id))


async def _outbox_idle(db: Database) -> bool:
    async with db.session() as session:
        busy = (await session.execute(select(OutboxMessage.id).where(
            OutboxMessage.state.in_([OutboxState.PENDING, OutboxState.SENDING])).limit(1))).first()
    return busy is None


async def test_meeting_by_typing_rsvp_reminders_kill_edit_cancel(
    managers: None, bot: BotProcess, client: SandboxClient, db: Database, offset_file: Path  # noqa: F811
) -> None:
    starts = (datetime.now(UTC) + timedelta(days=10)).astimezone(WITA).replace(second=0, microsecond=0)
    await _say(client, OFFICER, "/rapat_baru")
    kinds = await _say(client, OFFICER, "Rakor Koperasi Amarasi")
    after = kinds["message_id"]
    [rakor] = [d for d in buttons(kinds).values() if d.startswith("mtg:k:") and d.endswith(":rakor")]
    await client.press(OFFICER, kinds["message_id"], rakor)
    [ask_when] = await client.wait_for_messages(OFFICER, after_id=after, count=1)
    assert "Kapan?" in ask_when["text"]
    # Bad input first: an impossible date and a past time, each refused with its reason.
    assert "tidak ada di kalender" in (await _say(client, OFFICER, "31/02/2031 09.00"))["text"]
    assert "sudah lewat" in (await _say(client, OFFICER, "1/1/2020 09.00"))["text"]
    ask_place = await _say(client, OFFICER, starts.strftime("%d/%m/%Y %H.%M"))
    assert "Di mana?" in ask_place["text"]
    await _say(client, OFFICER, "Aula Dinas Koperasi")
    menu = await _say(client, OFFICER, "/lewati")
    await client.press(OFFICER, menu["message_id"], data_starting(menu, "mtg:kp:"))

    async def listing() -> dict | None:
        now = next(m for m in await client.messages(OFFICER) if m["message_id"] == menu["message_id"])
        return now if "Amarasi" in buttons(now) else None

    shown = await wait_until(listing, what="the kecamatan list")
    after = await _top(client, OFFICER)
    await client.press(OFFICER, menu["message_id"], buttons(shown)["Amarasi"])
    [ask_offsets] = await client.wait_for_messages(OFFICER, after_id=after, count=1)
    assert "7 hari lagi, 1 hari lagi, 2 jam lagi" in ask_offsets["text"]
    assert "tidak terbaca" in (await _say(client, OFFICER, "kapan-kapan"))["text"]  # offsets that do not parse
    preview = await _say(client, OFFICER, "/lewati")
    assert "<b>4</b>" in preview.get("text", "") or "4 pengurus" in preview["text"]
    from bot.formatting import local_datetime
    assert local_datetime(starts, "id", WITA) in preview["text"]
    go = data_starting(preview, "mtg:go:")
    meeting_id = int(go.split(":")[2])
    await client.press(OFFICER, preview["message_id"], go)

    for telegram_id in AMARASI:
        [invite] = await client.wait_for_messages(telegram_id, count=1, timeout=30)
        assert invite["document"]["file_name"] == f"rapat-{meeting_id}.ics"
        assert "Undangan rapat" in invite["caption"]
        assert set(buttons(invite).values()) == {f"rsvp:{meeting_id}:{c}" for c in "htm"}
    assert await client.messages(ELSEWHERE) == []

    # RSVP: 9101 declines, 9102 says Hadir then changes to Mungkin.
    invites = {tid: (await client.messages(tid))[0] for tid in AMARASI}
    await client.press(AMARASI[0], invites[AMARASI[0]]["message_id"], f"rsvp:{meeting_id}:t")
    await client.press(AMARASI[1], invites[AMARASI[1]]["message_id"], f"rsvp:{meeting_id}:h")
    await client.press(AMARASI[1], invites[AMARASI[1]]["message_id"], f"rsvp:{meeting_id}:m")

    async def answers() -> dict[int, str | None] | None:
        async with db.session() as session:
            rows = (await session.execute(select(Person.telegram_id, MeetingInvitation.answer)
                                          .join(MeetingInvitation, MeetingInvitation.person_id == Person.id))).all()
        found = dict(rows)
        return found if found.get(AMARASI[0]) == "tidak" and found.get(AMARASI[1]) == "mungkin" else None

    await wait_until(answers, what="the answers stored")

    # The 7-day reminder: the clock moved 3 days and a minute on.
    base = starts.astimezone(UTC) - datetime.now(UTC)
    write_offset(offset_file, base - timedelta(days=7) + timedelta(minutes=1))
    for tid in AMARASI[1:]:
        await wait_until(lambda tid=tid: _count(client, tid, "7 hari lagi"), timeout=30, what="the 7-day reminder")
    await wait_until(lambda: _outbox_idle(db), what="the outbox to drain")
    assert await _count(client, AMARASI[0], "Pengingat") == 0  # Tidak hadir: silenced

    # kill -9 between two reminders; the 1-day one falls due while the bot is down.
    await bot.kill9()
    write_offset(offset_file, base - timedelta(days=1) + timedelta(minutes=1))
    await bot.start()
    for tid in AMARASI[1:]:
        await wait_until(lambda tid=tid: _count(client, tid, "1 hari lagi"), timeout=30, what="the 1-day reminder")
    await wait_until(lambda: _outbox_idle(db), what="the outbox to drain")
    for tid in AMARASI[1:]:
        assert await _count(client, tid, "7 hari lagi") == 1 and await _count(client, tid, "1 hari lagi") == 1

    # Edit: the officer moves the meeting a day later; invitees are told, the 2-hour reminder follows.
    listed = await _say(client, OFFICER, "/rapat")
    [card] = await client.wait_for_messages(OFFICER, after_id=listed["message_id"], count=1)
    assert "Hadir 0" in card["text"] and "Mungkin 1" in card["text"] and "Tidak 1" in card["text"]
    after = await _top(client, OFFICER)
    await client.press(OFFICER, card["message_id"], f"mtg:ew:{meeting_id}")
    await client.wait_for_messages(OFFICER, after_id=after, count=1)
    later = starts + timedelta(days=1)
    done = await _say(client, OFFICER, later.strftime("%d/%m/%Y %H.%M"))
    assert "diubah" in done["text"]
    for tid in AMARASI:
        await wait_until(lambda tid=tid: _count(client, tid, "Perubahan rapat"), timeout=30, what="the change notice")
    async with db.session() as session:
        due = (await session.execute(select(MeetingReminder.due_at).where(
            MeetingReminder.offset_seconds == 7200, MeetingReminder.state == "pending"))).scalars().all()
    assert due and all(d == later.astimezone(UTC) - timedelta(hours=2) for d in due)

    # Cancel: everyone told, the 2-hour reminder never comes, an RSVP now changes nothing.
    after = await _top(client, OFFICER)
    await client.press(OFFICER, card["message_id"], f"mtg:cx:{meeting_id}")
    [confirm] = await client.wait_for_messages(OFFICER, after_id=after, count=1)
    await client.press(OFFICER, confirm["message_id"], f"mtg:cxy:{meeting_id}")
    for tid in AMARASI:
        await wait_until(lambda tid=tid: _count(client, tid, "Rapat dibatalkan"), timeout=30, what="the cancel notice")
    await client.press(AMARASI[2], invites[AMARASI[2]]["message_id"], f"rsvp:{meeting_id}:h")
    write_offset(offset_file, (later.astimezone(UTC) - datetime.now(UTC)) - timedelta(hours=1))
    await wait_until(lambda: _outbox_idle(db), what="the outbox to drain")
    async with db.session() as session:
        states = (await session.execute(select(MeetingReminder.state).where(
            MeetingReminder.offset_seconds == 7200))).scalars().all()
        answer = (await session.execute(select(MeetingInvitation.answer).join(Person, Person.id == MeetingInvitation.person_id)
                                        .where(Person.telegram_id == AMARASI[2]))).scalar_one()
    assert set(states) == {"dropped"} and answer is None
    for tid in AMARASI:
        assert await _count(client, tid, "2 jam lagi") == 0
