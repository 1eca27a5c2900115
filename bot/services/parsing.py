"""Parse what people type (Indonesian first, English too) and format values so they parse back.

Numbers. Indonesian writes "." between thousands and "," before decimals ("1.250.000,50");
English does the opposite ("1,250,000.50"). Each answer is read by pattern, never by the user's
language setting, because managers mix both:

- Digits only: "1250000".
- Spaces between groups of three: "1 250 000" (a single "." or "," after them is the decimal).
- Both "." and ",": whichever comes last is the decimal separator and must appear once; the
  other one groups thousands and must form proper groups of three ("1.250.000,50").
- One kind, several times: thousands groups ("1.250.000", "1,250,000").
- One kind, once: when it is followed by exactly three digits and preceded by one to three digits
  (not a lone "0"), it groups thousands ("1.250" is 1250, "1,250" is 1250) — unless a unit word
  says which convention is meant: an Indonesian unit makes "," decimal ("1,250 jt" is 1.25 juta),
  an English unit makes "." decimal ("1.250 million" is 1.25 million). Otherwise it is the
  decimal separator ("1,25 jt", "1.5 million", "1,5").

Money units: rb/ribu, jt/juta, M/miliar/milyar, T/triliun (Indonesian: "M" is miliar, a
thousand million, as Indonesian bookkeeping writes it); thousand, million/mn/mio, billion/bn/b,
trillion/tn (English); k (either). "Rp", "Rp.", "IDR", a trailing ",-" and "rupiah" are
accepted. Negative amounts (only when allowed): "-5 juta", "minus 5 juta", "(5.000.000)".

Rupiah are whole numbers: a fraction of a rupiah is rounded half up, away from zero
("Rp1.000,50" is 1001, "Rp1.000,49" is 1000), because managers copy figures with sen from their
books and the summary shows the rounded amount before anything is sent.

Dates are day first, as in Indonesia and Britain ("03/04/2026" is 3 April): "15/03/2026",
"15-3-2026", "15.3.2026", "15 Maret 2026", "15 Mar 2026", "15 maret 26" (two-digit years are
20xx), "2026-03-15", "15 March 2026", "March 15, 2026", with or without a weekday in front.
Without a year the date is in today's year; "hari ini"/"today", "kemarin"/"yesterday" and
"besok"/"tomorrow" count from `today`. Month names come from Babel (Indonesian and English, wide
and abbreviated) plus older Indonesian spellings people still type (Pebruari, Nopember, Agt).

Any input raises nothing but `ParseError`, whose `key` names a message (see parsing_messages.py)
and whose `values` fill its placeholders; input longer than `MAX_INPUT` is refused at once.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from babel.dates import get_day_names, get_month_names

from bot.formatting import long_date, number

MAX_INPUT = 64  # no number or date a person types is longer; longer input is refused unread
MONEY_MAX = 10**15


class ParseError(ValueError):
    """An answer that cannot be read: `key` names the message, `values` fill its placeholders."""

    def __init__(self, key: str, values: dict[str, Any] | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.values: dict[str, Any] = dict(values or {})

    def formatted_values(self, lang: str) -> dict[str, str]:
        """The placeholder values as text in `lang` (amounts as money, dates written out)."""
        return {name: format_value(value, lang) for name, value in self.values.items()}


class Rupiah(int):
    """An int that messages show as money ("Rp 1.000.000"), so placeholders format correctly."""


# --- formatting --------------------------------------------------------------------------------


def format_int(value: int, lang: str) -> str:
    """'1.250.000' in Indonesian, '1,250,000' in English."""
    return number(int(value), lang)


def format_money(value: int, lang: str) -> str:
    """'Rp 1.250.000' / 'Rp 1,250,000'; negative '-Rp 5.000.000'."""
    sign = "-" if value < 0 else ""
    return f"{sign}Rp {number(abs(int(value)), lang)}"


def format_date(day: date, lang: str) -> str:
    """'15 Maret 2026' / '15 March 2026'."""
    return long_date(day, lang)


def format_yes_no(value: bool, lang: str) -> str:
    """'Ya'/'Tidak' or 'Yes'/'No'."""
    if lang == "en":
        return "Yes" if value else "No"
    return "Ya" if value else "Tidak"


def format_value(value: Any, lang: str) -> str:
    """Any placeholder value as text: Rupiah as money, bool yes/no, int grouped, date long."""
    if isinstance(value, bool):
        return format_yes_no(value, lang)
    if isinstance(value, Rupiah):
        return format_money(value, lang)
    if isinstance(value, int):
        return format_int(value, lang)
    if isinstance(value, date):
        return format_date(value, lang)
    return str(value)


# --- shared helpers ----------------------------------------------------------------------------

# Spaces Babel or phones may put inside numbers (no-break, narrow no-break, thin) and minus signs.
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2009": " ", "\u2212": "-",
                         "\u2013": "-"})


def _clean(text: Any, key: str, limit: int = MAX_INPUT) -> str:
    # The length check comes first so a megabyte of text costs nothing.
    if not isinstance(text, str) or len(text) > limit:
        raise ParseError(key)
    cleaned = " ".join(text.translate(_SPACES).lower().split())
    if not cleaned:
        raise ParseError(key)
    return cleaned


def _grouped(digits: str, sep: str) -> bool:
    # Thousands groups: 1–3 digits, then one or more groups of exactly three.
    parts = digits.split(sep)
    return (len(parts) > 1 and 1 <= len(parts[0]) <= 3
            and all(p.isdigit() and p.isascii() for p in parts)
            and all(len(p) == 3 for p in parts[1:]))


def _split_number(text: str, convention: str | None, key: str) -> tuple[str, str]:
    """Digits before and after the decimal separator, by the rules in the module docstring."""
    if " " in text:
        found = re.fullmatch(r"([0-9]{1,3}(?: [0-9]{3})+)(?:[.,]([0-9]+))?", text)
        if not found:
            raise ParseError(key)
        return found[1].replace(" ", ""), found[2] or ""
    if re.fullmatch(r"[0-9]+", text):
        return text, ""
    if not re.fullmatch(r"[0-9][0-9.,]*[0-9]", text):
        raise ParseError(key)
    dots, commas = text.count("."), text.count(",")
    if dots and commas:
        decimal = "." if text.rfind(".") > text.rfind(",") else ","
        group = "," if decimal == "." else "."
        whole, fraction = text.rsplit(decimal, 1)
        if decimal in whole or not _grouped(whole, group):
            raise ParseError(key)
        return whole.replace(group, ""), fraction
    sep = "." if dots else ","
    if text.count(sep) > 1:
        if not _grouped(text, sep):
            raise ParseError(key)
        return text.replace(sep, ""), ""
    whole, fraction = text.split(sep)
    thousands = len(fraction) == 3 and len(whole) <= 3 and whole != "0"
    if thousands and convention == "id":
        thousands = sep == "."
    elif thousands and convention == "en":
        thousands = sep == ","
    return (whole + fraction, "") if thousands else (whole, fraction)


# --- money -------------------------------------------------------------------------------------

# unit word → (multiplier, convention of the word: "id", "en" or None for both)
_UNITS: dict[str, tuple[int, str | None]] = {
    "": (1, None), "k": (10**3, None), "t": (10**12, None),
    **dict.fromkeys(("rb", "ribu"), (10**3, "id")),
    **dict.fromkeys(("jt", "juta"), (10**6, "id")),
    **dict.fromkeys(("m", "miliar", "milyar", "milyard", "miliard"), (10**9, "id")),
    **dict.fromkeys(("triliun", "trilyun"), (10**12, "id")),
    **dict.fromkeys(("thousand", "thousands"), (10**3, "en")),
    **dict.fromkeys(("million", "millions", "mn", "mio"), (10**6, "en")),
    **dict.fromkeys(("billion", "billions", "bn", "b"), (10**9, "en")),
    **dict.fromkeys(("trillion", "trillions", "tn"), (10**12, "en")),
}
_MONEY = re.compile(
    r"(?P<sign1>[-+]|minus )?\s*(?:(?:rp\.?|idr)\s*)?(?P<sign2>[-+]|minus )?\s*"
    r"(?P<number>[0-9][0-9., ]*?)\s*(?P<unit>[a-z]+)?\.?\s*(?:[.,]-)?"
)


def parse_money(text: str, *, allow_negative: bool = False, maximum: int = MONEY_MAX) -> int:
    """Rupiah from 'Rp 1.250.000', '1,25 jt', '2 M', '500 rb', '1.5 million', '(5.000.000)'…"""
    key = "parse.money"
    cleaned = re.sub(r"\s*(?:rupiah|idr)$", "", _clean(text, key))
    negative = False
    wrapped = re.fullmatch(r"((?:rp\.?|idr)?\s*)\((.*)\)", cleaned)
    if wrapped:  # accounting style: "(5.000.000)" or "Rp (5.000.000)"
        negative, cleaned = True, wrapped[1] + wrapped[2].strip()
    found = _MONEY.fullmatch(cleaned)
    if not found:
        raise ParseError(key)
    signs = [s.strip() for s in (found["sign1"], found["sign2"]) if s]
    if len(signs) > 1 or (negative and signs):
        raise ParseError(key)
    negative = negative or (signs != [] and signs[0] != "+")
    unit = _UNITS.get(found["unit"] or "")
    if unit is None:
        raise ParseError(key)
    multiplier, convention = unit
    whole, fraction = _split_number(found["number"].strip(), convention, key)
    scale = 10 ** len(fraction)
    value, rest = divmod(int(whole + fraction) * multiplier, scale)
    if 2 * rest >= scale:  # half up (away from zero: the sign is applied afterwards)
        value += 1
    if negative and value:
        if not allow_negative:
            raise ParseError("parse.negative")
        if value > maximum:
            raise ParseError("parse.too_small", {"min": Rupiah(-maximum)})
        return -value
    if value > maximum:
        raise ParseError("parse.too_big", {"max": Rupiah(maximum)})
    return value


# --- integers ----------------------------------------------------------------------------------

_INT = re.compile(r"(?P<sign>[-+]|minus )?\s*(?P<number>[0-9][0-9., ]*?)\s*"
                  r"(?:orang|org|people|persons?)?")


def parse_int(text: str, *, minimum: int = 0, maximum: int) -> int:
    """A whole number: '1234', '1.234', '1,234', '1 234' (optionally '25 orang')."""
    key = "parse.int"
    found = _INT.fullmatch(_clean(text, key))
    if not found:
        raise ParseError(key)
    digits = found["number"].strip()
    if not re.fullmatch(r"[0-9]+", digits):
        separators = {ch for ch in digits if not ch.isdigit()}
        if len(separators) != 1 or not _grouped(digits, separators.pop()):
            raise ParseError(key)  # "12.5" or "1.23": not a whole number
    value = int(re.sub(r"[., ]", "", digits))
    if found["sign"] and found["sign"].strip() != "+":
        value = -value
    if value < minimum:
        raise ParseError("parse.too_small", {"min": minimum})
    if value > maximum:
        raise ParseError("parse.too_big", {"max": maximum})
    return value


# --- dates -------------------------------------------------------------------------------------


def _month_names() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in ("id", "en", "en_GB"):  # en_GB adds "Sept"
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for month, name in get_month_names(width, context, locale).items():
                    names[name.lower().rstrip(".")] = month
    # Older Indonesian spellings and office abbreviations Babel does not know.
    names.update({"pebruari": 2, "peb": 2, "agt": 8, "ags": 8, "agus": 8, "nopember": 11,
                  "nop": 11})
    return names


def _weekday_names() -> set[str]:
    return {name.lower().rstrip(".")
            for locale in ("id", "en")
            for width in ("wide", "abbreviated")
            for name in get_day_names(width, "format", locale).values()}


MONTHS = _month_names()
_WEEKDAYS = _weekday_names()
_RELATIVE = {"hari ini": 0, "today": 0, "kemarin": -1, "yesterday": -1, "besok": 1,
             "tomorrow": 1}
_NUMERIC = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})\2([0-9]{4}|[0-9]{2})")
_ISO = re.compile(r"([0-9]{4})([/.-])([0-9]{1,2})\2([0-9]{1,2})")
_DAY_MONTH = re.compile(
    r"([0-9]{1,2})(?:st|nd|rd|th)?[ ./-]*([a-z]+)\.?(?:[ ,./-]+([0-9]{4}|[0-9]{2}))?"
)
_MONTH_DAY = re.compile(r"([a-z]+)\.? ?([0-9]{1,2})(?:st|nd|rd|th)?(?:,? ([0-9]{4}|[0-9]{2}))?")


def _year(text: str | None, today: date) -> int:
    if text is None:
        return today.year
    return 2000 + int(text) if len(text) == 2 else int(text)


def parse_date(text: str, *, today: date) -> date:
    """A date typed day first: '15/03/2026', '15 Maret 2026', '2026-03-15', 'March 15, 2026'…"""
    key = "parse.date"
    cleaned = _clean(text, key)
    cleaned = re.sub(r"^(?:tanggal|tgl\.?)\s*", "", cleaned)
    head, _, rest = cleaned.partition(" ")
    if head.rstrip(",.") in _WEEKDAYS and rest:  # "Minggu, 15 Maret 2026"
        cleaned = rest
    if cleaned in _RELATIVE:
        return today + timedelta(days=_RELATIVE[cleaned])
    if found := _NUMERIC.fullmatch(cleaned):
        day, month, year = int(found[1]), int(found[3]), _year(found[4], today)
    elif found := _ISO.fullmatch(cleaned):
        year, month, day = int(found[1]), int(found[3]), int(found[4])
    elif (found := _DAY_MONTH.fullmatch(cleaned)) and found[2] in MONTHS:
        day, month, year = int(found[1]), MONTHS[found[2]], _year(found[3], today)
    elif (found := _MONTH_DAY.fullmatch(cleaned)) and found[1] in MONTHS:
        day, month, year = int(found[2]), MONTHS[found[1]], _year(found[3], today)
    else:
        raise ParseError(key)
    try:
        return date(year, month, day)
    except ValueError:  # 31 February, month 13, year 0
        raise ParseError("parse.date_invalid") from None


# --- yes / no ----------------------------------------------------------------------------------

_YES = {"ya", "y", "iya", "yes", "benar", "betul", "sudah", "sdh", "udah", "true"}
_NO = {"tidak", "t", "tdk", "no", "n", "belum", "blm", "bukan", "gak", "nggak", "enggak",
       "tak", "false"}


def parse_yes_no(text: str) -> bool:
    """True for 'ya', 'iya', 'yes', 'sudah'…; False for 'tidak', 'tdk', 'no', 'belum'…"""
    cleaned = _clean(text, "parse.yes_no")
    # Keyboard buttons may carry an emoji or a full stop: keep only the word.
    word = re.sub(r"^[^a-z]+|[^a-z]+$", "", cleaned)
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ParseError("parse.yes_no")
