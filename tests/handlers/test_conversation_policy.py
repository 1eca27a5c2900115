"""Conversations capture only what is meant for them: menu buttons do what they say, stale
buttons change nothing, edits are not new messages (only the latest report answer may be
corrected by one), and /laporan answers every step (SPEC 4, 10)."""

from __future__ import annotations

import itertools
import time
from datetime import date
from typing import Any

from telegram import Update

from bot.i18n import t
from bot.runtime import Runtime
from bot.services.annual_report import FIELDS
from bot.services.coop_status import last_closed_fiscal_year
from storage.models import (
    Cooperative, CoopForm, CoopStatus, CoopType, InviteFailure, Kecamatan, ManagerPosition, ReportDraft,
)
from storage.repositories import people, registry
from storage.types import utcnow
from tests.support.harness import RunningBot, fetch, running_bot
from tests.support.updates import callback_update, message_update

MANAGER = 6300
GUEST = 6301
YEAR = last_closed_fiscal_year(utcnow().date())
TOTAL = len(FIELDS)
_edit_ids = itertools.count(70_000)


async def _manager(runtime: Runtime) -> None:
    async with runtime.db.session() as session:
        kec = Kecamatan(name="Nekamese")
        session.add(kec)
        await session.flush()
        coop = Cooperative(registration_number="BH-31/2015", name="KUD Nekamese", form=CoopForm.PRIMER,
                           type=CoopType.PRODUSEN, kecamatan_id=kec.id, status=CoopStatus.AKTIF)
        session.add(coop)
        await session.flush()
        person = await people.seen(session, telegram_id=MANAGER, first_name="Marta", last_name=None,
                                   username=None, telegram_language="id")
        await registry.link_manager(session, person_id=person.id, cooperative_id=coop.id,
                                    position=ManagerPosition.KETUA)


def _edited(bot: RunningBot, original: Update, text: str) -> Update:
    """Telegram's edited_message update for one of the user's earlier messages."""
    message = original.message.to_dict()
    message.update(text=text, edit_date=int(time.time()))
    message.pop("entities", None)
    return Update.de_json({"update_id": next(_edit_ids), "edited_message": message}, bot.app.bot)


def _last_sent(bot: RunningBot, chat_id: int) -> dict[str, Any]:
    return [r for r in bot.request.results("sendMessage") if r["chat"]["id"] == chat_id][-1]


