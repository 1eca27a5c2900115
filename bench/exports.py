"""Benchmark: exports and /statistik at national size (default 210,000 cooperatives).

A loader fills a fresh database with N synthetic cooperatives spread over 7,000 kecamatan (the
country has about 7,200) and annual reports for 40 % of them (some with two revisions). Then,
each in its own child process so that its peak resident memory (`ru_maxrss`) is its own:

- `csv`: the registry CSV export (streamed in pages);
- `xlsx`: the annual-report XLSX export (openpyxl write-only);
- `stats`: /statistik as the bot does it — the SQL aggregates, the text, the two PNG charts —
  five times; the first includes importing matplotlib. Target: the text answer under 2 s in
  every run, and text plus both charts under 2 s (median of the runs after the first).

    .venv/bin/python bench/exports.py [--rows 210000] [--scaling] [--postgres URL]

`--only stats` (repeatable) measures some parts only. `--scaling` runs N/10 too and compares peak memory (flat: 10x the rows costs < 25 % more).
`--postgres postgresql+asyncpg://postgres@127.0.0.1:5432/postgres` repeats everything on
PostgreSQL, in a scratch database created and dropped by the run. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
STATS_TARGET_SECONDS = 2.0
FLAT_RATIO = 1.25
KECAMATAN = 7000
YEAR = 2024
REPORTED = 0.4
_COLUMNS = ("name", "form", "type", "kecamatan_id", "incorporated_on", "status", "synthetic")


def _peak_rss_mb() -> float:
    scale = 1 if sys.platform == "darwin" else 1024
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20, 1)


# --- loading -------------------------------------------------------------------------------------


async def load(url: str, rows: int) -> dict[str, Any]:
    """Migrate and fill the database; returns how long it took."""
    from sqlalchemy import insert

    from bot.seed import KECAMATAN_KABUPATEN_KUPANG
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.models import AnnualReportRecord, CoopStatus, Person
    from storage.repositories import registry as repo

    await asyncio.to_thread(upgrade, url)
    rng = random.Random(7)
    started = time.perf_counter()
    db = Database(url)
    try:
        async with db.session() as session:
            names = [*KECAMATAN_KABUPATEN_KUPANG, *(f"Kecamatan {i:04d}" for i in range(KECAMATAN - 24))]
            ids = list((await repo.ensure_kecamatan(session, names)).values())
            person = Person(telegram_id=1, first_name="Bench")
            session.add(person)
            await session.flush()
            person_id = person.id
        batch: list[dict[str, Any]] = []
        for i in range(1, rows + 1):
            # A few big kecamatan and a long tail, as in the country.
            kecamatan = ids[min(int(rng.paretovariate(1.2)) - 1, len(ids) - 1)] if rng.random() < 0.3 \
                else rng.choice(ids)
            active = rng.random() < 0.4
            batch.append({
                "registration_number": f"BENCH-{i:07d}", "name": f"Koperasi Bench {rng.randint(1, 99999)} {i}",
                "form": "primer", "type": "simpan pinjam", "kecamatan_id": kecamatan,
                "incorporated_on": date(rng.randint(1970, 2020), 1, 1),
                "status": CoopStatus.AKTIF if active else CoopStatus.TIDAK_AKTIF, "synthetic": True,
            })
            if len(batch) == 5000 or i == rows:
                async with db.session() as session:
                    await repo.upsert_cooperatives(session, batch, columns=_COLUMNS)
                batch = []
        reports: list[dict[str, Any]] = []
        report = {
            "fiscal_year": YEAR, "submitted_by": person_id, "submitted_at": datetime(YEAR + 1, 3, 1, tzinfo=UTC),
            "rat_held": True, "rat_date": date(YEAR + 1, 2, 1), "members_men": 40, "members_women": 45,
            "pengurus": 5, "pengawas": 3, "employees": 2, "total_assets": 750_000_000,
            "own_capital": 500_000_000, "external_capital": 100_000_000, "business_volume": 1_200_000_000,
            "surplus": 25_000_000, "still_operating": True, "main_business": "Simpan pinjam",
            "obstacles": ["modal"], "support_needed": ["pelatihan_sdm"], "notes": None,
        }
        chosen = sorted(rng.sample(range(1, rows + 1), int(rows * REPORTED)))
        for n, coop_id in enumerate(chosen, start=1):
            reports.append({**report, "cooperative_id": coop_id, "revision": 1})
            if coop_id % 10 == 0:
                reports.append({**report, "cooperative_id": coop_id, "revision": 2})
            if len(reports) >= 5000 or n == len(chosen):
                async with db.session() as session:
                    await session.execute(insert(AnnualReportRecord), reports)
                reports = []
        async with db.session() as session:
            if db.is_sqlite:
                from sqlalchemy import text

                await session.execute(text("ANALYZE"))
    finally:
        await db.dispose()
    if not db.is_sqlite:
        import asyncpg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        conn = await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                                     password=parsed.password, database=parsed.database)
        try:
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    return {"load_seconds": round(time.perf_counter() - started, 1)}


# --- measuring -----------------------------------------------------------------------------------


async def measure(url: str, what: str, workdir: Path) -> dict[str, Any]:
    """One measurement in this process: an export, or /statistik."""
    from zoneinfo import ZoneInfo

    from bot import exports
    from bot.exports.base import ExportRequest
    from bot.services.scope import Scope
    from storage.db import Database

    tz = ZoneInfo("Asia/Makassar")
    db = Database(url)
    try:
        baseline = _peak_rss_mb()
        if what in ("csv", "xlsx"):
            kind = "registry" if what == "csv" else "reports"
            request = ExportRequest(kind=kind, scope=Scope(None), out_dir=workdir, tz=tz, now=datetime.now(UTC),
                                    fiscal_year=YEAR if kind == "reports" else None)
            started = time.perf_counter()
            result = await exports.run(db, request)
            seconds = time.perf_counter() - started
            return {"rows": result.rows, "seconds": round(seconds, 2), "rows_per_second": round(result.rows / seconds),
                    "file_mb": round(sum(p.stat().st_size for p in result.files) / 2**20, 1),
                    "peak_rss_mb": _peak_rss_mb(), "baseline_rss_mb": baseline}
        return await _statistics(db, tz, baseline)
    finally:
        await db.dispose()


async def _statistics(db: Any, tz: Any, baseline: float) -> dict[str, Any]:
    from bot import charts
    from bot.services import statistics
    from bot.services.scope import Scope

    query = statistics.StatsQuery(scope=Scope(None), fiscal_year=YEAR, officer_id=1, officer_scoped=False,
                                  now=datetime.now(UTC), tz=tz)
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        async with db.session() as session:
            stats = await statistics.gather(session, query)
        text = stats.text("id")
        answered = time.perf_counter() - started
        pngs = [await asyncio.to_thread(charts.render_png, c) for c in stats.charts("id") if c.categories]
        runs.append((answered, time.perf_counter() - started, len(pngs)))
    registry = stats.data["registry"]
    reports = stats.data["reports"]
    return {
        "cooperatives": registry.total, "kecamatan": len(registry.kecamatan),
        "reports_received": reports.received, "reports_expected": reports.expected,
        "text_chars": len(text), "charts": runs[0][2],
        # The answer (figures as text) of every run, the first included (imports).
        "first_text_seconds": round(runs[0][0], 3), "text_seconds_max": round(max(r[0] for r in runs), 3),
        "text_seconds_median": round(median(r[0] for r in runs[1:]), 3),
        # Text and both charts drawn: the first run imports matplotlib (and may build its font
        # cache), the others are what an officer sees once the process has drawn one chart.
        "first_total_seconds": round(runs[0][1], 3),
        "total_seconds_median": round(median(r[1] for r in runs[1:]), 3),
        "total_seconds_max_warm": round(max(r[1] for r in runs[1:]), 3),
        "peak_rss_mb": _peak_rss_mb(), "baseline_rss_mb": baseline,
    }


# --- orchestration -------------------------------------------------------------------------------


def _child(*args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


async def _pg_admin(server_url: str, sql: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(server_url)
    conn = await asyncpg.connect(host=parsed.host, port=parsed.port, user=parsed.username,
                                 password=parsed.password, database=parsed.database or "postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _one_size(rows: int, backend: str, postgres: str | None, parts: list[str]) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    with tempfile.TemporaryDirectory(prefix="kopdesk-bench-exports-") as workdir:
        if backend == "sqlite":
            url, drop = f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}", None
        else:
            assert postgres is not None
            name = f"kopdesk_bench_{uuid.uuid4().hex[:8]}"
            asyncio.run(_pg_admin(postgres, f'CREATE DATABASE "{name}"'))
            url = make_url(postgres).set(database=name).render_as_string(hide_password=False)
            drop = name
        try:
            figures: dict[str, Any] = {"rows": rows, "backend": backend}
            figures.update(_child("--child", "load", "--rows", str(rows), "--url", url))
            for what in parts:
                figures[what] = _child("--child", what, "--url", url, "--workdir", workdir)
        finally:
            if drop:
                asyncio.run(_pg_admin(postgres, f'DROP DATABASE IF EXISTS "{drop}" WITH (FORCE)'))
    if "stats" in figures:
        stats = figures["stats"]
        figures["stats_meets_target"] = (stats["text_seconds_max"] < STATS_TARGET_SECONDS
                                         and stats["total_seconds_median"] < STATS_TARGET_SECONDS)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=210_000)
    parser.add_argument("--scaling", action="store_true", help="Also run N/10 rows and compare memory.")
    parser.add_argument("--postgres", default=None, help="Server URL for a scratch PostgreSQL database.")
    parser.add_argument("--only", choices=["stats", "csv", "xlsx"], action="append",
                        help="Measure only this (repeatable); default: all three.")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default=None, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child == "load":
        print(json.dumps(asyncio.run(load(options.url, options.rows))))
        return
    if options.child:
        print(json.dumps(asyncio.run(measure(options.url, options.child, Path(options.workdir)))))
        return
    backends = ["sqlite"] + (["postgresql"] if options.postgres else [])
    sizes = [options.rows // 10, options.rows] if options.scaling else [options.rows]
    report: dict[str, Any] = {"stats_target_seconds": STATS_TARGET_SECONDS, "runs": []}
    for backend in backends:
        runs = [_one_size(n, backend, options.postgres, options.only or ["stats", "csv", "xlsx"]) for n in sizes]
        report["runs"] += runs
        if options.scaling:
            small, big = runs
            for what in [w for w in ("csv", "xlsx") if w in big]:
                ratio = big[what]["peak_rss_mb"] / small[what]["peak_rss_mb"]
                report[f"{backend}_{what}_peak_rss_ratio"] = round(ratio, 3)
                report[f"{backend}_{what}_memory_flat"] = ratio < FLAT_RATIO
    if all("stats" in r for r in report["runs"]):
        report["stats_meets_target"] = all(r["stats_meets_target"] for r in report["runs"])
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
