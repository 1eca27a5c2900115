"""Views of a cooperative shared by the managers' and the officers' commands."""

from __future__ import annotations

from markupsafe import Markup

from bot.formatting import local_datetime
from bot.services.parsing import format_yes_no
from bot.tg.context import KopContext
from storage.repositories import reports as reports_repo


async def report_lines(context: KopContext, coop_id: int, *, every_revision: bool) -> list[Markup]:
    """'Reports by year' for a profile (HTML lines): each year's newest revision (officers: all)."""
    records = await reports_repo.reports_of(context.session, coop_id)
    if not records:
        return [context.html("profile.no_reports")]
    lines = [context.html("profile.reports")]
    seen_years: set[int] = set()
    tz = context.runtime.settings.tz
    for record in records:
        if record.fiscal_year in seen_years and not every_revision:
            continue
        seen_years.add(record.fiscal_year)
        lines.append(context.html(
            "profile.report_line", year=record.fiscal_year, revision=record.revision,
            sent=local_datetime(record.submitted_at, context.lang, tz),
            rat=format_yes_no(record.rat_held, context.lang),
            operating=format_yes_no(record.still_operating, context.lang),
        ))
    return lines
