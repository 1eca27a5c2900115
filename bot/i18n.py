"""Message catalogues (Indonesian first, English second) and language choice.

Catalogues are TOML files in `bot/locales/`, flat tables of dotted keys, formatted with
`str.format` placeholders. Both catalogues must hold the same keys and placeholders; a test
checks it.

Every catalogue text is a template in Telegram's HTML subset (a literal "<" is written
"&lt;"), so any of them may be sent with parse_mode HTML. `html()` is the one boundary where
values enter such a text: the template is trusted markup, each value is escaped (MarkupSafe)
unless it is markup already (a `Markup`, e.g. another `html()` text). `t()` formats the raw
text for places without a parse mode: button labels, alerts and plain messages of texts
without markup. A test renders every text through `html()` with hostile values and parses it
as Telegram would.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

from markupsafe import Markup

LANGUAGES = ("id", "en")
LOCALES = Path(__file__).parent / "locales"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = str(value)
    return flat


@cache
def catalogue(language: str) -> dict[str, str]:
    """The flattened catalogue of one language."""
    with (LOCALES / f"{language}.toml").open("rb") as handle:
        return _flatten(tomllib.load(handle))


def placeholders(text: str) -> set[str]:
    """The named placeholders in one catalogue entry."""
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def t(language: str, key: str, /, **values: Any) -> str:
    """The text for `key` in `language`, falling back to Indonesian, formatted with `values`."""
    lang = language if language in LANGUAGES else "id"
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue("id")[key]  # a KeyError here is a bug: every key exists in id
    return text.format(**values) if values else text


def html(language: str, key: str, /, **values: Any) -> Markup:
    """The text for `key` as Telegram HTML: the catalogue's markup kept, every value escaped."""
    return Markup(t(language, key)).format(**values)


def shorten(text: str, limit: int = 100) -> str:
    """A user's text cut to `limit` characters, for quoting it back inside a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def all_translations(key: str) -> set[str]:
    """The text of `key` in every language (to recognise a reply-keyboard button)."""
    return {catalogue(lang)[key] for lang in LANGUAGES}


def pick_language(chosen: str | None, telegram_language: str | None, default: str) -> str:
    """The user's language: his /bahasa choice, else English only if Telegram says English."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_language and telegram_language.lower().startswith("en"):
        return "en"
    return default if default in LANGUAGES else "id"
