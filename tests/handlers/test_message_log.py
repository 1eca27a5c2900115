"""The message log as the running application writes it: inbound first, outbound per call,
one transaction per update, errors rolled back, redeliveries skipped, crashes replayed."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import update as sql_update
from telegram import Update
from telegram.ext import CommandHandler
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.i18n import t
from bot.message_log import OutboundLog, summarize_update
from bot.runtime import Runtime
from bot.services.audit import audit
from bot.pipeline.application import REPLAY_WINDOW
from bot.tg.request import LoggedRequest
from storage.models import AuditEntry, InboundUpdate, OutboundCall, Person
from storage.repositories import message_log
from storage.types import utcnow
from tests.conftest import ADMIN_ID
from tests.support.harness import fetch, running_bot
from tests.support.offline import OfflineRequest
from tests.support.requests import FlakyRequest, RecordingRequest
from tests.support.updates import message_update

USER = 42


def _welcome(runtime: Runtime, lang: str = "id") -> str:
    s = runtime.settings
    return t(lang, "start.welcome_guest", office=s.office_name, region=s.region_name)


async def test_start_logged_inbound_and_outbound(runtime: Runtime) -> None:
    """/start is logged: the inbound update in full, and its sendMessage with its outcome."""
    async with running_bot(runtime) as bot:
        start = message_update(bot.app.bot, USER, "/start")
        await bot.feed(start)
        (sent_message,) = bot.request.results("sendMessage")
        (sent_markup,) = [p["reply_markup"] for p in bot.request.sent(USER)]
    assert "keyboard" in sent_markup

    (inbound,) = await fetch(runtime.db, InboundUpdate)
    assert inbound.update_id == start.update_id
    assert inbound.raw == json.loads(json.dumps(start.to_dict()))
    assert inbound.raw["message"]["text"] == "/start"
    assert (inbound.kind, inbound.user_id, inbound.chat_id, inbound.text) == (
        "command", USER, USER, "/start"
    )
    assert inbound.handled_at is not None and inbound.handled_at >= inbound.received_at
    assert inbound.throttled is False

    (outbound,) = await fetch(runtime.db, OutboundCall)
    assert outbound.method == "sendMessage"
    assert outbound.chat_id == USER
    assert outbound.text == _welcome(runtime)
    assert outbound.buttons == sent_markup
    assert outbound.message_id == sent_message["message_id"]
    assert outbound.ok is True and outbound.error is None
    assert outbound.attempts == 1
    assert isinstance(outbound.duration_ms, int) and outbound.duration_ms >= 0
    assert outbound.update_id == start.update_id


async def test_same_update_twice_is_answered_once(runtime: Runtime) -> None:
    """A redelivered update_id that was handled already is skipped: one answer, one log row."""
    async with running_bot(runtime) as bot:
        start = message_update(bot.app.bot, USER, "/start")
        await bot.feed(start)
        again = Update.de_json(start.to_dict(), bot.app.bot)
        await bot.feed(again)
        assert bot.request.texts(USER) == [_welcome(runtime)]
    assert len(await fetch(runtime.db, InboundUpdate)) == 1
    assert len(await fetch(runtime.db, OutboundCall)) == 1


async def test_reused_update_id_is_a_new_update(runtime: Runtime) -> None:
    """Telegram may restart its numbering: a known update_id with another payload is answered."""
    async with running_bot(runtime) as bot:
        first = message_update(bot.app.bot, USER, "/start")
        await bot.feed(first)
        reused = message_update(bot.app.bot, USER, "/bantuan", update_id=first.update_id)
        await bot.feed(reused)
        texts = bot.request.texts(USER)
    assert texts[0] == _welcome(runtime)
    assert len(texts) == 2 and texts[1].startswith(t("id", "help.header"))
    rows = await fetch(runtime.db, InboundUpdate, order_by=InboundUpdate.id)
    assert [(r.update_id, r.text, r.handled_at is not None) for r in rows] == [
        (first.update_id, "/start", True), (first.update_id, "/bantuan", True)
    ]


async def _failing(update: Update, context) -> None:  # type: ignore[no-untyped-def]
    """Test-only handler: writes through the update's session, then fails."""
    await audit(context.session, "written_by_failing_handler", actor=update.effective_user.id)
    await context.session.flush()
    raise RuntimeError("deliberate failure in a handler")


