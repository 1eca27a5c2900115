"""The built-in sections of /statistik: the registry, annual reports, broadcasts.

Each has a provider (plain data from SQL aggregates), a text renderer and, for the first two,
a chart: cooperatives by status per kecamatan, and reports received against expected per
kecamatan, both as stacked horizontal bars (kecamatan names stay readable on a phone).
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from babel.numbers import format_percent
from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.outbox import progress
from bot.formatting import long_date, number
from bot.i18n import t
from bot.services.statistics import (
    ChartData,
    Section,
    Series,
    StatsQuery,
    register_section,
    top_categories,
)
from storage.models import CoopStatus
from storage.repositories import broadcasts as broadcast_repo
from storage.repositories import statistics as repo

MAX_BARS = 30  # bars per chart (a regency has ~25 kecamatan); the rest summed into one bar
TEXT_KECAMATAN = 5  # kecamatan named in the text (the chart shows more)
LAST_BROADCASTS = 5
STATUS_COLORS = {CoopStatus.AKTIF: "#2e7d32", CoopStatus.TIDAK_AKTIF: "#ef6c00",
                 CoopStatus.DIBUBARKAN: "#9e9e9e"}
RECEIVED_COLOR, MISSING_COLOR = "#1565c0", "#cfd8dc"


def percent(part: int, whole: int, lang: str) -> str:
    """'39,2%' / '39.2%' (Babel); '–' of nothing."""
    if whole == 0:
        return "–"
    return format_percent(part / whole, "#,##0.0%", locale="id_ID" if lang == "id" else "en_GB")


def status_label(status: CoopStatus, lang: str) -> str:
    """aktif / tidak aktif / dibubarkan in the officer's language."""
    return t(lang, f"status.{status.name.lower()}")


def _other(lang: str) -> Any:
    return lambda count: t(lang, "stats.other_kecamatan", count=number(count, lang))


# --- cooperatives by status and kecamatan ----------------------------------------------------


@dataclass(frozen=True)
class KecamatanStatus:
    """One kecamatan's cooperatives by status."""

    kecamatan_id: int
    name: str
    counts: dict[CoopStatus, int]

    @property
    def total(self) -> int:
        """All its cooperatives."""
        return sum(self.counts.values())


@dataclass(frozen=True)
class RegistryFigures:
    """Cooperatives by status, overall and per kecamatan (by name)."""

    by_status: dict[CoopStatus, int]
    kecamatan: list[KecamatanStatus]

    @property
    def total(self) -> int:
        """All cooperatives in scope."""
        return sum(self.by_status.values())


async def provide_registry(session: AsyncSession, query: StatsQuery) -> RegistryFigures:
    """Count the registry by kecamatan and status."""
    per: dict[int, KecamatanStatus] = {}
    by_status = dict.fromkeys(CoopStatus, 0)
    for kecamatan_id, name, status, count in await repo.status_by_kecamatan(
        session, query.scope.kecamatan_ids
    ):
        entry = per.setdefault(kecamatan_id, KecamatanStatus(kecamatan_id, name, dict.fromkeys(CoopStatus, 0)))
        entry.counts[status] += count
        by_status[status] += count
    return RegistryFigures(by_status, list(per.values()))


def render_registry(data: RegistryFigures, query: StatsQuery, lang: str) -> list[str]:
    """Totals by status and the kecamatan with the most cooperatives."""
    lines = [t(lang, "stats.coops", total=number(data.total, lang))]
    for status in CoopStatus:
        count = data.by_status[status]
        if count or status != CoopStatus.DIBUBARKAN:
            lines.append(t(lang, "stats.status_line", status=status_label(status, lang),
                           count=number(count, lang), percent=percent(count, data.total, lang)))
    biggest = sorted(data.kecamatan, key=lambda k: (-k.total, k.name))[:TEXT_KECAMATAN]
    if len(data.kecamatan) > 1 and biggest:
        lines.append(t(lang, "stats.kecamatan_top"))
        lines += [t(lang, "stats.kecamatan_line", name=html.escape(k.name), total=number(k.total, lang),
                    active=number(k.counts[CoopStatus.AKTIF], lang)) for k in biggest]
    return lines


def chart_registry(data: RegistryFigures, lang: str) -> list[ChartData]:
    """Stacked bars: each kecamatan's cooperatives by status."""
    statuses = [s for s in CoopStatus if data.by_status[s] or s != CoopStatus.DIBUBARKAN]
    rows = [(k.name, [k.counts[s] for s in statuses]) for k in data.kecamatan]
    rows = top_categories(rows, MAX_BARS, _other(lang))
    return [ChartData(
        key="status_by_kecamatan",
        title=t(lang, "stats.chart_status_title", total=number(data.total, lang)),
        categories=[name for name, _ in rows],
        series=[Series(status_label(s, lang), [values[i] for _, values in rows], STATUS_COLORS[s])
                for i, s in enumerate(statuses)],
        axis_label=t(lang, "stats.chart_coops_axis"),
        lang=lang,
    )]


