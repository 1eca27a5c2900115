"""The fuzz generator on its own: deterministic per seed, every update kind, valid Bot API objects."""

from __future__ import annotations

import telegram
from telegram import Update

from tests.fuzz.generator import Cast, Generator, World

CAST = Cast(bot_username="kopdesk_bot", admin=900, officers_chat=-100500, managers=[8101], guests=[8201, 8202])
WORLD = World(
    bot_messages={8101: [{"message_id": 3, "reply_markup": {"inline_keyboard": [[
        {"text": "2025", "callback_data": "rp:year:1:2025"}]]}}]},
    user_messages={8201: [{"message_id": 1, "date": 1, "chat": {"id": 8201, "type": "private", "first_name": "A"},
                           "from": {"id": 8201, "is_bot": False, "first_name": "A"}, "text": "halo"}],
                   -1004003: [{"message_id": 1, "date": 1, "text": "kabar",
                               "chat": {"id": -1004003, "type": "channel", "title": "K"}}]},
)


def actions(seed: int, n: int) -> list:
    generator = Generator(seed, CAST)
    return [generator.next(WORLD, senders=[900, 8101, 8201], donors=[8101]) for _ in range(n)]


def test_same_seed_same_sequence_other_seed_other_sequence() -> None:
    assert actions(5, 300) == actions(5, 300)
    assert actions(5, 300) != actions(6, 300)


def raw_updates(seed: int, n: int) -> list[tuple[str, dict]]:
    """(kind, update JSON) of the raw updates among `n` actions, as the sandbox would deliver them."""
    out = []
    for number, action in enumerate(actions(seed, n)):
        if action.kind != "raw":
            continue
        kind = next(iter(action.update))
        body = dict(action.update[kind])
        if "chat" in body and "date" in body:
            body.setdefault("message_id", number + 1)  # the sandbox numbers new messages
        out.append((kind, {"update_id": number + 1, kind: body}))
    return out


def test_every_update_kind_is_generated_and_parses_as_telegram_would_send_it() -> None:
    bot = telegram.Bot("123456:TEST-TOKEN-abcdefghijklmnop")
    kinds = set()
    for kind, data in raw_updates(1, 5000):
        update = Update.de_json(data, bot)
        assert getattr(update, kind) is not None, data
        kinds.add(kind)
    assert kinds == set(Update.ALL_TYPES), set(Update.ALL_TYPES) ^ kinds
    texts = [a.update["message"].get("text", "") for a in actions(2, 3000) if a.kind == "raw" and "message" in a.update]
    assert any(len(t.encode("utf-16-le")) // 2 == 4096 for t in texts)  # Telegram's limit, exactly
    assert any("@kopdesk_bot" in t for t in texts) and any("<b>" in t for t in texts)