async def test_handler_error_apologises_reports_and_rolls_back(runtime: Runtime) -> None:
    """A failing handler: apology, admin report, its writes rolled back, next update handled."""
    async with running_bot(runtime) as bot:
        bot.app.add_handler(CommandHandler("rusak", _failing), group=-2)
        failing = message_update(bot.app.bot, USER, "/rusak")
        await bot.feed(failing)

        assert bot.request.texts(USER)[0] == t("id", "error.apology")
        reports = bot.request.texts(ADMIN_ID)
        assert len(reports) == 1
        header = t("id", "error.admin_report", update_id=failing.update_id, error="")
        assert reports[0].startswith(header)
        assert "RuntimeError: deliberate failure in a handler" in reports[0]

        await bot.feed(message_update(bot.app.bot, USER, "/start"))
        assert bot.request.texts(USER)[-1] == _welcome(runtime)

    actions = [e.action for e in await fetch(runtime.db, AuditEntry)]
    assert "written_by_failing_handler" not in actions
    errors = await fetch(runtime.db, AuditEntry, AuditEntry.action == "error")
    assert [(e.subject_id, e.details) for e in errors] == [
        (str(failing.update_id), {"error": "RuntimeError"})
    ]


async def test_handler_error_stops_the_update(runtime: Runtime) -> None:
    """After a handler raised, no later handler of that update runs: only the apology is sent."""
    async with running_bot(runtime) as bot:
        bot.app.add_handler(CommandHandler("rusak", _failing), group=-2)
        await bot.feed(message_update(bot.app.bot, USER, "/rusak"))
        assert bot.request.texts(USER) == [t("id", "error.apology")]
    assert await fetch(runtime.db, Person) == []


async def test_bot_api_error_logged_as_failed_call(runtime: Runtime) -> None:
    """A send refused by the Bot API is in outbound_calls with ok False and Telegram's error."""
    request = RecordingRequest(fail_with={"sendMessage": (403, "Forbidden: bot was blocked by the user")})
    async with running_bot(runtime, request=request) as bot:
        start = message_update(bot.app.bot, USER, "/start")
        await bot.feed(start)
    rows = await fetch(runtime.db, OutboundCall, OutboundCall.chat_id == USER, order_by=OutboundCall.id)
    assert rows, "the failed send was not logged"
    welcome = rows[0]
    assert welcome.method == "sendMessage" and welcome.text == _welcome(runtime)
    assert welcome.ok is False
    assert welcome.error == "403: Forbidden: bot was blocked by the user"
    assert welcome.attempts == 1  # a 4xx is not retried
    assert welcome.message_id is None
    assert welcome.update_id == start.update_id


async def test_send_retried_after_5xx_through_the_application(runtime: Runtime) -> None:
    """A 502 on a send is retried: the user gets it once, the log shows ok after 2 attempts."""
    recording = RecordingRequest()
    flaky = FlakyRequest(recording, method="sendMessage", failures=1, code=502)
    async with running_bot(runtime, request=recording, inner=flaky) as bot:
        await bot.feed(message_update(bot.app.bot, USER, "/start"))
        assert bot.request.texts(USER) == [_welcome(runtime)]
    assert flaky.attempts == 2
    (row,) = await fetch(runtime.db, OutboundCall)
    assert (row.ok, row.attempts, row.error, row.text) == (True, 2, None, _welcome(runtime))


def _send_message_data(chat_id: int, text: str) -> RequestData:
    return RequestData(
        [RequestParameter.from_input("chat_id", chat_id), RequestParameter.from_input("text", text)]
    )


URL = "http://127.0.0.1:9/bot123456:TEST-TOKEN/"


