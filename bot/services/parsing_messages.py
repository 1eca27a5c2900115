"""Texts for parse errors, report rules, plausibility warnings and status reasons.

The texts live in the message catalogues (`parse.*`, `report.*`, `warn.*`, `status.*` in
bot/locales/*.toml); this module formats the values for the reader's language first (amounts
as "Rp 1.250.000", dates as "15 Maret 2026").
"""

from __future__ import annotations

from typing import Any

from bot.i18n import t
from bot.services.parsing import ParseError, format_value


def render(key: str, values: dict[str, Any], lang: str) -> str:
    """The text of `key` in `lang` with `values` formatted for that language."""
    return t(lang, key, **{name: format_value(value, lang) for name, value in values.items()})


def describe(error: ParseError, lang: str) -> str:
    """The one-line reason (and example) for a parse error, in `lang`."""
    return render(error.key, error.values, lang)
