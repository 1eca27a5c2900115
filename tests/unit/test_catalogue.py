"""The programme and FAQ catalogue: YAML validation, import by key, retirement, export, sample."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from bot.seed import SAMPLE_CATALOGUE, seed_catalogue
from bot.services.catalogue import export_catalogue, import_catalogue, parse_file
from storage.models_support import Category, FaqEntry, Programme
from storage.repositories import catalogue as repo
from tests.support.cli import run_cli

WITA = ZoneInfo("Asia/Makassar")

GOOD = """
programmes:
  - key: kur
    category: permodalan
    title: Kredit Usaha Rakyat
    summary: Kredit bersubsidi untuk usaha produktif.
    deadline: 2027-03-31
    keywords: [kur, kredit]
  - key: pameran
    category: promosi
    title: Pameran produk
    summary: Stan gratis di pameran kabupaten.
"""


def write(tmp_path: Path, text: str, name: str = "programmes.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bad_file_is_refused_whole_with_one_line_per_problem(tmp_path):
    bad = GOOD + """
  - key: Bad Key
    category: hiburan
    title: X
  - key: kur
    category: permodalan
    title: Lagi KUR
    summary: Duplikat kunci yang sama.
    colour: red
"""
    rows, problems = parse_file(write(tmp_path, bad), "programs", WITA)
    lines = [str(p) for p in problems]
    assert rows[:2] and len(rows) == 2  # only the good ones parsed, but problems refuse the file
    assert "programmes.yaml: entry 3 (Bad Key): key: Value error, use 2-64 lower-case" in lines[0]
    assert any("entry 3 (Bad Key): category: Input should be" in line for line in lines)
    assert any("entry 3 (Bad Key): title: String should have at least 3 characters" in line for line in lines)
    assert any("entry 3 (Bad Key): summary: Field required" in line for line in lines)
    assert any("entry 4 (kur): colour: Extra inputs are not permitted" in line for line in lines)


async def test_nothing_is_written_from_a_bad_file(runtime, tmp_path):
    async with runtime.db.session() as session:
        result = await import_catalogue(session, write(tmp_path, GOOD + "  - key: x\n"), "programs", WITA)
    assert result.problems
    async with runtime.db.session() as session:
        assert await repo.all_entries(session, Programme) == []


async def test_reimport_updates_by_key_and_retires_what_is_gone(runtime, tmp_path):
    async with runtime.db.session() as session:
        first = await import_catalogue(session, write(tmp_path, GOOD), "programs", WITA)
    assert (first.inserted, first.retired) == (2, 0)
    changed = GOOD.replace("Stan gratis di pameran kabupaten.", "Stan gratis di pameran provinsi.")
    changed = changed.split("  - key: kur")[0] + "  - key: pameran" + changed.split("  - key: pameran")[1]
    async with runtime.db.session() as session:
        second = await import_catalogue(session, write(tmp_path, changed), "programs", WITA)
    assert (second.inserted, second.updated, second.retired) == (0, 1, 1)
    async with runtime.db.session() as session:
        rows = {p.key: p for p in await repo.all_entries(session, Programme)}
        active = await repo.active_programmes(session, datetime(2026, 1, 1, tzinfo=UTC))
    assert rows["kur"].active is False and rows["pameran"].active is True
    assert rows["pameran"].summary == "Stan gratis di pameran provinsi."
    assert [p.key for p in active] == ["pameran"]
    # A bare date is the end of that day in WITA, stored as UTC.
    assert rows["kur"].deadline == datetime(2027, 3, 31, 15, 59, tzinfo=UTC)


async def test_export_reads_back_as_the_same_catalogue(runtime, tmp_path):
    async with runtime.db.session() as session:
        await import_catalogue(session, write(tmp_path, GOOD), "programs", WITA)
        text = await export_catalogue(session, "programs", WITA)
    assert text.startswith("# Katalog program")
    again, problems = parse_file(write(tmp_path, text, "again.yaml"), "programs", WITA)
    original, _ = parse_file(tmp_path / "programmes.yaml", "programs", WITA)
    assert problems == []
    assert sorted(again, key=lambda r: r["key"]) == sorted(original, key=lambda r: r["key"])


async def test_the_sample_catalogue_covers_every_area_and_loads_once(runtime):
    programmes, _ = parse_file(SAMPLE_CATALOGUE / "programmes.yaml", "programs", WITA)
    faq, problems = parse_file(SAMPLE_CATALOGUE / "faq.yaml", "faq", WITA)
    assert problems == []
    assert len(programmes) >= 25 and len(faq) >= 60
    assert set(Counter(p["category"] for p in programmes)) == {c.value for c in Category}
    keys = {p["key"] for p in programmes}
    assert {"kur", "lpdb-dana-bergulir", "nik-koperasi-ods", "pendampingan-rat"} <= keys
    for name in ("programmes.yaml", "faq.yaml"):
        assert "CONTOH" in (SAMPLE_CATALOGUE / name).read_text(encoding="utf-8").splitlines()[0]
    async with runtime.db.session() as session:
        assert await seed_catalogue(session, WITA) == (len(programmes), len(faq))
    async with runtime.db.session() as session:
        assert await seed_catalogue(session, WITA) == (0, 0)  # never overwrites the office's
        assert len(await repo.all_entries(session, FaqEntry)) == len(faq)


def test_cli_import_reports_problems_and_exit_status(tmp_path, database_url):
    bad = write(tmp_path, "faq:\n  - key: a-b\n    category: sdm\n    question: Hm\n", "faq.yaml")
    result = run_cli("faq", "import", str(bad), cwd=tmp_path, DATABASE_URL=database_url)
    assert result.returncode == 1
    assert "faq.yaml: entry 1 (a-b): question: String should have at least 5 characters" in result.stdout
    assert "faq.yaml: entry 1 (a-b): answer: Field required" in result.stdout
    assert "nothing imported: 2 problem(s) in faq.yaml" in result.stdout
    good = write(tmp_path, GOOD)
    result = run_cli("programs", "import", str(good), cwd=tmp_path, DATABASE_URL=database_url)
    assert result.returncode == 0, result.stderr
    assert "programs: 2 inserted, 0 updated, 0 unchanged, 0 retired" in result.stdout
    exported = run_cli("programs", "export", cwd=tmp_path, DATABASE_URL=database_url)
    assert {e["key"] for e in yaml.safe_load(exported.stdout)["programmes"]} == {"kur", "pameran"}
