"""Benchmark: `kopdesk coops import` of a national-size registry (default 210,000 rows).

Generates a CSV of N synthetic cooperatives, imports it into a fresh SQLite database (or the
database at --database-url, which should be empty and is migrated first), then imports it a
second time (every row unchanged). Each size runs in its own child process, so that the peak
resident memory (`ru_maxrss`) of one size is not the peak of another.

    .venv/bin/python bench/import_coops.py [--rows 210000] [--database-url URL] [--scaling]

Prints JSON: rows, seconds (first import), rows_per_second, peak_rss_mb, baseline_rss_mb (peak
before the import started: interpreter, libraries, migrations), reimport_seconds, and with
--scaling the same figures for N/10 and N plus whether peak memory stayed flat.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 60.0
# Peak memory counts as flat when 10x the rows costs less than this much more memory.
FLAT_RATIO = 1.25

_WORDS = ("Sehati", "Maju Bersama", "Sinar Timor", "Flobamora", "Lontar", "Cendana", "Mandiri",
          "Sejahtera", "Harapan Baru", "Bina Usaha", "Karya Bersama", "Damai", "Fajar", "Pelita",
          "Mutiara", "Nusa Indah", "Setia Kawan", "Swadaya", "Gotong Royong", "Merah Putih")
_PREFIX = (("Koperasi Simpan Pinjam", "simpan pinjam"), ("Kopdit", "simpan pinjam"),
           ("KSU", "konsumen"), ("KUD", "pemasaran"), ("Koperasi Produsen", "produsen"),
           ("Koperasi Jasa", "jasa"))


def _peak_rss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20, 1)


def generate_csv(path: Path, rows: int, kecamatan: tuple[str, ...]) -> None:
    """A valid registry file of `rows` cooperatives, every column filled, written as a stream."""
    from bot.services.registry import HEADER

    rng = random.Random(42)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(1, rows + 1):
            prefix, kind = rng.choice(_PREFIX)
            kec = rng.choice(kecamatan)
            year = rng.randint(1970, 2024)
            active = rng.random() < 0.4
            writer.writerow([
                f"BENCH-{i:07d}/BH/{year}", f"{i:016d}" if active else "",
                f"{prefix} {rng.choice(_WORDS)} {i}", "primer" if rng.random() < 0.98 else "sekunder",
                kind, kind, kec, f"Desa {rng.randint(1, 40)}", f"Jl. Contoh No. {i}",
                f"0812{i:08d}", f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                "aktif" if active else "tidak aktif", "" if active else "tidak RAT",
                str(rng.randint(max(year, 2015), 2025)) if active else "", "ya",
            ])


async def _child(rows: int, database_url: str | None, workdir: Path) -> dict[str, Any]:
    from bot.registry_io import import_cooperatives
    from bot.seed import KECAMATAN_KABUPATEN_KUPANG
    from storage.db import Database
    from storage.migrate import upgrade
    from storage.repositories import registry as repo

    url = database_url or f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    await asyncio.to_thread(upgrade, url)
    path = workdir / "registry.csv"
    started = time.perf_counter()
    generate_csv(path, rows, KECAMATAN_KABUPATEN_KUPANG)
    generate_seconds = time.perf_counter() - started

    db = Database(url)
    try:
        async with db.session() as session:
            await repo.ensure_kecamatan(session, KECAMATAN_KABUPATEN_KUPANG)
        baseline = _peak_rss_mb()
        started = time.perf_counter()
        first = await import_cooperatives(db, path, progress=False)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        second = await import_cooperatives(db, path, progress=False)
        reimport_seconds = time.perf_counter() - started
    finally:
        await db.dispose()
    if first.errors or first.inserted + first.updated + first.unchanged != rows:
        raise SystemExit(f"import went wrong: {first.errors[:5]} {first}")
    return {
        "rows": rows,
        "backend": url.split("+", 1)[0],
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "peak_rss_mb": _peak_rss_mb(),
        "baseline_rss_mb": baseline,
        "inserted": first.inserted,
        "updated": first.updated,
        "reimport_seconds": round(reimport_seconds, 2),
        "reimport_unchanged": second.unchanged,
        "csv_mb": round(path.stat().st_size / 2**20, 1),
        "generate_seconds": round(generate_seconds, 2),
    }


def _run_child(rows: int, database_url: str | None) -> dict[str, Any]:
    args = [sys.executable, str(Path(__file__).resolve()), "--child", "--rows", str(rows)]
    if database_url:
        args += ["--database-url", database_url]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"child for {rows} rows failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=210_000)
    parser.add_argument("--database-url", default=None, help="Default: a fresh SQLite file.")
    parser.add_argument("--scaling", action="store_true", help="Also run N/10 rows and compare memory.")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        with tempfile.TemporaryDirectory(prefix="kopdesk-bench-") as workdir:
            figures = asyncio.run(_child(options.rows, options.database_url, Path(workdir)))
        print(json.dumps(figures))
        return
    if options.scaling and options.database_url:
        raise SystemExit("--scaling needs a fresh database per size: leave out --database-url")
    sizes = [options.rows // 10, options.rows] if options.scaling else [options.rows]
    runs = [_run_child(n, options.database_url) for n in sizes]
    report = dict(runs[-1])
    report["target_seconds"] = TARGET_SECONDS
    report["meets_target"] = report["seconds"] < TARGET_SECONDS
    if options.scaling:
        small, big = runs
        ratio = big["peak_rss_mb"] / small["peak_rss_mb"]
        report["scaling"] = runs
        report["peak_rss_ratio"] = round(ratio, 3)
        report["memory_flat"] = ratio < FLAT_RATIO
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
