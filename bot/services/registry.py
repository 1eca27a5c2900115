"""One row of the cooperative registry: its columns, validation and the import header.

The import file (CSV or XLSX, see docs/IMPORT_FORMAT.md) has one header row naming the columns
of `COLUMNS`; each data row becomes a `CooperativeRecord` or a list of `FieldError`s that name the
column and say exactly what is wrong, so an officer can fix the file without guessing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError
from rapidfuzz import process, utils

from storage.models import CoopForm, CoopStatus, CoopType
from storage.types import utcnow


@dataclass(frozen=True)
class Column:
    """One column of the import/export file."""

    header: str  # the name written in the file's header row
    field: str  # the CooperativeRecord field it fills
    required: bool = False  # must be in the header and non-empty in every row
    aliases: tuple[str, ...] = ()  # English header names accepted as well


COLUMNS: tuple[Column, ...] = (
    Column("nomor_badan_hukum", "registration_number", True, ("registration_number",)),
    Column("nik", "nik"),
    Column("nama", "name", True, ("name",)),
    Column("bentuk", "form", True, ("form",)),
    Column("jenis", "type", True, ("type",)),
    Column("sektor", "sector", False, ("sector",)),
    Column("kecamatan", "kecamatan", True, ("district",)),
    Column("desa_kelurahan", "desa", False, ("desa", "village")),
    Column("alamat", "address", False, ("address",)),
    Column("telepon", "phone", False, ("phone",)),
    Column("tanggal_berdiri", "incorporated_on", False, ("incorporated_on",)),
    Column("status", "status"),
    Column("alasan_status", "status_reason", False, ("status_reason",)),
    Column("tahun_rat_terakhir", "last_rat_year", False, ("last_rat_year",)),
    Column("sintetis", "synthetic", False, ("synthetic",)),
)
HEADER: tuple[str, ...] = tuple(c.header for c in COLUMNS)
_BY_FIELD = {c.field: c for c in COLUMNS}
_BY_NAME = {name: c for c in COLUMNS for name in (c.header, *c.aliases)}

MAX_LENGTH = {
    "registration_number": 64,
    "nik": 32,
    "name": 255,
    "sector": 128,
    "kecamatan": 128,
    "desa": 128,
    "address": 500,
    "phone": 64,
    "status_reason": 500,
}
_TYPE_WORDS = {
    **{t.value: t for t in CoopType},
    # Labels officers use for savings-and-loan cooperatives (DOMAIN: KSP, USP, KSPPS, kopdit).
    "ksp": CoopType.SIMPAN_PINJAM,
    "kspps": CoopType.SIMPAN_PINJAM,
    "usp": CoopType.SIMPAN_PINJAM,
    "kopdit": CoopType.SIMPAN_PINJAM,
}
_YES = {"ya", "y", "yes", "true", "1"}
_NO = {"tidak", "t", "no", "n", "false", "0"}
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_PHONE = re.compile(r"^[0-9+()./\s-]+$")


def _fail(message: str) -> PydanticCustomError:
    # A custom error keeps the message exactly as written (no "Value error, " prefix).
    return PydanticCustomError("registry", message)


def normalize_header(name: object) -> str:
    """Header cells are matched case-insensitively, with spaces and hyphens as underscores."""
    return re.sub(r"[\s-]+", "_", str(name or "").strip().lower())


def normalize_words(text: str) -> str:
    """Lower case with single spaces; `_` and `-` count as spaces ("simpan_pinjam")."""
    return " ".join(re.sub(r"[_-]+", " ", text).lower().split())


def cell_text(value: object) -> str | None:
    """A cell as trimmed text, or None when empty. Integral floats lose their ".0" (XLSX)."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date()
    text = " ".join(str(value).split()) if isinstance(value, str) else str(value)
    return text or None


