"""Parsers for typed answers: examples of every accepted form, error keys, and round trips."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.i18n import placeholders
from bot.services.parsing import (
    MAX_INPUT,
    MONEY_MAX,
    MONTHS,
    ParseError,
    Rupiah,
    format_date,
    format_int,
    format_money,
    format_value,
    format_yes_no,
    parse_date,
    parse_int,
    parse_money,
    parse_yes_no,
)
from bot.i18n import catalogue
from bot.services.parsing_messages import describe, render

# The one-line reasons of the parsers and the plausibility warnings, from the catalogues.
MESSAGES = {
    lang: {k: v for k, v in catalogue(lang).items() if k.startswith(("parse.", "warn."))}
    for lang in ("id", "en")
}

TODAY = date(2026, 5, 20)
LANGS = ("id", "en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rp 1.250.000", 1_250_000),
        ("1250000", 1_250_000),
        ("1.250.000", 1_250_000),
        ("Rp1.250.000", 1_250_000),
        ("Rp. 1.250.000,00", 1_250_000),
        ("Rp 1.250.000,-", 1_250_000),
        ("IDR 1,250,000.00", 1_250_000),
        ("1 250 000", 1_250_000),
        ("5 juta rupiah", 5_000_000),
        ("1.250", 1250),  # Indonesian thousands
        ("1,250", 1250),  # three digits after a lone separator: thousands either way
        ("1,250,000", 1_250_000),  # English thousands
        ("Rp1.000,50", 1001),  # sen rounded half up
        ("Rp1.000,49", 1000),
        ("1,250,000.50", 1_250_001),
        ("1,25 jt", 1_250_000),
        ("1,25jt", 1_250_000),
        ("1.25 jt", 1_250_000),
        ("1,5 juta", 1_500_000),
        ("0,5 jt", 500_000),
        ("1,250 jt", 1_250_000),  # Indonesian unit: "," is the decimal comma
        ("1.250 jt", 1_250_000_000),  # Indonesian unit: "." groups thousands
        ("2 M", 2_000_000_000),
        ("2M", 2_000_000_000),
        ("2 miliar", 2_000_000_000),
        ("2 milyar", 2_000_000_000),
        ("500 rb", 500_000),
        ("500rb", 500_000),
        ("500 ribu", 500_000),
        ("500k", 500_000),
        ("1,2 T", 1_200_000_000_000),
        ("1,2 triliun", 1_200_000_000_000),
        ("1.5 million", 1_500_000),
        ("1.250 million", 1_250_000),  # English unit: "." is the decimal point
        ("1,250 million", 1_250_000_000),
        ("2 billion", 2_000_000_000),
        ("2 bn", 2_000_000_000),
        ("3 thousand", 3000),
        ("1 trillion", 10**12),
        ("0", 0),
        ("  RP 7  ", 7),
    ],
)
def test_money_examples(text: str, expected: int) -> None:
    """Every documented way of writing an amount gives the intended rupiah."""
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("-5 juta", -5_000_000),
        ("minus 5 juta", -5_000_000),
        ("(5.000.000)", -5_000_000),
        ("Rp (5.000.000)", -5_000_000),
        ("-Rp 5.000.000", -5_000_000),
        ("Rp -5.000.000", -5_000_000),
        ("\u22125 jt", -5_000_000),
        ("+5 jt", 5_000_000),
        ("-0", 0),
    ],
)
def test_negative_money_when_allowed(text: str, expected: int) -> None:
    """A loss (negative SHU) may be written with a minus, 'minus' or accounting brackets."""
    assert parse_money(text, allow_negative=True) == expected


@pytest.mark.parametrize(
    ("text", "kwargs", "key"),
    [
        ("-5 juta", {}, "parse.negative"),
        ("(5.000.000)", {}, "parse.negative"),
        ("abc", {}, "parse.money"),
        ("", {}, "parse.money"),
        ("   ", {}, "parse.money"),
        ("Rp", {}, "parse.money"),
        ("1.2.3", {}, "parse.money"),
        ("1,2,3", {}, "parse.money"),
        ("1.25.000", {}, "parse.money"),
        ("1.250,000,5", {}, "parse.money"),
        ("5 kg", {}, "parse.money"),
        ("--5", {"allow_negative": True}, "parse.money"),
        ("-(5)", {"allow_negative": True}, "parse.money"),
        ("1" * (MAX_INPUT + 1), {}, "parse.money"),
        ("2000 T", {}, "parse.too_big"),
        ("1.000.000.000.000.001", {}, "parse.too_big"),
        ("-2000 T", {"allow_negative": True}, "parse.too_small"),
        ("2 jt", {"maximum": 1_000_000}, "parse.too_big"),
    ],
)
def test_money_errors(text: str, kwargs: dict[str, object], key: str) -> None:
    """Bad amounts raise ParseError with a key the handler can explain."""
    with pytest.raises(ParseError) as caught:
        parse_money(text, **kwargs)  # type: ignore[arg-type]
    assert caught.value.key == key


def test_too_big_names_the_limit_as_money() -> None:
    """The limit is a Rupiah, so the message shows it as money in the reader's language."""
    with pytest.raises(ParseError) as caught:
        parse_money("2000 T")
    assert caught.value.values == {"max": MONEY_MAX}
    assert isinstance(caught.value.values["max"], Rupiah)
    assert describe(caught.value, "id") == (
        "Angka terlalu besar: paling banyak Rp 1.000.000.000.000.000.")
    assert describe(caught.value, "en") == "Too large: at most Rp 1,000,000,000,000,000."


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1234", 1234), ("1.234", 1234), ("1,234", 1234), ("1 234", 1234), ("1.234.567", 1234567),
     ("007", 7), ("25 orang", 25), (" 0 ", 0)],
)
def test_int_examples(text: str, expected: int) -> None:
    """Whole numbers with any thousands separator."""
    assert parse_int(text, maximum=10**7) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [("12.5", "parse.int"), ("1.23", "parse.int"), ("1.234,5", "parse.int"), ("x", "parse.int"),
     ("", "parse.int"), ("1.234 567", "parse.int"), ("-3", "parse.too_small"),
     ("1.000.001", "parse.too_big")],
)
def test_int_errors(text: str, key: str) -> None:
    """Fractions, words and out-of-range numbers are refused with the right key."""
    with pytest.raises(ParseError) as caught:
        parse_int(text, maximum=1_000_000)
    assert caught.value.key == key


