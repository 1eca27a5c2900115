"""The program's one clock: installable, movable, and what `utcnow` reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import clock
from storage.types import utcnow


@pytest.fixture
def manual() -> clock.ManualClock:
    fixed = clock.ManualClock(datetime(2027, 1, 15, 0, 0, tzinfo=UTC))
    previous = clock.install(fixed)
    yield fixed
    clock.install(previous)


def test_utcnow_follows_the_installed_clock(manual: clock.ManualClock) -> None:
    assert utcnow() == datetime(2027, 1, 15, tzinfo=UTC)
    manual.advance(timedelta(hours=24))
    assert utcnow() == datetime(2027, 1, 16, tzinfo=UTC)
    manual.set(datetime(2027, 3, 31, 8, tzinfo=UTC))
    assert clock.now() == datetime(2027, 3, 31, 8, tzinfo=UTC)


def test_manual_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        clock.ManualClock(datetime(2027, 1, 1))


def test_offset_file_clock_moves_when_the_file_changes(tmp_path) -> None:
    path = tmp_path / "offset"
    moved = clock.OffsetFileClock(path)
    assert abs((moved.now() - datetime.now(UTC)).total_seconds()) < 5  # no file: no offset
    clock.write_offset(path, timedelta(days=3))
    assert (moved.now() - datetime.now(UTC)) > timedelta(days=3) - timedelta(seconds=5)
    clock.write_offset(path, timedelta(0))
    assert abs((moved.now() - datetime.now(UTC)).total_seconds()) < 5
