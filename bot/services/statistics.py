"""/statistik (SPEC 8): the office's figures, assembled from independent sections.

A `Section` is one block of figures: a `provide` function that asks the database for plain
data (aggregates only, through storage/repositories), a `render` function that turns the data
into text lines in the officer's language, and optionally `charts` that turn it into
`ChartData` for bot/charts.py. Sections register themselves in `SECTIONS`; `gather` runs them
in order for one officer's scope and year. The registry, annual reports and broadcasts are
built in (bot/services/statistics_sections.py); tickets, meetings and the report campaign are
sections of bot/services/statistics_office.py, registered the same way (`_SECTION_MODULES`).

No `telegram` import: the handler sends the text and the PNGs.
"""

from __future__ import annotations

import html
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import t
from bot.services.scope import Scope

# Modules that register sections when imported (built-ins first; others append theirs).
_SECTION_MODULES = ["bot.services.statistics_sections", "bot.services.statistics_office"]


@dataclass(frozen=True)
class StatsQuery:
    """What one /statistik covers."""

    scope: Scope
    fiscal_year: int  # the annual reports counted
    officer_id: int  # Telegram id of the asking officer
    officer_scoped: bool  # limited to some kecamatan (sees only his own broadcasts)
    now: datetime
    tz: ZoneInfo = ZoneInfo("Asia/Makassar")  # for dates shown to the officer


@dataclass(frozen=True)
class Series:
    """One stacked segment of every bar: a label, one value per category, a colour."""

    label: str
    values: list[int]
    color: str


@dataclass(frozen=True)
class ChartData:
    """Exactly what a chart plots: categories (bars, top to bottom) and stacked series."""

    key: str
    title: str
    categories: list[str]
    series: list[Series]
    axis_label: str
    lang: str = "id"  # of the numbers written on the bars

    def totals(self) -> list[int]:
        """The length of each bar."""
        return [sum(s.values[i] for s in self.series) for i in range(len(self.categories))]


@dataclass(frozen=True)
class Section:
    """One block of /statistik."""

    key: str
    order: int  # position in the text; built-ins use 10, 20, 30...
    provide: Callable[[AsyncSession, StatsQuery], Awaitable[Any]]
    render: Callable[[Any, StatsQuery, str], list[str]]  # (data, query, lang) → HTML lines
    charts: Callable[[Any, str], list[ChartData]] | None = None


SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> None:
    """Add (or replace) a section."""
    SECTIONS[section.key] = section


def sections() -> list[Section]:
    """Every registered section, in order."""
    for module in _SECTION_MODULES:
        importlib.import_module(module)
    return sorted(SECTIONS.values(), key=lambda s: (s.order, s.key))


@dataclass
class Statistics:
    """The figures of every section, by key, in order."""

    query: StatsQuery
    data: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        """The short report: a header, then each section's lines, blank lines between."""
        header = [t(lang, "stats.header")]
        if self.query.scope.narrowed:
            header.append(t(lang, "stats.scope", names=html.escape(", ".join(self.query.scope.names))))
        blocks = ["\n".join(header)]
        for section in sections():
            if section.key in self.data:
                lines = section.render(self.data[section.key], self.query, lang)
                if lines:
                    blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

    def charts(self, lang: str) -> list[ChartData]:
        """The data of every chart the sections offer."""
        found: list[ChartData] = []
        for section in sections():
            if section.charts is not None and section.key in self.data:
                found += section.charts(self.data[section.key], lang)
        return found


async def gather(session: AsyncSession, query: StatsQuery) -> Statistics:
    """Run every section for the query."""
    stats = Statistics(query)
    for section in sections():
        stats.data[section.key] = await section.provide(session, query)
    return stats


def top_categories(
    rows: list[tuple[str, list[int]]], limit: int, other_label: Callable[[int], str]
) -> list[tuple[str, list[int]]]:
    """At most `limit` bars: the largest rows, in their order, and the rest summed into one.

    A province or the country has thousands of kecamatan; a phone shows about twenty bars.
    """
    if len(rows) <= limit:
        return rows
    ranked = sorted(range(len(rows)), key=lambda i: (-sum(rows[i][1]), i))
    keep = sorted(ranked[: limit - 1])
    rest = ranked[limit - 1:]
    width = len(rows[0][1])
    other = [sum(rows[i][1][j] for i in rest) for j in range(width)]
    return [rows[i] for i in keep] + [(other_label(len(rest)), other)]