def test_int_limits_in_values() -> None:
    """too_small/too_big carry the limit; negative numbers pass when the minimum allows."""
    with pytest.raises(ParseError) as caught:
        parse_int("-3", maximum=10)
    assert caught.value.values == {"min": 0}
    with pytest.raises(ParseError) as caught:
        parse_int("11", maximum=10)
    assert caught.value.values == {"max": 10}
    assert parse_int("-3", minimum=-5, maximum=10) == -3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15/03/2026", date(2026, 3, 15)),
        ("15-3-2026", date(2026, 3, 15)),
        ("15.3.2026", date(2026, 3, 15)),
        ("15/03/26", date(2026, 3, 15)),
        ("03/04/2026", date(2026, 4, 3)),  # day first
        ("15 Maret 2026", date(2026, 3, 15)),
        ("15 maret 26", date(2026, 3, 15)),
        ("15 Mar 2026", date(2026, 3, 15)),
        ("15 Mar. 2026", date(2026, 3, 15)),
        ("15-Mar-2026", date(2026, 3, 15)),
        ("2026-03-15", date(2026, 3, 15)),
        ("2026/3/15", date(2026, 3, 15)),
        ("15 March 2026", date(2026, 3, 15)),
        ("March 15, 2026", date(2026, 3, 15)),
        ("Mar 15 2026", date(2026, 3, 15)),
        ("1st March 2026", date(2026, 3, 1)),
        ("Minggu, 15 Maret 2026", date(2026, 3, 15)),
        ("Sunday, 15 March 2026", date(2026, 3, 15)),
        ("tanggal 17 Agustus 2025", date(2025, 8, 17)),
        ("17 Agt 2025", date(2025, 8, 17)),
        ("17 Agu 2025", date(2025, 8, 17)),
        ("10 Nopember 2025", date(2025, 11, 10)),
        ("1 Pebruari 2025", date(2025, 2, 1)),
        ("5 Okt 2025", date(2025, 10, 5)),
        ("5 Oct 2025", date(2025, 10, 5)),
        ("9 Sept 2025", date(2025, 9, 9)),
        ("9 Mei 2025", date(2025, 5, 9)),
        ("9 May 2025", date(2025, 5, 9)),
        ("31 Desember 2025", date(2025, 12, 31)),
        ("15 Maret", date(2026, 3, 15)),  # no year: today's year
        ("hari ini", TODAY),
        ("kemarin", date(2026, 5, 19)),
        ("yesterday", date(2026, 5, 19)),
    ],
)
def test_date_examples(text: str, expected: date) -> None:
    """Indonesian and English dates, numeric and written, day first."""
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [("31/02/2026", "parse.date_invalid"), ("15/13/2026", "parse.date_invalid"),
     ("0000-01-01", "parse.date_invalid"), ("30 Februari 2026", "parse.date_invalid"),
     ("Maret 2026", "parse.date"), ("15 Marz 2026", "parse.date"), ("15/03/202", "parse.date"),
     ("kemarin dulu", "parse.date"), ("", "parse.date"), ("1" * 1000, "parse.date")],
)
def test_date_errors(text: str, key: str) -> None:
    """Unreadable dates and dates missing from the calendar are told apart."""
    with pytest.raises(ParseError) as caught:
        parse_date(text, today=TODAY)
    assert caught.value.key == key


