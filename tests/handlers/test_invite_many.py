"""/undang with several registration numbers: one invite per cooperative, one reply."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from bot import clock
from bot.i18n import t
from bot.runtime import Runtime
from bot.textsplit import TELEGRAM_TEXT_LIMIT
from storage.models import (
    AuditEntry,
    Cooperative,
    CoopForm,
    CoopType,
    Invite,
    Kecamatan,
    OfficerRole,
)
from storage.repositories import registry
from tests.conftest import ADMIN_ID
from tests.support.harness import fetch, running_bot
from tests.support.updates import message_update

SCOPED = 4401
NOW = datetime(2027, 3, 1, 2, 30, tzinfo=UTC)  # 10.30 WITA
LINE = re.compile(r"<code>([A-Z0-9]{8})</code> https://t\.me/kopdesk_bot\?start=\1$")


@pytest.fixture
def clock_start() -> datetime:
    return NOW


@pytest.fixture
async def coops(runtime: Runtime, manual_clock: clock.ManualClock) -> dict[str, Cooperative]:
    """Three cooperatives in Amarasi, one in Sulamu; an officer scoped to Amarasi."""
    async with runtime.db.session() as session:
        home, away = Kecamatan(name="Amarasi"), Kecamatan(name="Sulamu")
        session.add_all([home, away])
        await session.flush()
        rows = {
            number: Cooperative(registration_number=number, name=f"Koperasi {number} <Jaya> & Co",
                                form=CoopForm.PRIMER, type=CoopType.SIMPAN_PINJAM,
                                kecamatan_id=(away if number == "77/BH/2001" else home).id,
                                incorporated_on=date(2010, 1, 1))
            for number in ("10/BH/1996", "12/BH/1998", "DEMO-5301-0003", "77/BH/2001")
        }
        session.add_all([*rows.values(), Cooperative(
            registration_number="5/BH/1990", name="KSP Sumber Rejeki", form=CoopForm.PRIMER,
            type=CoopType.SIMPAN_PINJAM, kecamatan_id=home.id)])
        await registry.add_officer(session, telegram_id=SCOPED, name="Scoped", role=OfficerRole.OFFICER,
                                   kecamatan_ids=[home.id])
    return rows


async def _invites(runtime: Runtime) -> dict[str, Invite]:
    return {i.code: i for i in await fetch(runtime.db, Invite)}


async def test_a_list_gives_one_invite_per_cooperative_in_one_reply(
    runtime: Runtime, coops: dict[str, Cooperative]
) -> None:
    """Spaces, commas and new lines separate; case does not matter; repeats count once."""
    async with running_bot(runtime) as bot:
        before = len(bot.request.texts(ADMIN_ID))
        await bot.feed(message_update(
            bot.app.bot, ADMIN_ID, "/undang 10/BH/1996, 12/BH/1998\ndemo-5301-0003 77/BH/2001,10/bh/1996"))
        replies = bot.request.texts(ADMIN_ID)[before:]
    assert len(replies) == 1
    lines = replies[0].splitlines()
    assert lines[0] == t("id", "invite_many.header", count=4, expires="Senin, 15 Maret 2027 pukul 10.30 WITA")
    stored = await _invites(runtime)
    by_id = {c.id: c for c in await fetch(runtime.db, Cooperative)}
    items = lines[1:5]
    for number, line in zip(["10/BH/1996", "12/BH/1998", "DEMO-5301-0003", "77/BH/2001"], items, strict=True):
        code = LINE.search(line).group(1)
        invite = stored[code]
        assert by_id[invite.cooperative_id].registration_number == number
        assert f"<b>Koperasi {number} &lt;Jaya&gt; &amp; Co</b>" in line  # names escaped for HTML
        assert invite.used_at is None and invite.created_by == ADMIN_ID
        assert invite.expires_at == NOW + timedelta(days=14)
    assert len(stored) == 4
    assert lines[-1] == t("id", "invite_many.footer")


async def test_scoped_officer_gets_a_line_for_each_number_he_cannot_invite(
    runtime: Runtime, coops: dict[str, Cooperative]
) -> None:
    """Not found and outside his kecamatan: said per number, audited, no invite for them."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, SCOPED, "/undang 77/BH/2001 NOPE/1 10/BH/1996"))
        [reply] = bot.request.texts(SCOPED)
    lines = reply.splitlines()
    assert lines[1] == t("id", "invite_many.out_of_scope", number="77/BH/2001")
    assert lines[2] == t("id", "invite_many.not_found", number="NOPE/1")
    code = LINE.search(lines[3]).group(1)
    stored = await _invites(runtime)
    assert list(stored) == [code] and stored[code].cooperative_id == coops["10/BH/1996"].id
    denials = await fetch(runtime.db, AuditEntry, AuditEntry.action == "access_denied")
    assert [(d.actor_telegram_id, d.subject_id) for d in denials] == [(SCOPED, str(coops["77/BH/2001"].id))]


