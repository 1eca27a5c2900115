"""Split long texts for Telegram's 4,096-character limit, at line breaks where possible."""

from __future__ import annotations

TELEGRAM_TEXT_LIMIT = 4096


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Parts of at most `limit` characters, cut after a line break when there is one.

    Lines are kept whole unless a single line is longer than the limit; joined, the parts are
    the text again. HTML callers must keep their tags within a line, as KopDesk's messages do.
    Telegram refuses a blank message, so callers skip parts that are only whitespace.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    parts: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line) > limit:  # a single line longer than a message
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:limit])
            line = line[limit:]
        if len(current) + len(line) > limit:
            parts.append(current)
            current = ""
        current += line
    if current or not parts:
        parts.append(current)
    return parts