class CooperativeRecord(BaseModel):
    """A validated registry row, ready to be stored (kecamatan still by name)."""

    model_config = ConfigDict(frozen=True)

    registration_number: str
    nik: str | None = None
    name: str
    form: CoopForm
    type: CoopType
    sector: str | None = None
    kecamatan: str
    desa: str | None = None
    address: str | None = None
    phone: str | None = None
    incorporated_on: date | None = None
    status: CoopStatus | None = None
    status_reason: str | None = None
    last_rat_year: int | None = None
    synthetic: bool = False

    @field_validator(
        "registration_number", "name", "kecamatan", "sector", "desa", "address",
        "status_reason", mode="before",
    )
    @classmethod
    def _text(cls, value: Any, info: Any) -> str | None:
        text = cell_text(value)
        if text is None:
            if _BY_FIELD[info.field_name].required:
                raise _fail("required value is empty")
            return None
        limit = MAX_LENGTH[info.field_name]
        if len(text) > limit:
            raise _fail(f"too long: {len(text)} characters, at most {limit}")
        return text

    @field_validator("nik", mode="before")
    @classmethod
    def _nik(cls, value: Any) -> str | None:
        text = cell_text(value)
        if text is None:
            return None
        if not text.isascii() or not text.isdigit():
            raise _fail(f"NIK must be digits only, got {text!r}")
        if len(text) > MAX_LENGTH["nik"]:
            raise _fail(f"NIK too long: {len(text)} digits, at most {MAX_LENGTH['nik']}")
        return text

    @field_validator("form", mode="before")
    @classmethod
    def _form(cls, value: Any) -> CoopForm:
        text = cell_text(value)
        if text is None:
            raise _fail("required value is empty; use primer or sekunder")
        try:
            return CoopForm(normalize_words(text))
        except ValueError:
            raise _fail(f"{text!r} is not a form; use primer or sekunder") from None

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> CoopType:
        text = cell_text(value)
        allowed = ", ".join(t.value for t in CoopType)
        if text is None:
            raise _fail(f"required value is empty; use one of: {allowed}")
        found = _TYPE_WORDS.get(normalize_words(text))
        if found is None:
            raise _fail(f"{text!r} is not a type; use one of: {allowed}")
        return found

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> CoopStatus | None:
        text = cell_text(value)
        if text is None:
            return None
        try:
            return CoopStatus(normalize_words(text))
        except ValueError:
            raise _fail(
                f"{text!r} is not a status; use aktif, tidak aktif or dibubarkan"
            ) from None

    @field_validator("phone", mode="before")
    @classmethod
    def _phone(cls, value: Any) -> str | None:
        text = cell_text(value)
        if text is None:
            return None
        if not _PHONE.match(text) or not any(ch.isdigit() for ch in text):
            raise _fail(f"{text!r} is not a phone number (digits, spaces, + - / . ( ) only)")
        if len(text) > MAX_LENGTH["phone"]:
            raise _fail(f"too long: {len(text)} characters, at most {MAX_LENGTH['phone']}")
        return text

    @field_validator("incorporated_on", mode="before")
    @classmethod
    def _date(cls, value: Any) -> date | None:
        if isinstance(value, datetime):
            value = value.date()
        if isinstance(value, date):
            parsed = value
        else:
            text = cell_text(value)
            if text is None:
                return None
            parsed = parse_date(text)
        if parsed > utcnow().date():
            raise _fail(f"{parsed.isoformat()} is in the future")
        return parsed

    @field_validator("last_rat_year", mode="before")
    @classmethod
    def _year(cls, value: Any) -> int | None:
        text = cell_text(value)
        if text is None:
            return None
        this_year = utcnow().year
        if not text.isdigit() or not 1900 <= int(text) <= this_year:
            raise _fail(f"{text!r} is not a year between 1900 and {this_year}")
        return int(text)

    @field_validator("synthetic", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = cell_text(value)
        if text is None:
            return False
        word = text.lower()
        if word in _YES:
            return True
        if word in _NO:
            return False
        raise _fail(f"{text!r} is not yes/no; use ya or tidak")

    def to_cells(self, kecamatan_name: str | None = None) -> dict[str, Any]:
        """The record as header → cell value, for export (dates stay `date`, years `int`)."""
        cells: dict[str, Any] = {}
        for column in COLUMNS:
            value = getattr(self, column.field)
            if column.field == "kecamatan" and kecamatan_name is not None:
                value = kecamatan_name
            elif column.field == "synthetic":
                value = "ya" if value else "tidak"
            elif isinstance(value, CoopForm | CoopType | CoopStatus):
                value = value.value
            cells[column.header] = value
        return cells


def parse_date(text: str) -> date:
    """YYYY-MM-DD or DD/MM/YYYY; raises a validation error with the reason."""
    iso = _ISO_DATE.match(text)
    dmy = _DMY_DATE.match(text)
    if iso:
        year, month, day = (int(g) for g in iso.groups())
    elif dmy:
        day, month, year = (int(g) for g in dmy.groups())
    else:
        raise _fail(f"{text!r} is not a date; use YYYY-MM-DD or DD/MM/YYYY")
    try:
        return date(year, month, day)
    except ValueError:
        raise _fail(f"{text!r} is not a valid calendar date") from None


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one cell (column is None for a problem with the whole row)."""

    column: str | None
    reason: str


@dataclass(frozen=True)
class HeaderPlan:
    """How the header row maps file positions to columns."""

    positions: dict[int, Column]  # file position → column
    errors: list[FieldError]

    @property
    def fields(self) -> frozenset[str]:
        """The record fields the file provides (absent optional columns are left untouched)."""
        return frozenset(c.field for c in self.positions.values())


def plan_header(cells: list[object]) -> HeaderPlan:
    """Match a header row to `COLUMNS`: unknown, repeated and missing required columns fail."""
    positions: dict[int, Column] = {}
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, raw in enumerate(cells):
        name = normalize_header(raw)
        if not name:
            continue
        column = _BY_NAME.get(name)
        if column is None:
            errors.append(FieldError(str(raw).strip(), "unknown column; the header must use: " + ", ".join(HEADER)))
        elif column.header in seen:
            errors.append(FieldError(column.header, "column appears twice in the header"))
        else:
            seen.add(column.header)
            positions[index] = column
    for column in COLUMNS:
        if column.required and column.header not in seen:
            errors.append(FieldError(column.header, "required column is missing from the header"))
    return HeaderPlan(positions, errors)


class KecamatanResolver:
    """Kecamatan names (or codes) in a file → ids, tolerant of case and a "Kec." prefix."""

    def __init__(self, rows: list[tuple[int, str, str | None]]) -> None:
        self._ids: dict[str, int] = {}
        self.names: dict[int, str] = {}
        for kecamatan_id, name, code in rows:
            self._ids[self.key(name)] = kecamatan_id
            if code:
                self._ids[self.key(code)] = kecamatan_id
            self.names[kecamatan_id] = name

    @staticmethod
    def key(text: str) -> str:
        """The comparison form of a kecamatan name."""
        words = normalize_words(text)
        return re.sub(r"^(kecamatan|kec\.?)\s+", "", words)

    def resolve(self, text: str) -> int | None:
        """The id of this kecamatan, or None when unknown."""
        return self._ids.get(self.key(text))

    def suggestion(self, text: str) -> str | None:
        """The closest known name, to put in the error message."""
        found = process.extractOne(
            text, list(self.names.values()), processor=utils.default_process, score_cutoff=75
        )
        return None if found is None else found[0]


def validate_row(
    cells: Mapping[str, object], kecamatan: KecamatanResolver | None
) -> tuple[CooperativeRecord | None, int | None, list[FieldError]]:
    """Validate one row given as field → raw cell; returns (record, kecamatan id, errors).

    `kecamatan` None skips the kecamatan lookup (the caller creates unknown kecamatan).
    """
    errors: list[FieldError] = []
    record: CooperativeRecord | None = None
    try:
        record = CooperativeRecord.model_validate(cells)
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            field = str(error["loc"][0]) if error["loc"] else ""
            column = _BY_FIELD[field].header if field in _BY_FIELD else None
            reason = "required value is empty" if error["type"] == "missing" else error["msg"]
            errors.append(FieldError(column, reason))
    kecamatan_id = None
    name = cell_text(cells.get("kecamatan"))
    if kecamatan is not None and name is not None and len(name) <= MAX_LENGTH["kecamatan"]:
        kecamatan_id = kecamatan.resolve(name)
        if kecamatan_id is None:
            hint = kecamatan.suggestion(name)
            errors.append(
                FieldError(
                    "kecamatan",
                    f"unknown kecamatan {name!r}" + (f" (did you mean {hint!r}?)" if hint else ""),
                )
            )
    if errors:
        errors.sort(key=lambda e: HEADER.index(e.column) if e.column in HEADER else -1)
        return None, None, errors
    return record, kecamatan_id, []
