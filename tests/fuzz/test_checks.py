"""The fuzz run's rules on hand-made records: each rule finds what it must and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fuzz import checks
from tests.fuzz.checks import Outbound, Sent

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PRIVATE = {"id": 5, "type": "private", "first_name": "A"}
GROUP = {"id": -9, "type": "group", "title": "G"}


def message(update_id: int, text: str, *, chat=PRIVATE, sender=5, is_bot=False, kind="message") -> dict:
    return {"update_id": update_id, kind: {"message_id": update_id, "date": 1, "chat": chat, "text": text,
                                           "from": {"id": sender, "is_bot": is_bot, "first_name": "A"}}}


def reply(update_id: int, chat: int, text: str = "ok") -> Outbound:
    return Outbound("sendMessage", chat, text, True, None, update_id, NOW)


def test_logging_once_counts_redeliveries_once_and_restarted_ids_twice() -> None:
    sent = [Sent.of(message(1, "a"), 0), Sent.of(message(1, "a"), 0, duplicate=True), Sent.of(message(1, "b"), 1)]
    assert checks.logging_once(sent, [(1, True), (1, True)]) == []
    assert checks.logging_once(sent, [(1, True)])  # the restarted update was swallowed
    assert checks.logging_once(sent, [(1, True), (1, False)])  # one never handled


def test_unanswered_private_messages_skip_bots_throttled_and_duplicates() -> None:
    sent = [Sent.of(message(1, "a"), 0), Sent.of(message(2, "b"), 0), Sent.of(message(3, "c", sender=5, is_bot=True), 0),
            Sent.of(message(1, "a"), 0, duplicate=True)]
    assert checks.unanswered(sent, [reply(1, 5)], throttled={2}, humans={5}, epoch_split=None) == []
    assert len(checks.unanswered(sent, [reply(1, 6)], throttled={2}, humans={5}, epoch_split=None)) == 1


def test_quiet_rules_allow_one_pointer_without_personal_data() -> None:
    addressed = Sent.of(message(1, "/profil@kop_bot", chat=GROUP), 0)
    chatter = Sent.of(message(2, "halo", chat=GROUP), 0)
    from_bot = Sent.of(message(3, "/start", sender=77, is_bot=True, chat={"id": 77, "type": "private"}), 0)
    edit = Sent.of(message(4, "x", kind="edited_message"), 0)

    def run(sent, outbound):
        return checks.misplaced(sent, outbound, [], bots={77}, foreign={-9}, managers=set(), bot_username="kop_bot",
                                private_data=["KSP Maju"], epoch_split=None)

    assert run([addressed], [reply(1, -9, "Silakan chat saya secara pribadi.")]) == []
    assert run([addressed], [reply(1, -9, "KSP Maju: aktif")])  # a leak
    assert run([addressed], [reply(1, -9), reply(1, -9)])  # more than a pointer
    assert run([chatter], [reply(2, -9)]) and run([from_bot], [reply(3, 77)]) and run([edit], [reply(4, 5)])
    assert checks.misplaced([], [], [{"method": "sendMessage", "chat_id": 77}], bots={77}, foreign=set(),
                            managers=set(), bot_username="kop_bot", private_data=[], epoch_split=None)


def test_exception_kinds_name_the_innermost_project_frame() -> None:
    log = ('Traceback (most recent call last):\n  File "/x/site-packages/telegram/ext/a.py", line 1, in f\n'
           '  File "/w/handlers/basics.py", line 9, in pressed_language\nKeyError: \'AKTIF\\n\'\n')
    assert list(checks.exception_kinds(log)) == ["KeyError: 'AKTIF\\n' @ handlers/basics.py pressed_language"]


def test_html_refusals_of_the_bots_own_texts_only() -> None:
    refused = "400: Bad Request: can't parse entities: Unsupported start tag \"alasan\""
    card = Outbound("sendMessage", 900, "Ubah status: /status X tidak_aktif <alasan>", False, refused, 1, NOW)
    typed = Outbound("sendMessage", 900, "<b>Rapat", False, refused, 2, NOW)
    calls = [{"method": "sendMessage", "error": refused}] * 2
    assert len(checks.html_refused(calls, [card, typed], {(900, "<b>Rapat")})) == 1
    assert checks.html_refused(calls, [typed], {(900, "<b>Rapat")})  # one refusal was not logged
