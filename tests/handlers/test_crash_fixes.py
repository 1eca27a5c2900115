"""Regression tests for crashes and misfits found by testing from outside (issue 8).

Each test drives the real application (process_update, offline Bot API) the way the fuzzer or
a user did, and fails if the old behaviour comes back: an apology instead of an answer, an
`error` audit entry, a refusal meant for someone else, or the flood limit stopping an officer.
"""

from __future__ import annotations

from datetime import date

from hypothesis import Phase, find, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from telegram.ext import CallbackQueryHandler

from bot.i18n import t
from bot.runtime import Runtime
from bot.services import registration
from storage.models import (
    AuditEntry,
    Cooperative,
    CoopForm,
    CoopType,
    InboundUpdate,
    Invite,
    Kecamatan,
    ManagerPosition,
)
from storage.repositories import people, registry
from storage.types import utcnow
from tests.conftest import ADMIN_ID
from tests.handlers.test_role_matrix import all_handlers
from tests.support.harness import RunningBot, fetch, running_bot
from tests.support.updates import callback_update, message_update

OFFICER, MANAGER, GUEST = 8801, 8802, 8803
# Any data a pattern accepts will do: no shrinking to the simplest one, same example every run.
_ONE_EXAMPLE = settings(database=None, derandomize=True, phases=[Phase.generate], max_examples=100)
NOT_MODIFIED = (400, ("Bad Request: message is not modified: specified new message content and reply "
                      "markup are exactly the same as a current content and reply markup of the message"))


async def _world(runtime: Runtime) -> int:
    """A kecamatan, a cooperative with a manager, and an officer; returns the cooperative's id."""
    async with runtime.db.session() as session:
        kec = Kecamatan(name="Semau")
        session.add(kec)
        await session.flush()
        coop = Cooperative(registration_number="BH-88/2010", name="KSP Mutiara Semau", form=CoopForm.PRIMER,
                           type=CoopType.SIMPAN_PINJAM, kecamatan_id=kec.id, incorporated_on=date(2010, 1, 1))
        session.add(coop)
        await session.flush()
        manager = await people.seen(session, telegram_id=MANAGER, first_name="Maria", last_name=None,
                                    username=None, telegram_language="id")
        await registry.link_manager(session, person_id=manager.id, cooperative_id=coop.id,
                                    position=ManagerPosition.LAINNYA)
        await registry.add_officer(session, telegram_id=OFFICER, name="Petugas")
        return coop.id