def test_month_names_come_from_babel_for_both_languages() -> None:
    """Every wide and abbreviated month name, Indonesian and English, maps to its number."""
    from babel.dates import get_month_names

    for locale in ("id", "en"):
        for width in ("wide", "abbreviated"):
            for number, name in get_month_names(width, locale=locale).items():
                assert MONTHS[name.lower()] == number


@pytest.mark.parametrize("text", ["ya", "Y", "iya", "Yes", "benar", "sudah", "✅ Ya", "ya."])
def test_yes(text: str) -> None:
    """Yes in both languages, with a button's emoji or a full stop."""
    assert parse_yes_no(text) is True


@pytest.mark.parametrize("text", ["tidak", "T", "tdk", "no", "n", "belum", "bukan", "❌ Tidak"])
def test_no(text: str) -> None:
    """No in both languages."""
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("text", ["mungkin", "", "yaa tidak", "1"])
def test_yes_no_errors(text: str) -> None:
    """Anything else is not guessed."""
    with pytest.raises(ParseError) as caught:
        parse_yes_no(text)
    assert caught.value.key == "parse.yes_no"


def test_formatters() -> None:
    """What the bot prints, in each language."""
    assert format_money(1_250_000, "id") == "Rp 1.250.000"
    assert format_money(1_250_000, "en") == "Rp 1,250,000"
    assert format_money(-5_000_000, "id") == "-Rp 5.000.000"
    assert format_money(0, "en") == "Rp 0"
    assert format_int(1234567, "id") == "1.234.567"
    assert format_int(1234567, "en") == "1,234,567"
    assert format_date(date(2026, 3, 15), "id") == "15 Maret 2026"
    assert format_date(date(2026, 3, 15), "en") == "15 March 2026"
    assert [format_yes_no(v, "id") for v in (True, False)] == ["Ya", "Tidak"]
    assert [format_yes_no(v, "en") for v in (True, False)] == ["Yes", "No"]
    assert format_value(Rupiah(5), "id") == "Rp 5"
    assert format_value(2025, "id") == "2.025"  # why years are passed as text
    assert format_value("2025", "id") == "2025"


def test_messages_have_the_same_keys_and_placeholders_in_both_languages() -> None:
    """Each message exists in id and en with the same placeholders, and formats."""
    assert set(MESSAGES["id"]) == set(MESSAGES["en"])
    for key, text in MESSAGES["id"].items():
        assert placeholders(text) == placeholders(MESSAGES["en"][key]), key
        for lang in LANGS:
            values = {name: "X" for name in placeholders(text)}
            line = render(key, values, lang)
            assert "\n" not in line and line


