"""The role matrix of SPEC 1, generated from the handlers actually registered.

Every command and every callback pattern is tried by a guest, a manager, an officer, a scoped
officer and an admin; each is allowed or refused exactly as the table below says. A handler
whose callback declares no roles, a command or pattern missing from the table, or a refusal
that is not answered and audited, fails the test.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ConversationHandler

from bot.i18n import t
from bot.runtime import Runtime
from bot.services.roles import Role
from handlers.access import declared_roles
from storage.models import AuditEntry, Cooperative, CoopForm, CoopType, Kecamatan, OfficerRole
from storage.repositories import people, registry
from tests.conftest import ADMIN_ID
from tests.support.harness import running_bot
from tests.support.updates import callback_update, message_update

GUEST, MANAGER, OFFICER, SCOPED = 3001, 3002, 3003, 3004
USERS = {"guest": GUEST, "manager": MANAGER, "officer": OFFICER, "scoped officer": SCOPED, "admin": ADMIN_ID}
G, M, O, S, A = "guest", "manager", "officer", "scoped officer", "admin"
EVERYONE = {G, M, O, S, A}
STAFF = {O, S, A}

# SPEC 1 and 2: who may use each command.
COMMANDS = {
    "start": EVERYONE, "bantuan": EVERYONE, "help": EVERYONE, "bahasa": EVERYONE,
    "language": EVERYONE, "batal": EVERYONE, "cancel": EVERYONE,
    "daftar": {G}, "register": {G},
    "profil": {M}, "profile": {M}, "laporan": {M}, "report": {M},
    "lewati": EVERYONE, "skip": EVERYONE,
    "undang": STAFF, "invite": STAFF, "koperasi": STAFF, "coop": STAFF,
    "status": STAFF, "setstatus": STAFF,
    "petugas": {A}, "officers": {A},
    "siaran": STAFF, "broadcast": STAFF,
    "program": EVERYONE, "programs": EVERYONE, "tanya": {M}, "ask": {M},
    "tiket_saya": {M}, "mytickets": {M}, "tiket": STAFF, "tickets": STAFF,
    "rapat": {M} | STAFF, "meetings": {M} | STAFF, "rapat_baru": STAFF, "newmeeting": STAFF,
    "statistik": STAFF, "stats": STAFF, "ekspor": STAFF, "export": STAFF,
}
# Callback patterns: who may press, with sample data ({home}: a cooperative in the scoped
# officer's kecamatan and the manager's own; {away}: elsewhere).
CALLBACKS = {
    r"^lang:[a-z]{2}$": ("lang:en", EVERYONE),
    r"^apr:(ok|no):\d{1,9}$": ("apr:no:999999", STAFF),
    r"^inv:\d{1,9}$": ("inv:{home}", STAFF),
    r"^kop:\d{1,9}$": ("kop:{home}", STAFF),
    r"^pos:\d{1,9}:[a-z]+$": ("pos:{home}:ketua", {M}),
    r"^ph:edit$": ("ph:edit", {M}),
    # /siaran's buttons name a draft; 999999 is nobody's, so staff get "stale", others a refusal.
    r"^sia:all:\d{1,9}$": ("sia:all:999999", STAFF),
    r"^sia:kp:\d{1,9}:\d{1,9}$": ("sia:kp:999999:0", STAFF),
    r"^sia:k:\d{1,9}:\d{1,9}$": ("sia:k:999999:{home}", STAFF),
    r"^sia:s:\d{1,9}:(aktif|tidak_aktif)$": ("sia:s:999999:aktif", STAFF),
    r"^sia:tm:\d{1,9}$": ("sia:tm:999999", STAFF),
    r"^sia:t:\d{1,9}:[a-z_]+$": ("sia:t:999999:simpan_pinjam", STAFF),
    r"^sia:c:\d{1,9}$": ("sia:c:999999", STAFF),
    r"^sia:ct:\d{1,9}:\d{1,9}$": ("sia:ct:999999:{home}", STAFF),
    r"^sia:cd:\d{1,9}$": ("sia:cd:999999", STAFF),
    r"^sia:aud:\d{1,9}$": ("sia:aud:999999", STAFF),
    r"^sia:go:\d{1,9}$": ("sia:go:999999", STAFF),
    r"^sia:x:\d{1,9}$": ("sia:x:999999", STAFF),
    r"^rp:[a-z]+:\d{1,9}(:[a-z0-9_]+)?$": ("rp:year:{home}:2020", {M}),
    # Programmes (public) and tickets; 999999 names nothing: allowed roles get "stale".
    r"^pg:home$": ("pg:home", EVERYONE),
    r"^pg:c:[a-z]{2,16}:\d{1,3}$": ("pg:c:permodalan:0", EVERYONE),
    r"^pg:p:\d{1,9}$": ("pg:p:999999", EVERYONE),
    r"^pg:i:\d{1,9}$": ("pg:i:999999", EVERYONE),
    r"^tk:ok:\d{1,12}$": ("tk:ok:999999", {M}),
    r"^tk:q:\d{1,12}$": ("tk:q:999999", {M}),
    r"^tk:ask:p:\d{1,9}$": ("tk:ask:p:999999", {M}),
    r"^tk:r:\d{1,12}$": ("tk:r:999999", STAFF),
    r"^tk:x:\d{1,12}$": ("tk:x:999999", STAFF),
    r"^tk:f:\d{1,12}$": ("tk:f:999999", STAFF),
    r"^tk:c:\d{1,12}$": ("tk:c:999999", {M}),
    r"^tk:o:\d{1,12}$": ("tk:o:999999", {M}),
    r"^tk:ro:\d{1,12}$": ("tk:ro:999999", STAFF),
    # Meetings (SPEC 6): 999999 is no meeting, so staff get "stale" / "not yours", others a refusal.
    r"^mtg:k:\d{1,9}:(rakor|rat|pelatihan|sosialisasi|lainnya)$": ("mtg:k:999999:rakor", STAFF),
    r"^mtg:all:\d{1,9}$": ("mtg:all:999999", STAFF),
    r"^mtg:kp:\d{1,9}:\d{1,9}$": ("mtg:kp:999999:0", STAFF),
    r"^mtg:kc:\d{1,9}:\d{1,9}$": ("mtg:kc:999999:1", STAFF),
    r"^mtg:s:\d{1,9}:(aktif|tidak_aktif)$": ("mtg:s:999999:aktif", STAFF),
    r"^mtg:tm:\d{1,9}$": ("mtg:tm:999999", STAFF),
    r"^mtg:t:\d{1,9}:[a-z_]+$": ("mtg:t:999999:simpan_pinjam", STAFF),
    r"^mtg:c:\d{1,9}$": ("mtg:c:999999", STAFF),
    r"^mtg:ct:\d{1,9}:\d{1,9}$": ("mtg:ct:999999:{home}", STAFF),
    r"^mtg:cd:\d{1,9}$": ("mtg:cd:999999", STAFF),
    r"^mtg:aud:\d{1,9}$": ("mtg:aud:999999", STAFF),
    r"^mtg:go:\d{1,9}$": ("mtg:go:999999", STAFF),
    r"^mtg:x:\d{1,9}$": ("mtg:x:999999", STAFF),
    r"^mtg:e[wp]:\d{1,9}$": ("mtg:ew:999999", STAFF),
    r"^mtg:cx:\d{1,9}$": ("mtg:cx:999999", STAFF),
    r"^mtg:cx[yn]:\d{1,9}$": ("mtg:cxy:999999", STAFF),
    # An RSVP for no meeting: the manager is told it is not his, others are refused.
    r"^rsvp:\d{1,9}:[a-z]$": ("rsvp:999999:h", {M}),
    r"^exp:(k:[a-z]{1,16}|y:[a-z]{1,16}:\d{4}|r:[a-z]{1,16}:(d7|d30|m0|m1))$": ("exp:k:log", STAFF),
}
ROLE_OF = {G: Role.GUEST, M: Role.MANAGER, O: Role.OFFICER, S: Role.OFFICER, A: Role.ADMIN}
REFUSALS = {t(lang, key) for lang in ("id", "en") for key in
            ("access.officer_only", "access.admin_only", "access.manager_only", "access.guest_only")}


def all_handlers(app) -> list[BaseHandler]:
    """Every handler of groups >= 0, conversations opened up."""
    found: list[BaseHandler] = []
    for group, handlers in app.handlers.items():
        if group < 0:
            continue
        for handler in handlers:
            if isinstance(handler, ConversationHandler):
                found += handler.entry_points + handler.fallbacks
                found += [h for hs in handler.states.values() for h in hs]
            else:
                found.append(handler)
    return found


@pytest.fixture
async def world(runtime: Runtime) -> dict[str, int]:
    """Two kecamatan with a cooperative each; a manager of the first; two officers."""
    runtime.settings.flood_limit_per_minute = 1000  # this test sends ~40 messages per user
    async with runtime.db.session() as session:
        home_k, away_k = Kecamatan(name="Amarasi"), Kecamatan(name="Sulamu")
        session.add_all([home_k, away_k])
        await session.flush()
        coops = [
            Cooperative(registration_number=f"BH-{k.id}", name=f"Koperasi {k.name} Sejahtera",
                        form=CoopForm.PRIMER, type=CoopType.SIMPAN_PINJAM, kecamatan_id=k.id,
                        incorporated_on=date(2010, 1, 1))
            for k in (home_k, away_k)
        ]
        session.add_all(coops)
        await session.flush()
        manager = await people.seen(session, telegram_id=MANAGER, first_name="M", last_name=None,
                                    username=None, telegram_language="id")
        await registry.link_manager(session, person_id=manager.id, cooperative_id=coops[0].id,
                                    position=registry.ManagerPosition.LAINNYA)
        await registry.add_officer(session, telegram_id=OFFICER, name="Officer")
        await registry.add_officer(session, telegram_id=SCOPED, name="Scoped", role=OfficerRole.OFFICER,
                                   kecamatan_ids=[home_k.id])
        return {"home": coops[0].id, "away": coops[1].id}


async def test_every_handler_declares_its_roles(runtime: Runtime) -> None:
    """A handler registered without `serves(...)` fails here."""
    async with running_bot(runtime) as bot:
        missing = [h for h in all_handlers(bot.app) if declared_roles(h.callback) is None]
    assert missing == []


async def test_every_command_and_pattern_is_in_the_table(runtime: Runtime) -> None:
    """The table covers what is registered: a new command or button pattern needs its row."""
    async with running_bot(runtime) as bot:
        handlers = all_handlers(bot.app)
    commands = {c for h in handlers if isinstance(h, CommandHandler) for c in h.commands}
    patterns = {h.pattern.pattern for h in handlers
                if isinstance(h, CallbackQueryHandler) and h.pattern is not None}
    registration_patterns = {p for p in patterns if p.startswith("^reg:")}
    assert commands == set(COMMANDS)
    assert patterns - registration_patterns == set(CALLBACKS)
    # The registration buttons live inside /daftar and serve guests only.
    for h in handlers:
        if isinstance(h, CallbackQueryHandler) and h.pattern is not None and h.pattern.pattern in registration_patterns:
            assert declared_roles(h.callback) == {Role.GUEST}


async def _denials(runtime: Runtime, user: int) -> int:
    async with runtime.db.session() as session:
        return (await session.execute(select(func.count()).where(
            AuditEntry.action == "access_denied", AuditEntry.actor_telegram_id == user))).scalar_one()


@pytest.mark.parametrize("who", list(USERS))
async def test_commands_allowed_or_refused_per_role(runtime: Runtime, world: dict[str, int], who: str) -> None:
    """Each command × this role: answered normally if SPEC 1 allows it, else refused and audited."""
    user = USERS[who]
    async with running_bot(runtime) as bot:
        for command in sorted(COMMANDS):
            before_calls = len(bot.request.calls)
            before_denials = await _denials(runtime, user)
            text = f"/{command}"
            await bot.feed(message_update(bot.app.bot, user, text))
            replies = [c.params.get("text") for c in bot.request.calls[before_calls:] if c.method == "sendMessage"]
            refused = await _denials(runtime, user) > before_denials
            assert replies, f"{who} got no answer to {text}"
            if who in COMMANDS[command]:
                assert not refused and not (set(replies) & REFUSALS), f"{who} refused {text}: {replies}"
            else:
                assert refused and set(replies) <= REFUSALS, f"{who} not refused {text}: {replies}"
            await bot.feed(message_update(bot.app.bot, user, "/batal"))


@pytest.mark.parametrize("who", list(USERS))
async def test_buttons_allowed_or_refused_per_role(runtime: Runtime, world: dict[str, int], who: str) -> None:
    """Each button pattern × this role: refused with an alert (and audited) unless allowed."""
    user = USERS[who]
    async with running_bot(runtime) as bot:
        for pattern, (sample, allowed) in CALLBACKS.items():
            data = sample.format(**world)
            assert re.match(pattern, data)
            before_calls = len(bot.request.calls)
            before_denials = await _denials(runtime, user)
            await bot.feed(callback_update(bot.app.bot, user, data))
            answers = [c.params for c in bot.request.calls[before_calls:] if c.method == "answerCallbackQuery"]
            assert answers, f"{who}: {data} not answered"
            refused = await _denials(runtime, user) > before_denials
            if who in allowed:
                assert answers[0].get("text") not in REFUSALS, f"{who} refused {data}"
            else:
                assert refused and answers[0].get("text") in REFUSALS, f"{who} not refused {data}"


async def test_scoped_officer_sees_only_his_kecamatan(runtime: Runtime, world: dict[str, int]) -> None:
    """A scoped officer cannot find, open or invite a cooperative outside his kecamatan."""
    async with runtime.db.session() as session:
        away = await registry.get_cooperative(session, world["away"])
    async with running_bot(runtime) as bot:
        await bot.feed(message_update(bot.app.bot, SCOPED, f"/koperasi {away.registration_number}"))
        assert bot.request.texts(SCOPED)[-1] == t("id", "registry.no_match", query=away.registration_number)
        for data in (f"kop:{world['away']}", f"inv:{world['away']}"):
            await bot.feed(callback_update(bot.app.bot, SCOPED, data))
            answer = [c.params for c in bot.request.calls if c.method == "answerCallbackQuery"][-1]
            assert answer["text"] == t("id", "access.out_of_scope")
        # The unscoped officer sees it.
        await bot.feed(message_update(bot.app.bot, OFFICER, f"/koperasi {away.registration_number}"))
        assert away.name in bot.request.texts(OFFICER)[-1]
    assert await _denials(runtime, SCOPED) == 2
