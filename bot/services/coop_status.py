"""The status rule (SPEC 4): aktif or tidak aktif, derived from a cooperative's annual reports.

A cooperative is aktif when its latest report says it still operates and it held a RAT for one
of the last `inactive_after_years` fiscal years; otherwise it is tidak aktif. Sources disagree
on the number of years (2 or 3, see DOMAIN), so it is a parameter. An officer's hand-set status
is stored elsewhere and wins until the next report; dissolution (dibubarkan) is never derived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.services.parsing_messages import render
from storage.models import CoopStatus

ACTIVE = "status.active"
NO_REPORT = "status.no_report"
NOT_OPERATING = "status.not_operating"
NO_RECENT_RAT = "status.no_recent_rat"


@dataclass(frozen=True)
class ReportFacts:
    """The three facts of one annual report that the status rule looks at."""

    fiscal_year: int
    rat_held: bool
    still_operating: bool


def derive_status(
    reports: list[ReportFacts], *, current_fiscal_year: int, inactive_after_years: int = 2
) -> tuple[CoopStatus, str]:
    """(status, reason key) by the rule above; the key is one of the status.* messages.

    `current_fiscal_year` is the newest fiscal year that counts (normally the last closed one);
    the window is it and the `inactive_after_years - 1` years before. For a year reported more
    than once, the report that comes later in `reports` (the newer revision) is the one used.
    """
    if inactive_after_years < 1:
        raise ValueError("inactive_after_years must be at least 1")
    if not reports:
        return CoopStatus.TIDAK_AKTIF, NO_REPORT
    by_year: dict[int, ReportFacts] = {}
    for report in reports:
        by_year[report.fiscal_year] = report  # later revisions replace earlier ones
    latest = by_year[max(by_year)]
    if not latest.still_operating:
        return CoopStatus.TIDAK_AKTIF, NOT_OPERATING
    # A report for a year newer than the window (the year still running) also shows a RAT.
    oldest = current_fiscal_year - inactive_after_years + 1
    if any(year >= oldest and facts.rat_held for year, facts in by_year.items()):
        return CoopStatus.AKTIF, ACTIVE
    return CoopStatus.TIDAK_AKTIF, NO_RECENT_RAT


def reason_text(key: str, lang: str, *, inactive_after_years: int = 2) -> str:
    """The reason key of derive_status as a sentence in `lang` (for the registry's reason)."""
    values = {"years": inactive_after_years} if key in (ACTIVE, NO_RECENT_RAT) else {}
    return render(key, values, lang)


def last_closed_fiscal_year(today: date) -> int:
    """The newest fiscal year whose books are closed (they close on 31 December)."""
    return today.year - 1


def report_years_offered(today: date) -> list[int]:
    """The fiscal years /laporan offers, newest first: the last closed year and the one before."""
    year = last_closed_fiscal_year(today)
    return [year, year - 1]
