"""Dates, times and numbers as people in Indonesia read them (Babel), or in English."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal

# Indonesia's own abbreviations; Babel would print "GMT+08:00".
_ZONE_NAMES = {"Asia/Makassar": "WITA", "Asia/Jakarta": "WIB", "Asia/Pontianak": "WIB",
               "Asia/Jayapura": "WIT"}
_LOCALES = {"id": "id_ID", "en": "en_GB"}


def zone_name(tz: ZoneInfo) -> str:
    """WITA, WIB or WIT for Indonesian zones, else the zone's key."""
    return _ZONE_NAMES.get(tz.key, tz.key)


def local_datetime(moment: datetime, lang: str, tz: ZoneInfo) -> str:
    """'Kamis, 1 Desember 2022 pukul 09.00 WITA' / 'Thursday, 1 December 2022 at 09:00 WITA'."""
    local = moment.astimezone(tz)
    pattern = "EEEE, d MMMM y 'pukul' HH.mm" if lang == "id" else "EEEE, d MMMM y 'at' HH:mm"
    return f"{format_datetime(local, pattern, locale=_LOCALES.get(lang, 'id_ID'))} {zone_name(tz)}"


def local_time(moment: datetime, lang: str, tz: ZoneInfo) -> str:
    """'09.00 WITA' / '09:00 WITA'."""
    local = moment.astimezone(tz)
    pattern = "HH.mm" if lang == "id" else "HH:mm"
    return f"{format_datetime(local, pattern, locale=_LOCALES.get(lang, 'id_ID'))} {zone_name(tz)}"


def long_date(day: date, lang: str) -> str:
    """'1 Desember 2022' / '1 December 2022'."""
    return format_date(day, "d MMMM y", locale=_LOCALES.get(lang, "id_ID"))


def number(value: int, lang: str) -> str:
    """'1.250.000' in Indonesian, '1,250,000' in English."""
    return format_decimal(value, locale=_LOCALES.get(lang, "id_ID"))
