"""The meeting date-time and reminder-offset parsers: examples, refusals and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.formatting import local_datetime
from bot.i18n import catalogue
from bot.services.parsing import ParseError
from bot.services.parsing_when import parse_offsets, parse_when

TZ = ZoneInfo("Asia/Makassar")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # Tuesday 1 December 2026, 10.00 WITA


def local(text: str) -> datetime:
    return parse_when(text, now=NOW, tz=TZ).astimezone(TZ).replace(tzinfo=None)


@pytest.mark.parametrize(("typed", "expected"), [
    ("12/12/2026 09.00", datetime(2026, 12, 12, 9, 0)),
    ("12-12-26 9:00", datetime(2026, 12, 12, 9, 0)),
    ("Kamis 10 Des jam 9", datetime(2026, 12, 10, 9, 0)),
    ("12 Desember 2026 pukul 09.00 WITA", datetime(2026, 12, 12, 9, 0)),
    ("12 Desember 2026 pukul 09.00 WIB", datetime(2026, 12, 12, 10, 0)),
    ("besok 14.00", datetime(2026, 12, 2, 14, 0)),
    ("lusa jam 10", datetime(2026, 12, 3, 10, 0)),
    ("hari ini jam 15.30", datetime(2026, 12, 1, 15, 30)),
    ("Kamis jam 3 sore", datetime(2026, 12, 3, 15, 0)),
    ("jam 8 malam", datetime(2026, 12, 1, 20, 0)),
    ("5 Jan jam 9", datetime(2027, 1, 5, 9, 0)),  # no year, already passed: next year
    ("tomorrow at 2pm", datetime(2026, 12, 2, 14, 0)),
    ("December 12, 2026 at 9:30 am", datetime(2026, 12, 12, 9, 30)),
    ("Thursday 10 Dec 2026 at 12pm", datetime(2026, 12, 10, 12, 0)),
])
def test_how_people_type_it(typed: str, expected: datetime) -> None:
    assert local(typed) == expected


@pytest.mark.parametrize(("typed", "key"), [
    ("31/02/2027 09.00", "parse.date_invalid"),
    ("12/12/2026 25.00", "when.time_invalid"),
    ("12/12/2026 9.75", "when.time_invalid"),
    ("13pm besok", "when.no_time"),
    ("Jumat 10 Des jam 9", "when.weekday_mismatch"),
    ("besok", "when.no_time"),
    ("kapan-kapan jam 9", "when.datetime"),
    ("hari ini jam 9", "when.past"),  # 09.00 WITA is before the clock's 10.00
    ("1/12/2026 09.59", "when.past"),
    ("1/1/2026 09.00", "when.past"),
])
def test_refusals_name_their_reason(typed: str, key: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_when(typed, now=NOW, tz=TZ)
    assert caught.value.key == key
    assert key in catalogue("id") and key in catalogue("en")


@given(st.datetimes(min_value=datetime(2027, 1, 1), max_value=datetime(2035, 12, 31)))
def test_shown_date_reads_back(moment: datetime) -> None:
    """Every moment, written as the preview writes it or as dd/mm/yyyy HH.MM, parses back."""
    moment = moment.replace(second=0, microsecond=0, tzinfo=TZ)
    numeric = moment.strftime("%d/%m/%Y %H.%M")
    assert parse_when(numeric, now=NOW, tz=TZ) == moment.astimezone(UTC)
    for lang in ("id", "en"):
        shown = local_datetime(moment, lang, TZ)
        assert parse_when(shown, now=NOW, tz=TZ) == moment.astimezone(UTC), shown


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2026, 11, 30)))
def test_the_past_is_always_refused(moment: datetime) -> None:
    with pytest.raises(ParseError) as caught:
        parse_when(moment.strftime("%d/%m/%Y %H.%M"), now=NOW, tz=TZ)
    assert caught.value.key == "when.past"


@given(st.text(max_size=40))
def test_any_text_parses_or_is_refused_with_a_known_message(text: str) -> None:
    try:
        moment = parse_when(text, now=NOW, tz=TZ)
    except ParseError as error:
        assert error.key in catalogue("id")
    else:
        assert moment > NOW


@pytest.mark.parametrize(("typed", "expected"), [
    ("7d,1d,2h", [timedelta(days=7), timedelta(days=1), timedelta(hours=2)]),
    ("1 hari, 2 jam", [timedelta(days=1), timedelta(hours=2)]),
    ("1 minggu dan 30 menit", [timedelta(days=7), timedelta(minutes=30)]),
    ("2 hours, 1 day, 2h", [timedelta(days=1), timedelta(hours=2)]),
    ("3 hari sebelumnya", [timedelta(days=3)]),
])
def test_offsets(typed: str, expected: list[timedelta]) -> None:
    assert parse_offsets(typed) == expected


@pytest.mark.parametrize(("typed", "key"), [
    ("kemarin", "when.offsets"), ("7x", "when.offsets"), ("", "when.offsets"),
    ("1 menit", "when.offset_range"), ("200 hari", "when.offset_range"),
    ("1d,2d,3d,4d,5d,6d,7d", "when.offsets"),
])
def test_offsets_refused(typed: str, key: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_offsets(typed)
    assert caught.value.key == key


@given(st.lists(st.integers(min_value=5, max_value=60 * 24 * 90), min_size=1, max_size=6))
def test_offsets_written_in_minutes_read_back(minutes: list[int]) -> None:
    typed = ", ".join(f"{m} menit" for m in minutes)
    assert parse_offsets(typed) == sorted({timedelta(minutes=m) for m in minutes}, reverse=True)
