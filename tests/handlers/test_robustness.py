"""Hostile or careless input: answered, never a crash (SPEC 10)."""

from __future__ import annotations

from bot.i18n import t
from bot.runtime import Runtime
from tests.conftest import ADMIN_ID
from tests.support.harness import running_bot
from tests.support.updates import callback_update, message_update

GUEST = 7700


async def test_overlong_text_is_not_echoed_past_telegrams_limit(runtime: Runtime) -> None:
    """A 4,096-character 'cooperative name' gets the not-found answer, shortened, not an error."""
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, GUEST, "/daftar"))
        await bot.feed(callback_update(bot.app.bot, GUEST, "reg:nocode"))
        await bot.feed(message_update(bot.app.bot, GUEST, "x" * 4096))
        await bot.feed(message_update(bot.app.bot, ADMIN_ID, "/koperasi " + "y" * 4000))
        last_guest, last_admin = bot.request.texts(GUEST)[-1], bot.request.texts(ADMIN_ID)[-1]
    assert last_guest.startswith("Tidak ada koperasi yang cocok") and len(last_guest) < 400
    assert last_admin.startswith("Tidak ada koperasi yang cocok") and len(last_admin) < 400
    assert t("id", "error.apology") not in (last_guest, last_admin)


async def test_forged_huge_ids_in_buttons_are_stale_not_errors(runtime: Runtime) -> None:
    """Button data with numbers beyond any id is refused as stale; nothing raises."""
    forged = ["apr:ok:99999999999999999999", "reg:k:1:9999999999999999999", "kop:123456789012345678",
              "rp:resume:99999999999999999999", "pos:99999999999999999999:ketua"]
    async with running_bot(runtime) as bot:
        for data in forged:
            await bot.feed(callback_update(bot.app.bot, ADMIN_ID, data))
        answers = [c.params.get("text") for c in bot.request.calls if c.method == "answerCallbackQuery"]
        texts = bot.request.texts(ADMIN_ID)
    assert answers == [t("id", "access.stale_button")] * len(forged)
    assert t("id", "error.apology") not in texts