def _buttons(message: dict[str, Any]) -> list[str]:
    return [b["callback_data"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def _draft(runtime: Runtime) -> ReportDraft:
    (draft,) = await fetch(runtime.db, ReportDraft)
    return draft


async def _open_report(bot: RunningBot) -> dict[str, Any]:
    """/laporan, then the last closed year: returns the year picker message."""
    await bot.feed(message_update(bot.app.bot, MANAGER, "/laporan"))
    picker = _last_sent(bot, MANAGER)
    await bot.feed(callback_update(bot.app.bot, MANAGER, f"{_buttons(picker)[0]}", message_id=picker["message_id"]))
    return picker


async def test_menu_buttons_at_the_invite_code_prompt_do_what_they_say(runtime: Runtime) -> None:
    """At /daftar's code prompt, ℹ️ Bantuan shows help and 🌐 Bahasa asks the language: no code tried."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, GUEST, "/daftar"))
        await bot.feed(message_update(bot.app.bot, GUEST, t("id", "menu.help")))
        assert bot.request.texts(GUEST)[-1].startswith(t("id", "help.header"))
        await bot.feed(message_update(bot.app.bot, GUEST, t("id", "menu.language")))
        assert bot.request.texts(GUEST)[-1] == t("id", "lang.prompt")
        await bot.feed(message_update(bot.app.bot, GUEST, "English"))
        assert bot.request.texts(GUEST)[-1] == t("en", "lang.set")
        # The registration was left when the menu was used: a code-like line is no attempt now.
        await bot.feed(message_update(bot.app.bot, GUEST, "ABCD2345"))
        assert bot.request.texts(GUEST)[-1] == t("en", "unknown.text")
    assert await fetch(runtime.db, InviteFailure) == []


async def test_menu_button_inside_the_report_is_not_an_answer(runtime: Runtime) -> None:
    """👤 Profil at a yes/no question shows the profile and ends the report; the draft stays as it was."""
    await _manager(runtime)
    async with running_bot(runtime) as bot:
        await _open_report(bot)
        assert "(1/" in bot.request.texts(MANAGER)[-1]
        await bot.feed(message_update(bot.app.bot, MANAGER, t("id", "menu.profile")))
        after = bot.request.texts(MANAGER)
        assert t("id", "parse.yes_no") not in after[-1]
        assert any("KUD Nekamese" in text for text in after[-2:])
        await bot.feed(message_update(bot.app.bot, MANAGER, "ya"))
        assert bot.request.texts(MANAGER)[-1] == t("id", "unknown.text")
    draft = await _draft(runtime)
    assert draft.answers == {} and draft.current_field == FIELDS[0].name


async def test_stale_year_button_opens_no_second_draft(runtime: Runtime) -> None:
    """A year button pressed again while a draft is open: stale, no new draft, nothing asked."""
    await _manager(runtime)
    async with running_bot(runtime) as bot:
        picker = await _open_report(bot)
        sent_before = len(bot.request.texts(MANAGER))
        await bot.feed(callback_update(bot.app.bot, MANAGER, _buttons(picker)[1], message_id=picker["message_id"]))
        answers = [c.get("text") for c in bot.calls("answerCallbackQuery")]
        assert answers[-1] == t("id", "access.stale_button")
        assert len(bot.request.texts(MANAGER)) == sent_before
    draft = await _draft(runtime)
    assert draft.fiscal_year == YEAR


async def test_button_of_an_older_question_is_stale(runtime: Runtime) -> None:
    """Ya on the first question's message, pressed again after moving on, answers nothing."""
    await _manager(runtime)
    async with running_bot(runtime) as bot:
        await _open_report(bot)
        first = _last_sent(bot, MANAGER)
        yes = next(d for d in _buttons(first) if d.startswith("rp:yn:") and d.endswith(":1"))
        await bot.feed(callback_update(bot.app.bot, MANAGER, yes, message_id=first["message_id"]))
        assert (await _draft(runtime)).current_field == "rat_date"
        await bot.feed(message_update(bot.app.bot, MANAGER, f"15/03/{YEAR + 1}"))
        assert (await _draft(runtime)).current_field == "members_men"
        await bot.feed(message_update(bot.app.bot, MANAGER, "/lewati"))  # not optional: asked again
        before = await _draft(runtime)
        await bot.feed(callback_update(bot.app.bot, MANAGER, yes, message_id=first["message_id"]))
        answers = [c.get("text") for c in bot.calls("answerCallbackQuery")]
    assert answers[-1] == t("id", "access.stale_button")
    after = await _draft(runtime)
    assert (after.answers, after.current_field) == (before.answers, before.current_field)


async def test_edit_of_the_latest_answer_corrects_it(runtime: Runtime) -> None:
    """Editing the message of the latest typed answer corrects it; older and rejected ones do not."""
    await _manager(runtime)
    async with running_bot(runtime) as bot:
        await _open_report(bot)
        typed_yes = message_update(bot.app.bot, MANAGER, "ya")
        await bot.feed(typed_yes)
        rejected = message_update(bot.app.bot, MANAGER, "halo")
        await bot.feed(rejected)
        rat_date = message_update(bot.app.bot, MANAGER, f"15/03/{YEAR + 1}")
        await bot.feed(rat_date)
        assert (await _draft(runtime)).current_field == "members_men"
        sent = len(bot.request.texts(MANAGER))

        # An older answer, and a line that was no answer at all: logged, ignored, no reply.
        await bot.feed(_edited(bot, typed_yes, "tidak"))
        await bot.feed(_edited(bot, rejected, f"20/03/{YEAR + 1}"))
        assert len(bot.request.texts(MANAGER)) == sent
        draft = await _draft(runtime)
        assert draft.answers["rat_held"] is True and draft.answers["rat_date"] == f"{YEAR + 1}-03-15"

        await bot.feed(_edited(bot, rat_date, f"16/03/{YEAR + 1}"))
        replies = bot.request.texts(MANAGER)[sent:]
    assert replies[0].startswith(t("id", "report_flow.edit_applied", field=t("id", "report.field.rat_date"), value="")[:20])
    assert "16 Maret" in replies[0]
    assert replies[1].startswith(f"(3/{TOTAL})")  # the current question again
    draft = await _draft(runtime)
    assert draft.answers["rat_date"] == date(YEAR + 1, 3, 16).isoformat()
    assert draft.current_field == "members_men"


async def test_edits_outside_the_report_are_ignored(runtime: Runtime) -> None:
    """An edited /profil does not run the command again; an edit at the code prompt is no attempt."""
    await _manager(runtime)
    async with running_bot(runtime) as bot:
        profile = message_update(bot.app.bot, MANAGER, "/profil")
        await bot.feed(profile)
        sent = len(bot.request.texts(MANAGER))
        await bot.feed(_edited(bot, profile, "/profile"))
        assert len(bot.request.texts(MANAGER)) == sent

        await bot.feed(message_update(bot.app.bot, GUEST, "/daftar"))
        hello = message_update(bot.app.bot, GUEST, "halo")
        await bot.feed(hello)
        guest_sent = len(bot.request.texts(GUEST))
        await bot.feed(_edited(bot, hello, "ABCD2345"))
        assert len(bot.request.texts(GUEST)) == guest_sent
    assert len(await fetch(runtime.db, InviteFailure)) == 1  # "halo" only


async def test_skip_or_text_before_a_draft_is_answered(runtime: Runtime) -> None:
    """/lewati or text while choosing the year: told to choose first, and the choice comes again."""
    await _manager(runtime)
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, MANAGER, "/laporan"))
        for line in ("/lewati", "/skip", "2024 saja"):
            before = len(bot.request.texts(MANAGER))
            await bot.feed(message_update(bot.app.bot, MANAGER, line))
            replies = bot.request.texts(MANAGER)[before:]
            assert replies == [t("id", "report_flow.pick_first"), t("id", "report.pick_year")], line
        picker = _last_sent(bot, MANAGER)
        await bot.feed(callback_update(bot.app.bot, MANAGER, _buttons(picker)[0], message_id=picker["message_id"]))
        assert bot.request.texts(MANAGER)[-1].startswith(f"(1/{TOTAL})")


async def test_counter_total_stays_and_empty_draft_just_continues(runtime: Runtime) -> None:
    """(1/17) then (2/17): the total does not change; /laporan on an empty draft asks, no resume question."""
    await _manager(runtime)
    async with running_bot(runtime) as bot:
        await _open_report(bot)
        assert bot.request.texts(MANAGER)[-1].startswith(f"(1/{TOTAL})")
        await bot.feed(message_update(bot.app.bot, MANAGER, "/batal"))
        await bot.feed(message_update(bot.app.bot, MANAGER, "/laporan"))
        assert bot.request.texts(MANAGER)[-1].startswith(f"(1/{TOTAL})")
        await bot.feed(message_update(bot.app.bot, MANAGER, "ya"))
        assert bot.request.texts(MANAGER)[-1].startswith(f"(2/{TOTAL})")
        await bot.feed(message_update(bot.app.bot, MANAGER, f"15/03/{YEAR + 1}"))
        assert bot.request.texts(MANAGER)[-1].startswith(f"(3/{TOTAL})")
