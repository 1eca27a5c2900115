"""Everything sent as HTML is valid for Telegram, whatever the users and the registry hold.

Catalogue texts are trusted HTML templates and every value is escaped at one boundary
(`bot.i18n.html`). The first test renders every text of both catalogues with hostile values for
each placeholder; the second drives each card and summary the bot builds (cooperative card,
invite, /status usage, officers' list, profile, broadcast preview, registration request and its
verdict, report summary and the officers' notice) over a registry full of markup-like names.
Each text must parse under Telegram's HTML subset and show the hostile value as typed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from telegram import Update

from bot.i18n import LANGUAGES, catalogue, html, placeholders, t
from bot.runtime import Runtime
from bot.services.annual_report import encode_answer
from storage.models import (
    AnnualReportRecord,
    AuditEntry,
    Cooperative,
    CoopForm,
    CoopType,
    Kecamatan,
    ManagerPosition,
    ReportDraft,
)
from storage.models_delivery import OutboxPayload
from storage.repositories import people, registry
from tests.conftest import ADMIN_ID
from tests.support.harness import RunningBot, fetch, running_bot
from tests.support.telegram_text import html_text, refusal
from tests.support.updates import callback_update, message_update

HOSTILE = ["<b>", "&", "<script>alert(1)</script>", "</i>", "a < b > c", "&amp;", '"quoted" \'x\'',
           "<a href='x'>", "{braces}", "<alasan>"]

MANAGER, GUEST = 6601, 6602
KECAMATAN = 'Kupang <Timur> & "Co"'
COOP = {"registration_number": "BH-<1>&2", "name": "KSP <b>Maju</b> & \"Jaya\" </i>",
        "sector": "<script>alert(1)</script>", "desa": "</i>&amp;", "status_reason": "Tutup <alasan> & lain"}
PERSON_NAME = "<b>Budi & </i>"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("value", HOSTILE)
def test_every_catalogue_text_is_valid_html_with_any_value(lang: str, value: str) -> None:
    """Each text, its placeholders filled with `value`, parses and shows `value` as typed."""
    for key, template in catalogue(lang).items():
        names = placeholders(template)
        rendered = html(lang, key, **{name: value for name in names})
        plain = html_text(rendered)
        if names:
            assert value in plain, f"{lang} {key}: {value!r} not shown as typed in {plain!r}"


def test_markup_of_the_catalogue_survives_and_literal_brackets_show() -> None:
    """Bold stays bold (an entity), and the /status usage shows its <alasan> as text."""
    assert html_text(html("id", "status_cmd.usage")).endswith("<alasan>")
    rendered = html("id", "approval.request", who="<b>x</b>", coop="&", position="ketua")
    assert rendered.startswith("🆕 <b>") and "&lt;b&gt;x&lt;/b&gt;" in rendered


def _with_name(update: Update, first_name: str) -> Update:
    """The same update, from a user called `first_name`."""
    raw = update.to_dict()
    body = raw.get("message") or raw["callback_query"]
    body["from"]["first_name"] = first_name
    return Update.de_json(raw, update.get_bot())


async def _hostile_world(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.session() as session:
        kec = Kecamatan(name=KECAMATAN)
        session.add(kec)
        await session.flush()
        coop = Cooperative(form=CoopForm.PRIMER, type=CoopType.SIMPAN_PINJAM, kecamatan_id=kec.id,
                           synthetic=True, last_rat_year=2024, **COOP)
        session.add(coop)
        await session.flush()
        manager = await people.seen(session, telegram_id=MANAGER, first_name="<b>Budi", last_name="& </i>",
                                    username=None, telegram_language="id")
        await registry.link_manager(session, person_id=manager.id, cooperative_id=coop.id,
                                    position=ManagerPosition.KETUA)
        await registry.add_officer(session, telegram_id=7001, name="<i>Petugas & co")
        session.add(AnnualReportRecord(
            cooperative_id=coop.id, fiscal_year=2024, revision=1, submitted_by=manager.id,
            submitted_at=datetime(2025, 3, 20, 2, tzinfo=UTC), rat_held=True, rat_date=date(2025, 3, 15),
            members_men=400, members_women=300, pengurus=3, pengawas=2, employees=1,
            total_assets=10**10, own_capital=6 * 10**9, external_capital=10**9, business_volume=2 * 10**9,
            surplus=10**6, still_operating=True, main_business="<b>Toko", obstacles=[], support_needed=[],
        ))
        answers = {
            "rat_held": True, "rat_date": date(2026, 3, 15), "members_men": 40, "members_women": 35,
            "pengurus": 3, "pengawas": 2, "employees": 1, "total_assets": 500_000_000,
            "own_capital": 300_000_000, "external_capital": 300_000_000, "business_volume": 900_000_000,
            "surplus": 12_000_000, "still_operating": True, "main_business": "<b>Toko & Kios</i>",
            "obstacles": [], "support_needed": [], "notes": "<script>x</script> & </i>",
        }
        draft = ReportDraft(person_id=manager.id, cooperative_id=coop.id, fiscal_year=2025,
                            answers={k: encode_answer(v) for k, v in answers.items()}, current_field=None)
        session.add(draft)
        await session.flush()
        return {"coop": coop.id, "kecamatan": kec.id, "draft": draft.id}


def _html_sent(bot: RunningBot, since: int = 0) -> list[str]:
    """The plain text of every HTML text the bot sent or edited since call `since` (each must parse)."""
    return [html_text(c.params["text"]) for c in bot.request.calls[since:]
            if c.method in {"sendMessage", "editMessageText"} and c.params.get("parse_mode") == "HTML"]


def _carrying(bot: RunningBot, prefix: str) -> dict:
    """The last message the bot sent with a button whose data starts with `prefix`."""
    found = [r for r in bot.request.results("sendMessage")
             if any(b.get("callback_data", "").startswith(prefix)
                    for row in (r.get("reply_markup") or {}).get("inline_keyboard", []) for b in row)]
    assert found, f"no message with a {prefix} button was sent"
    return found[-1]


def _buttons(bot: RunningBot, prefix: str) -> list[str]:
    data = []
    for params in bot.request.sent():
        for row in (params.get("reply_markup") or {}).get("inline_keyboard", []):
            data += [b["callback_data"] for b in row if b.get("callback_data", "").startswith(prefix)]
    return data


async def test_cards_and_summaries_are_valid_html_with_hostile_data(runtime: Runtime) -> None:
    """Every card and summary over hostile registry data is valid HTML and shows the data as typed."""
    world = await _hostile_world(runtime)
    runtime.settings.flood_limit_per_minute = 1000
    async with running_bot(runtime) as bot:
        app = bot.app.bot
        # The cooperative card, found by number and by button; /status usage; the officers' list.
        await bot.feed(message_update(app, ADMIN_ID, f"/koperasi {COOP['registration_number']}"))
        await bot.feed(callback_update(app, ADMIN_ID, f"kop:{world['coop']}"))
        cards = [text for text in _html_sent(bot) if COOP["name"] in text]
        assert len(cards) == 2
        for value in (*COOP.values(), KECAMATAN, "<b>Budi & </i>", "2024", "<alasan>"):
            assert value in cards[0], value
        mark = len(bot.request.calls)
        await bot.feed(message_update(app, ADMIN_ID, f"/undang {COOP['registration_number']}"))
        invite = _html_sent(bot, mark)[-1]
        assert COOP["name"] in invite and COOP["registration_number"] in invite and KECAMATAN in invite
        mark = len(bot.request.calls)
        await bot.feed(message_update(app, ADMIN_ID, "/status"))
        assert _html_sent(bot, mark)[-1] == t("id", "status_cmd.usage").replace("&lt;", "<").replace("&gt;", ">")
        await bot.feed(message_update(app, ADMIN_ID, "/petugas"))
        assert "<i>Petugas & co" in _html_sent(bot)[-1]

        # The manager's profile.
        mark = len(bot.request.calls)
        await bot.feed(_with_name(message_update(app, MANAGER, "/profil"), PERSON_NAME))
        profile = "\n".join(_html_sent(bot, mark))
        assert "<b>Budi & </i>" in profile and COOP["name"] in profile and COOP["status_reason"] in profile

        # The broadcast preview for the hostile kecamatan.
        mark = len(bot.request.calls)
        await bot.feed(message_update(app, ADMIN_ID, "/siaran"))
        await bot.feed(message_update(app, ADMIN_ID, "Rapat <b>besok</b> & lusa"))
        draft_id = _buttons(bot, "sia:all:")[-1].split(":")[2]
        await bot.feed(callback_update(app, ADMIN_ID, f"sia:k:{draft_id}:{world['kecamatan']}"))
        preview = "\n".join(_html_sent(bot, mark))
        assert "Rapat besok & lusa" in preview and KECAMATAN in preview

        # A registration request from a hostile name, and the officer's verdict on it.
        await bot.feed(message_update(app, GUEST, "/daftar"))
        await bot.feed(callback_update(app, GUEST, "reg:nocode"))
        await bot.feed(_with_name(callback_update(app, GUEST, f"reg:c:{world['coop']}"), PERSON_NAME))
        await bot.feed(_with_name(callback_update(app, GUEST, f"reg:p:{world['coop']}:ketua"), PERSON_NAME))
        request_id = next(int(b["callback_data"].split(":")[2])
                          for p in await fetch(runtime.db, OutboxPayload) for row in (p.buttons or [])
                          for b in row if b["callback_data"].startswith("apr:ok:"))
        mark = len(bot.request.calls)
        await bot.feed(_with_name(callback_update(app, ADMIN_ID, f"apr:ok:{request_id}"), "<i>Ani"))
        assert "<i>Ani" in _html_sent(bot, mark)[-1]

        # The report summary of hostile answers, then the officers' notice of its submission.
        mark = len(bot.request.calls)
        await bot.feed(_with_name(message_update(app, MANAGER, "/laporan"), PERSON_NAME))
        await bot.feed(_with_name(callback_update(app, MANAGER, f"rp:resume:{world['draft']}",
                                                  message_id=_carrying(bot, "rp:resume:")["message_id"]),
                                  PERSON_NAME))
        summary = "\n".join(_html_sent(bot, mark))
        assert "<b>Toko & Kios</i>" in summary and COOP["name"] in summary
        await bot.feed(_with_name(callback_update(app, MANAGER, f"rp:send:{world['draft']}",
                                                  message_id=_carrying(bot, "rp:send:")["message_id"]),
                                  PERSON_NAME))

        refused = [(c.method, refusal(c.method, c.params)) for c in bot.request.calls
                   if refusal(c.method, c.params)]
        apologies = [p for p in bot.request.sent() if p["text"] == t("id", "error.apology")]
    assert refused == [] and apologies == []
    assert await fetch(runtime.db, AuditEntry, AuditEntry.action == "error") == []
    notices = [html_text(p.text) for p in await fetch(runtime.db, OutboxPayload) if p.parse_mode == "HTML"]
    assert any(PERSON_NAME in n and COOP["name"] in n for n in notices)  # the registration request
    # A submitted report reaches the officers in the daily digest (no notice of its own).
    from bot.services import digest
    from storage.types import utcnow

    async with runtime.db.session() as session:
        text = await digest.build(session, now=utcnow(), since=utcnow() - timedelta(days=1),
                                  settings=runtime.settings)
    assert COOP["name"] in html_text(text) and "2025" in html_text(text)
