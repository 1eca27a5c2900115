"""What Telegram would refuse in the text of a Bot API call: entity parsing and length limits.

One check for every test that looks at what the bot sent (the offline request, the HTML and
fuzz tests). It reuses the sandbox's parser (`bot/sandbox/validation.py`), which follows TDLib's
HTML subset and wording: only Telegram's tags, balanced, valid entities, 4,096 characters of
text or 1,024 of caption after parsing.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.errors import ApiError
from bot.sandbox.validation import EntityParseError, format_text, parse_html

_TEXT = {"sendMessage", "editMessageText"}
_CAPTION = {"sendPhoto", "sendDocument", "sendVideo", "sendAnimation", "sendAudio", "sendVoice",
            "editMessageCaption", "copyMessage"}


def refusal(method: str, params: dict[str, Any]) -> str | None:
    """Telegram's description ("Bad Request: …") if it would refuse this call's text, else None."""
    if method in _TEXT:
        text, entities, caption = params.get("text"), params.get("entities"), False
    elif method in _CAPTION and params.get("caption") is not None:
        text, entities, caption = params["caption"], params.get("caption_entities"), True
    else:
        return None
    try:
        format_text(str(text or ""), params.get("parse_mode"), entities, caption=caption)
    except ApiError as exc:
        return exc.description
    return None


def html_text(markup: str) -> str:
    """The text a reader sees for Telegram HTML `markup`; fails the test if Telegram would refuse it."""
    try:
        plain, _entities = parse_html(markup)
    except EntityParseError as exc:
        raise AssertionError(f"Telegram would refuse this HTML ({exc}): {markup!r}") from None
    return plain
