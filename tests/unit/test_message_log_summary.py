"""What the message log stores of an update, and which Bot API calls it records."""

from __future__ import annotations

import pytest

from bot.message_log import UpdateSummary, is_content_method, summarize_update

USER = {"id": 42, "is_bot": False, "first_name": "Budi"}
CHAT = {"id": 42, "type": "private", "first_name": "Budi"}


def _message(**fields: object) -> dict[str, object]:
    return {"message_id": 5, "date": 1700000000, "chat": CHAT, "from": USER, **fields}


def test_text() -> None:
    """A plain text message: kind text, its sender, chat and text."""
    raw = {"update_id": 1, "message": _message(text="halo")}
    assert summarize_update(raw) == UpdateSummary("text", 42, 42, "halo")


def test_command() -> None:
    """A message starting with / is a command, stored with its full text."""
    raw = {"update_id": 1, "message": _message(text="/start promo")}
    assert summarize_update(raw) == UpdateSummary("command", 42, 42, "/start promo")


def test_callback() -> None:
    """A button press: kind callback, the presser, the chat of the message, the button data."""
    raw = {
        "update_id": 1,
        "callback_query": {
            "id": "9", "from": {**USER, "id": 7}, "chat_instance": "1", "data": "lang:en",
            "message": _message(chat={"id": -100, "type": "group", "title": "G"}, text="…"),
        },
    }
    assert summarize_update(raw) == UpdateSummary("callback", 7, -100, "lang:en")


def test_photo_with_caption() -> None:
    """A photo: kind photo, its caption stored as the text."""
    photo = [{"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1}]
    raw = {"update_id": 1, "message": _message(photo=photo, caption="laporan RAT")}
    assert summarize_update(raw) == UpdateSummary("photo", 42, 42, "laporan RAT")
    raw = {"update_id": 1, "message": _message(photo=photo)}
    assert summarize_update(raw) == UpdateSummary("photo", 42, 42, None)


def test_sticker() -> None:
    """A sticker: kind sticker, no text."""
    sticker = {"file_id": "a", "file_unique_id": "b", "width": 1, "height": 1,
               "is_animated": False, "is_video": False, "type": "regular"}
    raw = {"update_id": 1, "message": _message(sticker=sticker)}
    assert summarize_update(raw) == UpdateSummary("sticker", 42, 42, None)


def test_voice() -> None:
    """A voice note: kind voice."""
    raw = {"update_id": 1, "message": _message(voice={"file_id": "a", "file_unique_id": "b",
                                                       "duration": 2})}
    assert summarize_update(raw).kind == "voice"


def test_edited_message() -> None:
    """An edited message is marked edited_, with the new text."""
    raw = {"update_id": 1, "edited_message": _message(text="halo lagi", edit_date=1700000100)}
    assert summarize_update(raw) == UpdateSummary("edited_text", 42, 42, "halo lagi")
    raw = {"update_id": 1, "edited_message": _message(text="/bantuan", edit_date=1700000100)}
    assert summarize_update(raw).kind == "edited_command"


def test_other_update_kind() -> None:
    """Any other update is stored under its own field name with sender and chat."""
    raw = {
        "update_id": 1,
        "my_chat_member": {"chat": CHAT, "from": USER, "date": 1700000000,
                           "old_chat_member": {}, "new_chat_member": {}},
    }
    assert summarize_update(raw) == UpdateSummary("my_chat_member", 42, 42, None)


@pytest.mark.parametrize(
    "method",
    ["sendMessage", "editMessageText", "deleteMessage", "copyMessage", "answerCallbackQuery",
     "sendPhoto", "sendDocument", "editMessageReplyMarkup", "forwardMessage"],
)
def test_content_methods_are_logged(method: str) -> None:
    """Calls that send, edit or delete content (and button answers) go to the outbound log."""
    assert is_content_method(method)


@pytest.mark.parametrize(
    "method", ["getUpdates", "sendChatAction", "setMyCommands", "deleteWebhook", "getMe",
               "getFile", "setWebhook"],
)
def test_other_methods_are_not_logged(method: str) -> None:
    """Polling, chat actions and configuration calls are not content."""
    assert not is_content_method(method)
