"""The inbound log stores each update's JSON as Telegram sent it (`UpdatesRequest`, `carrying_raw`)."""

from __future__ import annotations

import copy
import json

import telegram
from telegram import Update

from bot.message_log import carrying_raw, json_safe
from bot.pipeline.application import inbound_row
from bot.tg.request import UpdatesRequest
from storage.repositories.message_log import fingerprint
from tests.fuzz.test_generator import raw_updates
from tests.support.offline import OfflineRequest

BOT = telegram.Bot("123456:TEST-TOKEN-abcdefghijklmnop")


def every_kind() -> list[dict]:
    """One update of every kind Telegram has, as the fuzzer would send it."""
    found: dict[str, dict] = {}
    for kind, data in raw_updates(1, 5000):
        found.setdefault(kind, data)
    assert set(found) == set(Update.ALL_TYPES)
    return list(found.values())


def test_the_log_stores_each_update_exactly_as_sent_with_its_fingerprint() -> None:
    for data in every_kind():
        sent = copy.deepcopy(data)
        update = Update.de_json(carrying_raw(data), BOT)
        row = inbound_row(update)
        assert data == sent  # PTB did not change the JSON it was given
        assert row.raw == sent and row.digest == fingerprint(sent)
        # and it is still the update PTB read: the same object as without the copy
        assert update == Update.de_json(copy.deepcopy(sent), BOT)
        assert update.to_dict() == Update.de_json(copy.deepcopy(sent), BOT).to_dict() | {
            "_kopdesk_raw": sent}


def test_without_the_json_the_log_falls_back_to_what_ptb_read() -> None:
    data = every_kind()[0]
    update = Update.de_json(copy.deepcopy(data), BOT)
    assert inbound_row(update).raw == json_safe(update.to_dict())


def test_get_updates_hands_on_each_update_with_its_own_untouched_json() -> None:
    updates = every_kind()
    # Fields PTB does not know are kept too: the log holds what Telegram sent.
    updates[0] = {**updates[0], "brand_new_field": {"x": [1, 2]}}
    body = json.dumps({"ok": True, "result": updates}, ensure_ascii=False).encode()
    answer = UpdatesRequest(OfflineRequest()).parse_json_payload(body)  # as PTB's post calls it
    parsed = Update.de_list(answer["result"], BOT)
    assert [inbound_row(u).raw for u in parsed] == updates
    assert parsed[0].api_kwargs["brand_new_field"] == {"x": [1, 2]}


def test_answers_that_are_not_update_lists_pass_unchanged() -> None:
    for body in (b'{"ok":true,"result":[]}', b'{"ok":true,"result":true}', b'{"ok":false,"error_code":409}'):
        assert UpdatesRequest(OfflineRequest()).parse_json_payload(body) == json.loads(body)


def test_a_kept_keyboard_sends_the_json_of_a_plain_one_built_once() -> None:
    from telegram import ReplyKeyboardMarkup

    from handlers.menu import KeptKeyboard

    rows = [["Laporan RAT", "Program"], ["Bantuan"]]
    kept = KeptKeyboard(rows, resize_keyboard=True, input_field_placeholder="Pilih menu")
    plain = ReplyKeyboardMarkup(rows, resize_keyboard=True, input_field_placeholder="Pilih menu")
    assert kept.to_dict() == plain.to_dict() and plain == kept
    assert kept.to_dict() is kept.to_dict()  # built once, not per answer
    assert kept.to_dict(recursive=False) == plain.to_dict(recursive=False)
