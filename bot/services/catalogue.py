"""The programme and FAQ catalogue as YAML files: validate, import, export (SPEC 5, 12).

A file is validated whole with pydantic before anything is written: one bad entry refuses the
file, and every problem is reported on its own line (file, entry, field, why), so the office
fixes them in one pass. A good file is applied in one transaction: entries are upserted by
their stable `key`, and entries of that kind the file no longer holds are retired
(`active: false`), never deleted, so tickets and logs that named them still resolve.

Deadlines are dates or datetimes in the office's timezone (WITA in Kupang); a bare date means
the end of that day there. They are stored as aware UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models_support import Category, FaqEntry, Programme
from storage.repositories import catalogue as repo

Kind = Literal["programs", "faq"]
KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
# The top-level list of each kind of file.
ROOT = {"programs": "programmes", "faq": "faq"}

HEADER = {
    "programs": (
        "# Katalog program dukungan koperasi — CONTOH yang disunting oleh Dinas.\n"
        "# Sample catalogue: the office edits it and imports it with `kopdesk programs import`.\n"
        "# Skema nasional (KUR, LPDB, NIK/ODS) diringkas dari sumber resmi; periksa ketentuan\n"
        "# terbaru sebelum dipakai. Entri yang dihapus dari file ini dinonaktifkan saat impor.\n"
    ),
    "faq": (
        "# Tanya-jawab (FAQ) untuk pengurus koperasi — CONTOH yang disunting oleh Dinas.\n"
        "# Sample FAQ: the office edits it and imports it with `kopdesk faq import`.\n"
        "# Jawaban tentang skema nasional (KUR, LPDB, NIK/ODS) bersifat umum; periksa ketentuan\n"
        "# terbaru sebelum dipakai. Entri yang dihapus dari file ini dinonaktifkan saat impor.\n"
    ),
}


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    key: str
    category: Category
    keywords: list[str] = Field(default_factory=list)
    active: bool = True

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not KEY_PATTERN.match(value):
            raise ValueError("use 2-64 lower-case letters, digits and hyphens, e.g. kur-mikro")
        return value

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, value: list[str]) -> list[str]:
        return [w.strip() for w in value if w and w.strip()]


class ProgrammeIn(_Entry):
    """One programme as written in the YAML file."""

    title: str = Field(min_length=3, max_length=200)
    summary: str = Field(min_length=10, max_length=1500)
    eligibility: str = Field("", max_length=1500)
    how_to_apply: str = Field("", max_length=1500)
    documents: list[str] = Field(default_factory=list)
    contact: str = Field("", max_length=500)
    deadline: datetime | date | None = None


class FaqIn(_Entry):
    """One FAQ entry as written in the YAML file."""

    question: str = Field(min_length=5, max_length=500)
    answer: str = Field(min_length=5, max_length=3000)


SCHEMA: dict[str, type[_Entry]] = {"programs": ProgrammeIn, "faq": FaqIn}
MODEL: dict[str, type[Programme | FaqEntry]] = {"programs": Programme, "faq": FaqEntry}


@dataclass(frozen=True)
class Problem:
    """One reason a file cannot be imported."""

    file: str
    entry: str
    field: str
    why: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.field}: {self.why}"


@dataclass
class ImportResult:
    """What an import did, or the problems that stopped it."""

    problems: list[Problem] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    retired: int = 0


def to_utc(value: datetime | date | None, tz: ZoneInfo) -> datetime | None:
    """A deadline as aware UTC: a date is the end of that day in `tz`, naive times are in `tz`."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(23, 59), tzinfo=tz)
    elif value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)


def parse_file(path: Path, kind: Kind, tz: ZoneInfo) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Read and validate a catalogue file; the rows ready to store, or the problems."""
    name = path.name
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [], [Problem(name, "-", "-", f"cannot be read as YAML: {exc}".replace("\n", " "))]
    root = ROOT[kind]
    entries = document.get(root) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return [], [Problem(name, "-", root, f"the file needs a top-level list `{root}:`")]
    schema = SCHEMA[kind]
    rows: list[dict[str, Any]] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(entries, start=1):
        label = f"entry {number}"
        if isinstance(raw, dict) and isinstance(raw.get("key"), str):
            label += f" ({raw['key']})"
        if not isinstance(raw, dict):
            problems.append(Problem(name, label, "-", "must be a mapping of fields"))
            continue
        try:
            entry = schema.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(p) for p in error["loc"]) or "-"
                problems.append(Problem(name, label, where, error["msg"]))
            continue
        if entry.key in seen:
            problems.append(Problem(name, label, "key", f"duplicate of entry {seen[entry.key]}"))
            continue
        seen[entry.key] = number
        values = entry.model_dump()
        values["category"] = entry.category.value
        if kind == "programs":
            values["deadline"] = to_utc(values["deadline"], tz)
        rows.append(values)
    return rows, problems


async def import_catalogue(session: AsyncSession, path: Path, kind: Kind, tz: ZoneInfo) -> ImportResult:
    """Validate `path` whole, then upsert by key and retire what the file no longer holds."""
    rows, problems = parse_file(path, kind, tz)
    if problems:
        return ImportResult(problems=problems)
    model = MODEL[kind]
    inserted, updated, unchanged = await repo.upsert(session, model, rows)
    retired = await repo.retire_missing(session, model, {r["key"] for r in rows})
    return ImportResult(inserted=inserted, updated=updated, unchanged=unchanged, retired=retired)


def _plain(entry: Any, kind: Kind, tz: ZoneInfo) -> dict[str, Any]:
    names = ["key", "category"]
    names += (["title", "summary", "eligibility", "how_to_apply", "documents", "contact", "deadline"]
              if kind == "programs" else ["question", "answer"])
    names += ["keywords", "active"]
    out = {n: getattr(entry, n) for n in names}
    if kind == "programs" and out["deadline"] is not None:
        out["deadline"] = out["deadline"].astimezone(tz).replace(tzinfo=None)
    return out


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> Any:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


async def export_catalogue(session: AsyncSession, kind: Kind, tz: ZoneInfo) -> str:
    """Every entry of one kind (retired ones included) in the import format."""
    entries = await repo.all_entries(session, MODEL[kind])
    body = yaml.dump(
        {ROOT[kind]: [_plain(e, kind, tz) for e in entries]},
        Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100,
    )
    return HEADER[kind] + "\n" + body