# --- annual reports received vs expected ------------------------------------------------------


@dataclass(frozen=True)
class KecamatanReports:
    """One kecamatan's reports for the year."""

    kecamatan_id: int
    name: str
    expected: int
    received: int

    @property
    def missing(self) -> int:
        """Expected but not received."""
        return self.expected - self.received


@dataclass(frozen=True)
class ReportFigures:
    """Annual reports of one fiscal year, per kecamatan (by name)."""

    fiscal_year: int
    kecamatan: list[KecamatanReports]

    @property
    def expected(self) -> int:
        """Cooperatives that owe the year's report."""
        return sum(k.expected for k in self.kecamatan)

    @property
    def received(self) -> int:
        """Of them, those that sent it."""
        return sum(k.received for k in self.kecamatan)


async def provide_reports(session: AsyncSession, query: StatsQuery) -> ReportFigures:
    """Count expected and received reports of the query's year per kecamatan."""
    rows = await repo.reports_by_kecamatan(session, query.fiscal_year, query.scope.kecamatan_ids)
    return ReportFigures(query.fiscal_year, [KecamatanReports(*row) for row in rows])


def render_reports(data: ReportFigures, query: StatsQuery, lang: str) -> list[str]:
    """Received of expected, and where most are missing."""
    lines = [t(lang, "stats.reports", year=data.fiscal_year, received=number(data.received, lang),
               expected=number(data.expected, lang), percent=percent(data.received, data.expected, lang))]
    missing = sorted((k for k in data.kecamatan if k.missing), key=lambda k: (-k.missing, k.name))
    if missing and len(data.kecamatan) > 1:
        lines.append(t(lang, "stats.reports_missing", list=", ".join(
            f"{html.escape(k.name)} {number(k.missing, lang)}" for k in missing[:TEXT_KECAMATAN]
        )))
    return lines


def chart_reports(data: ReportFigures, lang: str) -> list[ChartData]:
    """Stacked bars: received and still missing, adding up to expected."""
    rows = top_categories([(k.name, [k.received, k.missing]) for k in data.kecamatan], MAX_BARS, _other(lang))
    return [ChartData(
        key="reports_by_kecamatan",
        title=t(lang, "stats.chart_reports_title", year=data.fiscal_year,
                received=number(data.received, lang), expected=number(data.expected, lang)),
        categories=[name for name, _ in rows],
        series=[Series(t(lang, "stats.chart_received"), [v[0] for _, v in rows], RECEIVED_COLOR),
                Series(t(lang, "stats.chart_missing"), [v[1] for _, v in rows], MISSING_COLOR)],
        axis_label=t(lang, "stats.chart_coops_axis"),
        lang=lang,
    )]


# --- the last broadcasts -------------------------------------------------------------------------


@dataclass(frozen=True)
class BroadcastResult:
    """One broadcast's delivery so far."""

    broadcast_id: int
    sent_at: datetime | None
    total: int
    sent: int
    failed: int
    blocked: int

    @property
    def pending(self) -> int:
        """Not yet final."""
        return self.total - self.sent - self.failed - self.blocked


async def provide_broadcasts(session: AsyncSession, query: StatsQuery) -> list[BroadcastResult]:
    """The newest broadcasts (a scoped officer: his own) with sent/failed/blocked."""
    rows = await broadcast_repo.latest_sent(
        session, query.officer_id if query.officer_scoped else None, LAST_BROADCASTS
    )
    results = []
    for b in rows:
        p = await progress(session, b.batch_id) if b.batch_id else None
        results.append(BroadcastResult(b.id, b.sent_at, p.total if p else b.recipients or 0,
                                       p.sent if p else 0, p.failed if p else 0, p.blocked if p else 0))
    return results


def render_broadcasts(data: list[BroadcastResult], query: StatsQuery, lang: str) -> list[str]:
    """One line per broadcast."""
    lines = [t(lang, "stats.broadcasts")]
    if not data:
        return [*lines, t(lang, "stats.broadcasts_none")]
    for b in data:
        day = long_date(b.sent_at.astimezone(query.tz).date(), lang) if b.sent_at else "–"
        lines.append(t(lang, "stats.broadcast_line", id=b.broadcast_id, date=day, sent=number(b.sent, lang),
                       total=number(b.total, lang), failed=number(b.failed, lang),
                       blocked=number(b.blocked, lang)))
        if b.pending:
            lines[-1] += t(lang, "stats.broadcast_pending", pending=number(b.pending, lang))
    return lines


register_section(Section("registry", 10, provide_registry, render_registry, chart_registry))
register_section(Section("reports", 20, provide_reports, render_reports, chart_reports))
register_section(Section("broadcasts", 60, provide_broadcasts, render_broadcasts))
