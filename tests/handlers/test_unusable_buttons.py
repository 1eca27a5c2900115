"""Buttons pressed on messages the bot cannot use: inline messages and inaccessible ones.

A callback query from an inline message has `inline_message_id` and no `message` (so no chat);
one from an inaccessible message (deleted or too old) has a message of date 0 that cannot be
edited. Every registered button pattern is pressed both ways by every role: each press is
answered once, nothing raises, and nothing changes.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from telegram.ext import CallbackQueryHandler

from bot.i18n import t
from bot.runtime import Runtime
from storage.models import AuditEntry, Invite
from tests.handlers import test_role_matrix as matrix
from tests.handlers.test_role_matrix import CALLBACKS, USERS, all_handlers
from tests.support.harness import RunningBot, running_bot
from tests.support.more_updates import inaccessible_callback_update, inline_callback_update
from tests.support.updates import callback_update, message_update

world = matrix.world  # the role matrix's two kecamatan, manager and officers
ADMIN = USERS["admin"]
GUEST = USERS["guest"]
STALE = {t(lang, "access.stale_button") for lang in ("id", "en")}
# /daftar's buttons (guests only, inside the conversation), beside the role matrix's samples.
REGISTRATION = ["reg:nocode", "reg:kp:0", "reg:k:1:0", "reg:c:{home}", "reg:p:{home}:ketua"]
SAMPLES = [sample for sample, _ in CALLBACKS.values()] + REGISTRATION


async def _errors(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return (await session.execute(
            select(func.count()).where(AuditEntry.action == "error"))).scalar_one()


async def _invites(runtime: Runtime) -> int:
    async with runtime.db.session() as session:
        return (await session.execute(select(func.count()).select_from(Invite))).scalar_one()


def _answers(bot: RunningBot, query_id: str) -> list[dict]:
    return [c.params for c in bot.request.calls
            if c.method == "answerCallbackQuery" and c.params["callback_query_id"] == query_id]


async def test_every_registered_pattern_has_a_sample(runtime: Runtime) -> None:
    """A new button pattern must be added to the samples pressed below."""
    async with running_bot(runtime) as bot:
        patterns = {h.pattern for h in all_handlers(bot.app)
                    if isinstance(h, CallbackQueryHandler) and h.pattern is not None}
    data = [s.format(home=1, away=2) for s in SAMPLES]
    assert [p.pattern for p in patterns if not any(p.match(d) for d in data)] == []


@pytest.mark.parametrize("who", list(USERS))
async def test_inline_message_buttons_are_answered_not_crashed(
    runtime: Runtime, world: dict[str, int], who: str
) -> None:
    """Every pattern pressed on an inline message: one answer, no message, no error, no write."""
    user = USERS[who]
    async with running_bot(runtime) as bot:
        for sample in SAMPLES:
            update = inline_callback_update(bot.app.bot, user, sample.format(**world))
            before = len(bot.request.calls)
            await bot.feed(update)
            answers = _answers(bot, update.callback_query.id)
            assert len(answers) == 1, f"{who}: {update.callback_query.data} answered {len(answers)} times"
            others = [c.method for c in bot.request.calls[before:] if c.method != "answerCallbackQuery"]
            assert others == [], f"{who}: {update.callback_query.data} led to {others}"
    assert await _errors(runtime) == 0
    assert await _invites(runtime) == 0


async def test_inline_invite_button_is_stale_for_an_officer(runtime: Runtime, world: dict[str, int]) -> None:
    """Crash 4: an officer's inv: press on an inline message is answered, no invite is made."""
    async with running_bot(runtime) as bot:
        update = inline_callback_update(bot.app.bot, ADMIN, f"inv:{world['home']}")
        await bot.feed(update)
        [answer] = _answers(bot, update.callback_query.id)
    assert answer["text"] in STALE and answer.get("show_alert") is True
    assert await _errors(runtime) == 0 and await _invites(runtime) == 0


@pytest.mark.parametrize("who", list(USERS))
async def test_inaccessible_message_buttons_are_answered_not_crashed(
    runtime: Runtime, world: dict[str, int], who: str
) -> None:
    """Every pattern pressed on an inaccessible message: exactly one answer and no error."""
    user = USERS[who]
    async with running_bot(runtime) as bot:
        for sample in SAMPLES:
            update = inaccessible_callback_update(bot.app.bot, user, sample.format(**world))
            await bot.feed(update)
            assert len(_answers(bot, update.callback_query.id)) == 1, f"{who}: {update.callback_query.data}"
            texts = bot.request.texts(user)
            assert t("id", "error.apology") not in texts
    assert await _errors(runtime) == 0


async def test_old_buttons_inside_a_conversation_keep_its_state(runtime: Runtime, world: dict[str, int]) -> None:
    """In /daftar, an inaccessible message's button is stale; the live buttons still work after it."""
    async with running_bot(runtime) as bot:
        app = bot.app.bot
        await bot.feed(message_update(app, GUEST, "/daftar"))
        await bot.feed(callback_update(app, GUEST, "reg:nocode"))  # → picking a cooperative
        for data in ("reg:kp:0", f"reg:c:{world['home']}"):
            stale = inaccessible_callback_update(app, GUEST, data)
            await bot.feed(stale)
            assert _answers(bot, stale.callback_query.id)[0]["text"] in STALE
        live = callback_update(app, GUEST, f"reg:c:{world['home']}")
        await bot.feed(live)
        edits = bot.calls("editMessageText")
    assert _answers(bot, live.callback_query.id)[0].get("text") is None
    assert edits and "Koperasi Amarasi Sejahtera" in edits[-1]["text"]  # the position question
    assert await _errors(runtime) == 0


async def test_officer_buttons_still_serve_inaccessible_messages(runtime: Runtime, world: dict[str, int]) -> None:
    """/undang's match buttons only send new messages, so an old one still gives the invite."""
    async with running_bot(runtime) as bot:
        update = inaccessible_callback_update(bot.app.bot, ADMIN, f"inv:{world['home']}")
        await bot.feed(update)
        [answer] = _answers(bot, update.callback_query.id)
        texts = bot.request.texts(ADMIN)
    assert answer.get("text") is None
    assert await _invites(runtime) == 1
    assert "Koperasi Amarasi Sejahtera" in texts[-1]
