"""When a meeting starts, and how long before it to remind, as people type them.

Date and time, Indonesian first, English too, always read in the office's timezone and relative
to the program's clock (`bot.clock`):

- numeric dates day first: "12/12/2026 09.00", "12-12-26 9:00";
- month names (Babel's, both languages, with the office abbreviations of `parsing`):
  "12 Desember 2026 pukul 09.00 WITA", "Kamis 12 Des jam 9", "December 12, 2026 at 9am";
- relative days: "hari ini", "besok 14.00", "lusa jam 10", "today 3pm", "tomorrow at 14:00";
- a weekday alone: "Kamis jam 9" is the next Thursday (today if today is Thursday);
- the time after "jam", "pukul", "pkl" or "at", or as the last word "09.00" / "9:30" / "2pm";
  "pagi", "siang", "sore", "malam" after the hour ("jam 3 sore" is 15.00);
- a zone name at the end (WITA, WIB, WIT) reads the time in that zone.

A date without a year that has already passed this year is next year's ("5 Jan" typed in
December). A weekday that does not match the date, a date not on the calendar, a time like
25.00, and any moment not in the future are refused, each with its own message.

Offsets: "7d,1d,2h" (the REMINDER_OFFSETS form, read by `bot.settings.parse_offset`) or words:
"1 hari, 2 jam", "30 menit", "1 minggu", "2 hours".
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import get_day_names

from bot.services.parsing import MAX_INPUT, ParseError, _clean, parse_date
from bot.settings import parse_offset

_ZONES = {"wita": "Asia/Makassar", "wib": "Asia/Jakarta", "wit": "Asia/Jayapura"}
_DAYS_AHEAD = {"lusa": 2, "day after tomorrow": 2}
_TIME_MARK = re.compile(
    r"(?:^|\s|,)(?:jam|pukul|pkl\.?|at|@)\s*(?P<h>\d{1,2})(?:[.:](?P<m>\d{2}))?\s*(?P<p>am|pm|a\.m\.|p\.m\.|pagi|siang|sore|malam)?$"
)
_TIME_END = re.compile(
    r"(?:^|\s|,)(?P<h>\d{1,2})(?:(?:[.:](?P<m>\d{2}))\s*(?P<p>am|pm|pagi|siang|sore|malam)?|\s*(?P<p2>am|pm))$"
)
MIN_OFFSET = timedelta(minutes=5)
MAX_OFFSET = timedelta(days=90)
MAX_OFFSETS = 6


def _weekdays() -> dict[str, int]:
    names: dict[str, int] = {}
    for locale in ("id", "en"):
        for width in ("wide", "abbreviated"):
            for index, name in get_day_names(width, "format", locale).items():
                names[name.lower().rstrip(".")] = index
    return names


WEEKDAYS = _weekdays()


def _hour(hour: int, minute: int, period: str | None) -> time:
    if period in ("am", "a.m.", "pm", "p.m."):
        if not 1 <= hour <= 12:
            raise ParseError("when.time_invalid")
        hour = hour % 12 + (12 if period.startswith("p") else 0)
    elif period in ("siang",) and hour < 11 or period == "sore" and hour < 12 or period == "malam" and 6 <= hour < 12:
        hour += 12
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ParseError("when.time_invalid")
    return time(hour, minute)


def _split_time(text: str) -> tuple[str, time | None]:
    for pattern in (_TIME_MARK, _TIME_END):
        found = pattern.search(text)
        if found:
            period = found["p"] or found.groupdict().get("p2")
            at = _hour(int(found["h"]), int(found["m"] or 0), period)
            return text[: found.start()].strip(" ,"), at
    return text, None


def _day(text: str, today: date) -> date:
    """The date part ('' is today)."""
    text = re.sub(r"^(?:hari(?!\s+ini)|tanggal|tgl\.?|on)\s+(?=\D)", "", text).strip(" ,")
    if not text:
        return today
    if text in _DAYS_AHEAD:
        return today + timedelta(days=_DAYS_AHEAD[text])
    head, _, rest = text.partition(" ")
    weekday = WEEKDAYS.get(head.rstrip(",."))
    if weekday is not None and not rest:  # "Kamis": the next Thursday
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    day = parse_date(text, today=today)  # raises ParseError with its own key
    if not re.search(r"\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2}", text) and day < today:
        try:
            day = day.replace(year=day.year + 1)  # "5 Jan" in December: next January
        except ValueError:  # 29 February of a leap year
            raise ParseError("parse.date_invalid") from None
    if weekday is not None and day.weekday() != weekday:
        raise ParseError("when.weekday_mismatch", {"day": day})
    return day


def parse_when(text: str, *, now: datetime, tz: ZoneInfo) -> datetime:
    """The moment typed, as an aware UTC datetime, strictly after `now`."""
    cleaned = _clean(text, "when.datetime", MAX_INPUT)
    zone = tz
    for name, key in _ZONES.items():
        if cleaned.endswith(" " + name) or cleaned == name:
            zone = ZoneInfo(key)
            cleaned = cleaned[: -len(name)].strip(" ,")
            break
    date_part, at = _split_time(cleaned)
    if at is None:
        raise ParseError("when.no_time")
    try:
        day = _day(date_part, now.astimezone(zone).date())
    except ParseError as error:
        if error.key == "parse.date":
            raise ParseError("when.datetime") from None
        raise
    moment = datetime.combine(day, at, tzinfo=zone)
    if moment <= now:
        raise ParseError("when.past")
    return moment.astimezone(ZoneInfo("UTC"))


_OFFSET_WORDS = {
    "m": ("m", 1), "menit": ("m", 1), "min": ("m", 1), "mins": ("m", 1), "minute": ("m", 1),
    "minutes": ("m", 1), "h": ("h", 1), "j": ("h", 1), "jam": ("h", 1), "hour": ("h", 1),
    "hours": ("h", 1), "hr": ("h", 1), "hrs": ("h", 1), "d": ("d", 1), "hari": ("d", 1),
    "day": ("d", 1), "days": ("d", 1), "minggu": ("d", 7), "pekan": ("d", 7), "week": ("d", 7),
    "weeks": ("d", 7), "w": ("d", 7),
}
_OFFSET_PART = re.compile(r"(\d{1,6})\s*([a-z]+)(?:\s+(?:sebelum(?:nya)?|before))?")


def parse_offsets(text: str) -> list[timedelta]:
    """Reminder offsets, longest first, each once: '7d,1d,2h', '1 hari, 2 jam', '1 week, 30 min'."""
    cleaned = _clean(text, "when.offsets", 200)
    parts = [p.strip() for p in re.split(r"[,;]|\bdan\b|\band\b", cleaned) if p.strip()]
    if not parts or len(parts) > MAX_OFFSETS:
        raise ParseError("when.offsets", {"max": MAX_OFFSETS})
    found: set[timedelta] = set()
    for part in parts:
        match = _OFFSET_PART.fullmatch(part)
        if not match or match[2] not in _OFFSET_WORDS:
            raise ParseError("when.offsets", {"max": MAX_OFFSETS})
        unit, factor = _OFFSET_WORDS[match[2]]
        offset = parse_offset(f"{int(match[1]) * factor}{unit}")
        if not MIN_OFFSET <= offset <= MAX_OFFSET:
            raise ParseError("when.offset_range")
        found.add(offset)
    return sorted(found, reverse=True)