async def _errors(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return (await session.execute(
            select(func.count()).where(AuditEntry.action == "error"))).scalar_one()


def _apologies(bot: RunningBot) -> list[str]:
    return [text for text in bot.request.texts() if text == t("id", "error.apology")]


async def test_a_search_of_only_symbols_finds_nothing(runtime: Runtime) -> None:
    """`{{` (normalised to nothing) is no match, not a ZeroDivisionError, in every search."""
    await _world(runtime)
    async with runtime.db.session() as session:
        for query in ("{{", "!!!", "— …", "??"):
            assert await registry.search_cooperatives(session, query) == []
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, OFFICER, "/koperasi {{"))
        await bot.feed(message_update(bot.app.bot, OFFICER, "/siaran"))
        await bot.feed(message_update(bot.app.bot, OFFICER, "Rapat anggota"))
        draft = bot.request.sent(OFFICER)[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await bot.feed(callback_update(bot.app.bot, OFFICER, f"sia:c:{draft.split(':')[2]}"))
        await bot.feed(message_update(bot.app.bot, OFFICER, "{{"))
        texts = bot.request.texts(OFFICER)
        assert t("id", "registry.no_match", query="{{") in texts
        assert texts[-1] == t("id", "siaran.coops_none", query="{{")
        assert _apologies(bot) == []
    assert await _errors(runtime) == 0


async def test_a_pasted_4096_characters_are_quoted_shortened(runtime: Runtime) -> None:
    """/siaran's cooperative search and an unknown command quote a huge paste shortened."""
    await _world(runtime)
    paste = "Koperasi " + "x" * 4087
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, OFFICER, "/siaran"))
        await bot.feed(message_update(bot.app.bot, OFFICER, "Rapat anggota"))
        draft = bot.request.sent(OFFICER)[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await bot.feed(callback_update(bot.app.bot, OFFICER, f"sia:c:{draft.split(':')[2]}"))
        await bot.feed(message_update(bot.app.bot, OFFICER, paste))
        searched = bot.request.texts(OFFICER)[-1]
        await bot.feed(message_update(bot.app.bot, GUEST, "/" + "y" * 4095))
        unknown = bot.request.texts(GUEST)[-1]
        assert _apologies(bot) == []
    assert searched.startswith(t("id", "siaran.coops_none", query="")[:20]) and len(searched) < 400
    assert unknown.startswith("Perintah /yyy") and len(unknown) < 400
    assert await _errors(runtime) == 0


async def test_no_button_pattern_accepts_data_with_a_trailing_newline(runtime: Runtime) -> None:
    """Every registered button pattern matches its data whole: data + "\\n" matches none of them."""
    async with running_bot(runtime) as bot:
        buttons = [h for h in all_handlers(bot.app) if isinstance(h, CallbackQueryHandler) and h.pattern]
        assert len(buttons) > 10
        for handler in buttons:
            source = handler.pattern.pattern
            data = find(st.from_regex(source, fullmatch=True), lambda s: "\n" not in s and "\r" not in s,
                        settings=_ONE_EXAMPLE)
            assert handler.check_update(callback_update(bot.app.bot, 1, data)), (source, data)
            for forged in (data + "\n", data + "\r\n", data + "\n" + data):
                assert not handler.check_update(callback_update(bot.app.bot, 1, forged)), (source, forged)


async def test_forged_audience_with_a_newline_is_a_stale_button(runtime: Runtime) -> None:
    """"sia:s:<draft>:aktif\\n" (the fuzzer's KeyError 'AKTIF\\n') is answered as stale; nothing raises."""
    await _world(runtime)
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, OFFICER, "/siaran"))
        await bot.feed(message_update(bot.app.bot, OFFICER, "Rapat anggota"))
        draft = bot.request.sent(OFFICER)[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        await bot.feed(callback_update(bot.app.bot, OFFICER, f"sia:s:{draft.split(':')[2]}:aktif\n"))
        answers = [c.params for c in bot.request.calls if c.method == "answerCallbackQuery"]
        assert answers[-1]["text"] == t("id", "access.stale_button")
        assert _apologies(bot) == []
    assert await _errors(runtime) == 0


async def test_second_tap_on_the_language_button_is_no_error(runtime: Runtime) -> None:
    """The same language button twice: the second edit changes nothing, which is not an error."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, GUEST, "/bahasa"))
        await bot.feed(callback_update(bot.app.bot, GUEST, "lang:en"))
        bot.request.fail_with["editMessageReplyMarkup"] = NOT_MODIFIED  # the keyboard is gone already
        await bot.feed(callback_update(bot.app.bot, GUEST, "lang:en"))
        texts = bot.request.texts(GUEST)
        assert texts[-2:] == [t("en", "lang.set")] * 2
        assert _apologies(bot) == [] and [c for c in bot.request.calls if c.method == "editMessageReplyMarkup"]
    assert await _errors(runtime) == 0


async def test_second_tap_on_a_position_button_is_no_error(runtime: Runtime) -> None:
    """/profil's position button twice: saved, confirmed both times, no apology."""
    coop_id = await _world(runtime)
    async with running_bot(runtime) as bot:
        await bot.feed(callback_update(bot.app.bot, MANAGER, f"pos:{coop_id}:ketua"))
        bot.request.fail_with["editMessageReplyMarkup"] = NOT_MODIFIED
        await bot.feed(callback_update(bot.app.bot, MANAGER, f"pos:{coop_id}:ketua"))
        answers = [c.params.get("text") for c in bot.request.calls if c.method == "answerCallbackQuery"]
        saved = t("id", "profile.position_saved", position=t("id", "position.ketua"))
        assert answers == [saved, saved]
        assert _apologies(bot) == []
    assert await _errors(runtime) == 0


async def test_officers_are_not_flood_limited_but_managers_are(runtime: Runtime) -> None:
    """An officer's 40 invitations in a minute are all answered; a manager's 25 messages are not."""
    await _world(runtime)
    limit = runtime.settings.flood_limit_per_minute
    assert limit < 40
    async with running_bot(runtime) as bot:
        for _ in range(40):
            await bot.feed(message_update(bot.app.bot, OFFICER, "/undang BH-88/2010"))
        for _ in range(limit + 5):
            await bot.feed(message_update(bot.app.bot, MANAGER, "/bantuan"))
        officer, manager = bot.request.texts(OFFICER), bot.request.texts(MANAGER)
    assert len(officer) == 40 and t("id", "flood.warning") not in officer
    assert len(await fetch(runtime.db, Invite)) == 40
    assert manager.count(t("id", "flood.warning")) == 1 and len(manager) == limit + 1
    throttled = await fetch(runtime.db, InboundUpdate, InboundUpdate.throttled.is_(True))
    assert {u.user_id for u in throttled} == {MANAGER}


async def test_officer_opening_an_invite_link_is_told_to_pass_it_on(runtime: Runtime) -> None:
    """An officer or admin who opens /start CODE gets a fitting answer; the code stays valid."""
    coop_id = await _world(runtime)
    async with runtime.db.session() as session:
        coop = await registry.get_cooperative(session, coop_id)
        invite = await registration.create_invite(session, cooperative=coop, officer_telegram_id=OFFICER,
                                                  now=utcnow())
        code = invite.code
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, OFFICER, f"/start {code}"))
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, f"/start {code}", language_code="en"))
        assert bot.request.texts(OFFICER) == [t("id", "invite_link.for_staff")]
        assert bot.request.texts(ADMIN_ID) == [t("en", "invite_link.for_staff")]
        (unused,) = await fetch(runtime.db, Invite)
        assert unused.used_at is None
        await bot.feed(message_update(bot.app.bot, GUEST, f"/start {code}"))
        assert bot.request.texts(GUEST)[0].startswith("✅")