def test_every_error_key_has_a_message() -> None:
    """The keys the parsers raise are all in the messages."""
    for key in ("parse.money", "parse.int", "parse.date", "parse.date_invalid", "parse.yes_no",
                "parse.too_big", "parse.too_small", "parse.negative", "parse.too_long",
                "parse.empty", "parse.choice"):
        assert key in MESSAGES["id"]


# --- properties --------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.integers(-MONEY_MAX, MONEY_MAX), st.sampled_from(LANGS))
def test_money_round_trip(value: int, lang: str) -> None:
    """Whatever amount the bot prints, typed back, is the same amount."""
    assert parse_money(format_money(value, lang), allow_negative=True) == value
    if value >= 0:
        assert parse_money(format_money(value, lang)) == value


@settings(max_examples=200, deadline=None)
@given(st.integers(0, MONEY_MAX // 100), st.integers(0, 99))
def test_sen_round_half_up(rupiah: int, sen: int) -> None:
    """'Rp 1.234,56' is rounded to whole rupiah, half up."""
    text = f"Rp {format_int(rupiah, 'id')},{sen:02d}"
    assert parse_money(text) == rupiah + (1 if sen >= 50 else 0)
    english = f"Rp {format_int(rupiah, 'en')}.{sen:02d}"
    assert parse_money(english) == rupiah + (1 if sen >= 50 else 0)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 999_999), st.sampled_from([("rb", 10**3), ("jt", 10**6), ("M", 10**9),
                                                  ("juta", 10**6), ("million", 10**6)]))
def test_units_multiply(amount: int, unit: tuple[str, int]) -> None:
    """A whole number followed by a unit word is multiplied by it."""
    word, factor = unit
    assert parse_money(f"{amount} {word}") == amount * factor


@settings(max_examples=300, deadline=None)
@given(st.integers(-(10**12), 10**12), st.sampled_from(LANGS))
def test_int_round_trip(value: int, lang: str) -> None:
    """Printed counts parse back."""
    assert parse_int(format_int(value, lang), minimum=-(10**12), maximum=10**12) == value


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31)), st.sampled_from(LANGS))
def test_date_round_trip(day: date, lang: str) -> None:
    """Printed dates parse back, and so does the numeric form people type."""
    assert parse_date(format_date(day, lang), today=TODAY) == day
    assert parse_date(f"{day.day}/{day.month}/{day.year}", today=TODAY) == day
    assert parse_date(day.isoformat(), today=TODAY) == day


@given(st.booleans(), st.sampled_from(LANGS))
def test_yes_no_round_trip(value: bool, lang: str) -> None:
    """The printed yes/no parses back."""
    assert parse_yes_no(format_yes_no(value, lang)) is value


_NUMBERISH = st.text(alphabet="0123456789.,- ()rRpPjtJTmMbkKuaiyno\u2212\u00a0/", max_size=40)
_ANY = st.one_of(st.text(), _NUMBERISH, st.text(min_size=MAX_INPUT - 2, max_size=MAX_INPUT + 2))


def _only_parse_errors(function, text: str) -> None:  # noqa: ANN001
    try:
        function(text)
    except ParseError:
        pass


@settings(max_examples=1000, deadline=None)
@given(_ANY)
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    """No input makes a parser fail with anything but ParseError."""
    _only_parse_errors(lambda t: parse_money(t, allow_negative=True), text)
    _only_parse_errors(parse_money, text)
    _only_parse_errors(lambda t: parse_int(t, minimum=-5, maximum=10**6), text)
    _only_parse_errors(lambda t: parse_date(t, today=TODAY), text)
    _only_parse_errors(parse_yes_no, text)


def test_huge_input_is_refused_quickly() -> None:
    """A megabyte of digits is refused before any pattern runs."""
    import time

    huge = "9" * 1_000_000
    started = time.perf_counter()
    for parser in (parse_money, parse_yes_no, lambda t: parse_int(t, maximum=10),
                   lambda t: parse_date(t, today=TODAY)):
        with pytest.raises(ParseError):
            parser(huge)
    assert time.perf_counter() - started < 0.5