async def test_request_layer_retries_5xx_until_success(runtime: Runtime) -> None:
    """LoggedRequest retries a send that fails with 5xx N times, and logs one ok row, N+1 attempts."""
    flaky = FlakyRequest(OfflineRequest(), method="sendMessage", failures=3, code=503)
    request = LoggedRequest(flaky, OutboundLog(runtime.db), max_attempts=4, backoff=0.001)
    code, payload = await request.do_request(URL + "sendMessage", "POST", _send_message_data(7, "hi"))
    assert code == 200 and json.loads(payload)["ok"] is True
    assert flaky.attempts == 4
    (row,) = await fetch(runtime.db, OutboundCall)
    assert (row.chat_id, row.text, row.ok, row.attempts, row.error) == (7, "hi", True, 4, None)


async def test_request_layer_gives_up_after_max_attempts(runtime: Runtime) -> None:
    """After max_attempts 5xx answers the last one is returned and logged as failed."""
    flaky = FlakyRequest(OfflineRequest(), method="sendMessage", failures=10, code=502)
    request = LoggedRequest(flaky, OutboundLog(runtime.db), max_attempts=3, backoff=0.001)
    code, _ = await request.do_request(URL + "sendMessage", "POST", _send_message_data(7, "hi"))
    assert code == 502 and flaky.attempts == 3
    (row,) = await fetch(runtime.db, OutboundCall)
    assert (row.ok, row.attempts, row.error) == (False, 3, "502: Bad Gateway (test)")


async def test_request_layer_retries_dropped_connection(runtime: Runtime) -> None:
    """A dropped connection on a send is retried like a 5xx."""
    flaky = FlakyRequest(OfflineRequest(), method="sendMessage", failures=1, network_error=True)
    request = LoggedRequest(flaky, OutboundLog(runtime.db), max_attempts=4, backoff=0.001)
    code, _ = await request.do_request(URL + "sendMessage", "POST", _send_message_data(7, "hi"))
    assert code == 200 and flaky.attempts == 2
    (row,) = await fetch(runtime.db, OutboundCall)
    assert (row.ok, row.attempts) == (True, 2)


async def test_request_layer_leaves_other_methods_alone(runtime: Runtime) -> None:
    """Non-content calls (getMe) are neither retried nor logged."""
    flaky = FlakyRequest(OfflineRequest(), method="getMe", failures=1, code=502)
    request = LoggedRequest(flaky, OutboundLog(runtime.db), max_attempts=4, backoff=0.001)
    code, _ = await request.do_request(URL + "getMe", "POST", None)
    assert code == 502 and flaky.attempts == 1
    assert await fetch(runtime.db, OutboundCall) == []


async def _store_unhandled(runtime: Runtime, update: Update, received_ago: timedelta) -> None:
    raw = update.to_dict()
    summary = summarize_update(raw)
    async with runtime.db.session() as session:
        await message_log.record_inbound(
            session, update_id=update.update_id, user_id=summary.user_id,
            chat_id=summary.chat_id, kind=summary.kind, text=summary.text, raw=raw,
        )
        await session.execute(
            sql_update(InboundUpdate)
            .where(InboundUpdate.update_id == update.update_id)
            .values(received_at=utcnow() - received_ago)
        )


async def test_unfinished_update_replayed(runtime: Runtime) -> None:
    """replay_unfinished handles a recent never-handled update once, and skips an old one."""
    async with running_bot(runtime) as bot:
        crashed = message_update(bot.app.bot, USER, "/start")
        stale = message_update(bot.app.bot, 43, "/start")
        await _store_unhandled(runtime, crashed, timedelta(minutes=5))
        await _store_unhandled(runtime, stale, REPLAY_WINDOW + timedelta(minutes=5))

        assert await bot.app.replay_unfinished() == 1
        assert bot.request.texts(USER) == [_welcome(runtime)]
        assert bot.request.texts(43) == []
        assert await bot.app.replay_unfinished() == 0
        assert bot.request.texts(USER) == [_welcome(runtime)]

    rows = {r.update_id: r for r in await fetch(runtime.db, InboundUpdate)}
    assert rows[crashed.update_id].handled_at is not None
    assert rows[stale.update_id].handled_at is None