async def test_a_list_with_no_invite_says_so(runtime: Runtime, coops: dict[str, Cooperative]) -> None:
    """Only numbers he cannot invite: no header promising codes, no footer, nothing stored."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, SCOPED, "/undang 77/BH/2001 <b>x</b>"))
        [reply] = bot.request.texts(SCOPED)
    assert reply.splitlines() == [
        t("id", "invite_many.none"),
        t("id", "invite_many.out_of_scope", number="77/BH/2001"),
        t("id", "invite_many.not_found", number="&lt;b&gt;x&lt;/b&gt;"),
    ]
    assert await _invites(runtime) == {}


async def test_a_name_or_a_single_number_gets_the_single_answer(
    runtime: Runtime, coops: dict[str, Cooperative]
) -> None:
    """Words none of which is a registration number are a name, searched as before."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/undang Sumber Rejeki"))
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/undang 12/BH/1998"))
        by_name, by_number = bot.request.texts(ADMIN_ID)
    assert by_name.startswith("🔑 Kode undangan untuk <b>KSP Sumber Rejeki</b>")
    assert by_number.startswith("🔑 Kode undangan untuk <b>Koperasi 12/BH/1998 &lt;Jaya&gt; &amp; Co</b>")
    assert len(await _invites(runtime)) == 2


async def test_a_long_list_is_split_under_telegrams_limit(runtime: Runtime, manual_clock: clock.ManualClock) -> None:
    """70 cooperatives with long names: several messages, each within 4,096 characters, all codes."""
    async with runtime.db.session() as session:
        kecamatan = Kecamatan(name="Kupang Timur")
        session.add(kecamatan)
        await session.flush()
        session.add_all([
            Cooperative(registration_number=f"{n}/BH/XII/2004", name=f"Koperasi Serba Usaha Nomor {n} " + "x" * 60,
                        form=CoopForm.PRIMER, type=CoopType.JASA, kecamatan_id=kecamatan.id)
            for n in range(70)
        ])
    text = "/undang " + "\n".join(f"{n}/BH/XII/2004" for n in range(70))
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, text))
        replies = bot.request.texts(ADMIN_ID)
    assert len(replies) >= 2 and all(len(r) <= TELEGRAM_TEXT_LIMIT for r in replies)
    codes = [m.group(1) for r in replies for line in r.splitlines() if (m := LINE.search(line))]
    stored = await _invites(runtime)
    assert len(codes) == 70 and set(codes) == set(stored)
    numbers = {c.id: c.registration_number for c in await fetch(runtime.db, Cooperative)}
    assert [numbers[stored[c].cooperative_id] for c in codes] == [f"{n}/BH/XII/2004" for n in range(70)]


async def test_more_than_the_maximum_is_cut_and_said(runtime: Runtime, manual_clock: clock.ManualClock) -> None:
    """Past 100 numbers the rest is not processed, and the reply says how many were left."""
    async with runtime.db.session() as session:
        kecamatan = Kecamatan(name="Takari")
        session.add(kecamatan)
        await session.flush()
        session.add(Cooperative(registration_number="1/BH", name="Koperasi Satu", form=CoopForm.PRIMER,
                                type=CoopType.KONSUMEN, kecamatan_id=kecamatan.id))
    text = "/undang 1/BH " + " ".join(f"X{n}" for n in range(104))
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, text))
        replies = bot.request.texts(ADMIN_ID)
    joined = "\n".join(replies)
    assert t("id", "invite_many.too_many", max=100, dropped=5) in joined
    not_found = [t("id", "invite_many.not_found", number=f"X{n}") for n in range(104)]
    assert [line for line in joined.splitlines() if line in not_found] == not_found[:99]
    assert len(await _invites(runtime)) == 1
