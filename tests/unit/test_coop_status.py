"""The status rule: aktif when the latest report says operating and a recent RAT was held."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.coop_status import (
    ReportFacts,
    derive_status,
    last_closed_fiscal_year,
    reason_text,
    report_years_offered,
)
from storage.models import CoopStatus

AKTIF, TIDAK = CoopStatus.AKTIF, CoopStatus.TIDAK_AKTIF


def _facts(year: int, rat: bool = True, operating: bool = True) -> ReportFacts:
    return ReportFacts(fiscal_year=year, rat_held=rat, still_operating=operating)


def test_no_report() -> None:
    """Without any report the cooperative counts as inactive."""
    assert derive_status([], current_fiscal_year=2025) == (TIDAK, "status.no_report")


@pytest.mark.parametrize(
    ("reports", "expected"),
    [
        ([_facts(2025)], (AKTIF, "status.active")),
        ([_facts(2024)], (AKTIF, "status.active")),  # RAT in the window's older year
        ([_facts(2023)], (TIDAK, "status.no_recent_rat")),
        ([_facts(2024), _facts(2025, rat=False)], (AKTIF, "status.active")),
        ([_facts(2023), _facts(2025, rat=False)], (TIDAK, "status.no_recent_rat")),
        ([_facts(2025, operating=False)], (TIDAK, "status.not_operating")),
        # Only the latest report's "operating" answer counts.
        ([_facts(2024, operating=False), _facts(2025)], (AKTIF, "status.active")),
        ([_facts(2025), _facts(2024, operating=False)], (AKTIF, "status.active")),
        ([_facts(2024), _facts(2025, rat=False, operating=False)],
         (TIDAK, "status.not_operating")),
        ([_facts(2026)], (AKTIF, "status.active")),  # a report newer than the window counts
    ],
)
def test_two_year_rule(reports: list[ReportFacts], expected: tuple[CoopStatus, str]) -> None:
    """Default: a RAT for the current fiscal year or the one before."""
    assert derive_status(reports, current_fiscal_year=2025) == expected


@pytest.mark.parametrize(
    ("reports", "expected"),
    [
        ([_facts(2023)], (AKTIF, "status.active")),
        ([_facts(2022)], (TIDAK, "status.no_recent_rat")),
        ([_facts(2023), _facts(2024, rat=False), _facts(2025, rat=False)],
         (AKTIF, "status.active")),
        ([_facts(2022), _facts(2024, rat=False), _facts(2025, rat=False)],
         (TIDAK, "status.no_recent_rat")),
    ],
)
def test_three_year_rule(reports: list[ReportFacts], expected: tuple[CoopStatus, str]) -> None:
    """Configured to 3 years, a RAT two years before the current fiscal year still counts."""
    assert derive_status(reports, current_fiscal_year=2025, inactive_after_years=3) == expected


def test_a_newer_revision_of_the_same_year_wins() -> None:
    """Revisions are passed in submission order; the later one decides."""
    first, corrected = _facts(2025, rat=False), _facts(2025, rat=True)
    assert derive_status([first, corrected], current_fiscal_year=2025)[0] == AKTIF
    assert derive_status([corrected, first], current_fiscal_year=2025)[0] == TIDAK
    stopped = _facts(2025, operating=False)
    assert derive_status([_facts(2025), stopped], current_fiscal_year=2025) == (
        TIDAK, "status.not_operating")


def test_window_must_be_at_least_one_year() -> None:
    """Zero years would make every cooperative inactive: a configuration mistake."""
    with pytest.raises(ValueError):
        derive_status([_facts(2025)], current_fiscal_year=2025, inactive_after_years=0)


def test_reason_texts() -> None:
    """Reasons read as sentences, naming the number of years where it matters."""
    assert reason_text("status.no_recent_rat", "id") == (
        "Tidak ada RAT dalam 2 tahun buku terakhir.")
    assert reason_text("status.no_recent_rat", "en", inactive_after_years=3) == (
        "No RAT in the last 3 fiscal years.")
    assert reason_text("status.no_report", "en") == "No annual report yet."
    assert "beroperasi" in reason_text("status.not_operating", "id")


def test_years() -> None:
    """The last closed fiscal year is last calendar year; /laporan offers it and the one before."""
    assert last_closed_fiscal_year(date(2026, 1, 1)) == 2025
    assert last_closed_fiscal_year(date(2026, 12, 31)) == 2025
    assert report_years_offered(date(2026, 3, 10)) == [2025, 2024]
