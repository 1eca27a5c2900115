"""Indonesian phone numbers as managers type them ("0812-3456-7890", "+62 812 3456 7890")."""

from __future__ import annotations

import re

from bot.services.parsing import ParseError

_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_phone(text: str) -> str:
    """The number in international form (+62…); ParseError("parse.phone") if it is not one."""
    raw = _SEPARATORS.sub("", text.strip())[:32]
    if raw.startswith("+62"):
        national = raw[3:]
    elif raw.startswith("62"):
        national = raw[2:]
    elif raw.startswith("0"):
        national = raw[1:]
    else:
        raise ParseError("parse.phone")
    # Mobile (8…) and landline numbers have 8 to 12 digits after the country code.
    if not national.isdigit() or not 8 <= len(national) <= 12 or national.startswith("0"):
        raise ParseError("parse.phone")
    return "+62" + national
