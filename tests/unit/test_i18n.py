"""Message catalogues: Indonesian and English hold the same keys with the same placeholders."""

from __future__ import annotations

from bot.commands import COMMANDS
from bot.i18n import LANGUAGES, catalogue, pick_language, placeholders, t


def test_catalogues_have_the_same_keys() -> None:
    """Every key exists in both catalogues (no text missing in one language)."""
    indonesian, english = set(catalogue("id")), set(catalogue("en"))
    assert indonesian, "empty catalogue"
    assert sorted(indonesian - english) == []
    assert sorted(english - indonesian) == []


def test_catalogues_have_the_same_placeholders_per_key() -> None:
    """Each key has the same {placeholders} in both languages, so formatting never fails."""
    mismatched = {
        key: (placeholders(text), placeholders(catalogue("en")[key]))
        for key, text in catalogue("id").items()
        if key in catalogue("en") and placeholders(text) != placeholders(catalogue("en")[key])
    }
    assert mismatched == {}
    assert placeholders(catalogue("id")["unknown.command"]) == {"command"}


def test_every_entry_formats_with_its_placeholders() -> None:
    """Every entry of both catalogues formats with values for exactly its placeholders."""
    for lang in LANGUAGES:
        for key, text in catalogue(lang).items():
            values = {name: "X" for name in placeholders(text)}
            assert t(lang, key, **values)


def test_command_descriptions_exist() -> None:
    """Every command's menu description is in both catalogues."""
    for spec in COMMANDS:
        for lang in LANGUAGES:
            assert spec.description_key in catalogue(lang)


def test_pick_language() -> None:
    """A /bahasa choice wins; otherwise English only for an English Telegram, else the default."""
    assert pick_language("en", "id", "id") == "en"
    assert pick_language("id", "en", "id") == "id"
    assert pick_language(None, "en", "id") == "en"
    assert pick_language(None, "en-GB", "id") == "en"
    assert pick_language(None, "id", "id") == "id"
    assert pick_language(None, None, "id") == "id"
    assert pick_language(None, "fr", "en") == "en"
