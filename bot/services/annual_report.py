"""The annual status update (laporan tahunan, SPEC 4): one validated model and its questions.

`FIELDS` lists the questions asked after the cooperative and the fiscal year, in order; the
conversation walks them with `next_field`/`previous_field`, reads each typed answer with
`parse_answer` (which raises `ParseError` naming the problem) and keeps answers JSON-ready in the
draft (`encode_answer`/`decode_answer`). `report_from_answers` builds the `AnnualReport`, whose
validators repeat every rule so nothing invalid is stored whatever path the data took. Model
errors are `PydanticCustomError`s whose type is the message key in parsing_messages.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bot.services.parsing import (MONEY_MAX, ParseError, Rupiah, parse_date, parse_int,
                                  parse_money, parse_yes_no)
from bot.i18n import t


class Obstacle(StrEnum):
    """What holds the cooperative back (kendala)."""

    MODAL = "modal"
    PEMASARAN = "pemasaran"
    SDM_PENGURUS = "sdm_pengurus"
    ANGGOTA_PASIF = "anggota_pasif"
    ADMINISTRASI_RAT = "administrasi_rat"
    LEGALITAS = "legalitas"
    LAINNYA = "lainnya"


class SupportNeed(StrEnum):
    """Support the cooperative asks of the office (the office's facilitation areas)."""

    PROMOSI_PRODUK = "promosi_produk"
    JARINGAN_USAHA = "jaringan_usaha"
    PERMODALAN = "permodalan"
    TEKNOLOGI = "teknologi"
    PELATIHAN_SDM = "pelatihan_sdm"
    PENDAMPINGAN_RAT_LEGALITAS = "pendampingan_rat_legalitas"


FIRST_FISCAL_YEAR = 2000
MEMBERS_MAX = 1_000_000
STAFF_MAX = 100_000
MAIN_BUSINESS_MAX = 200
OBSTACLES_OTHER_MAX = 500
NOTES_MAX = 2000

# Strict ints: a draft holds JSON ints, and True or 5.0 sneaking in would be a bug upstream.
Members = Annotated[int, Field(strict=True, ge=0, le=MEMBERS_MAX)]
Staff = Annotated[int, Field(strict=True, ge=0, le=STAFF_MAX)]
Money = Annotated[int, Field(strict=True, ge=0, le=MONEY_MAX)]
SignedMoney = Annotated[int, Field(strict=True, ge=-MONEY_MAX, le=MONEY_MAX)]


def _fail(key: str, **values: Any) -> PydanticCustomError:
    # The error type is the message key, so a handler can show the text in the user's language.
    return PydanticCustomError(key, t("en", key), values)


def _today(info: ValidationInfo) -> date:
    today = info.context.get("today") if isinstance(info.context, Mapping) else None
    if isinstance(today, date):
        return today.date() if isinstance(today, datetime) else today
    return date.today()  # only when the caller gave no context


def rat_date_window(fiscal_year: int, today: date) -> tuple[date, date]:
    """The first and last acceptable RAT date for a fiscal year: year Y or Y+1, not after today."""
    return date(fiscal_year, 1, 1), min(date(fiscal_year + 1, 12, 31), today)


# field → (most characters, required); the required one-line main business is also squeezed
# to single spaces, while the free texts keep their line breaks.
_TEXT_RULES = {"main_business": (MAIN_BUSINESS_MAX, True),
               "obstacles_other": (OBSTACLES_OTHER_MAX, False), "notes": (NOTES_MAX, False)}


def _text_limit(value: Any, limit: int, *, required: bool, one_line: bool) -> Any:
    if not isinstance(value, str):
        return value  # pydantic reports the wrong type itself
    text = " ".join(value.split()) if one_line else value.strip()
    if not text:
        if required:
            raise _fail("parse.empty")
        return None
    if len(text) > limit:
        raise _fail("parse.too_long", max=limit, length=len(text))
    return text


class AnnualReport(BaseModel):
    """One cooperative's annual report for one fiscal year, every rule of SPEC 4 checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fiscal_year: Annotated[int, Field(strict=True)]
    rat_held: bool
    rat_date: date | None = None
    members_men: Members
    members_women: Members
    pengurus: Staff
    pengawas: Staff
    employees: Staff
    total_assets: Money
    own_capital: Money
    external_capital: Money
    business_volume: Money
    surplus: SignedMoney
    still_operating: bool
    main_business: str
    obstacles: list[Obstacle] = []
    obstacles_other: str | None = None
    support_needed: list[SupportNeed] = []
    notes: str | None = None

    @property
    def members_total(self) -> int:
        """Men and women together, as the summary shows it."""
        return self.members_men + self.members_women

    @field_validator("fiscal_year")
    @classmethod
    def _fiscal_year(cls, value: int, info: ValidationInfo) -> int:
        last = _today(info).year
        if not FIRST_FISCAL_YEAR <= value <= last:
            # Years as text: the message formatter would group an int ("2.026").
            raise _fail("report.fiscal_year_range", first=str(FIRST_FISCAL_YEAR), last=str(last))
        return value

    @field_validator("main_business", "obstacles_other", "notes", mode="before")
    @classmethod
    def _texts(cls, value: Any, info: ValidationInfo) -> Any:
        limit, required = _TEXT_RULES[info.field_name]
        return _text_limit(value, limit, required=required, one_line=required)

    @field_validator("obstacles", "support_needed")
    @classmethod
    def _choices(cls, value: list[StrEnum], info: ValidationInfo) -> list[StrEnum]:
        # A choice picked twice counts once; the order is the menu's, so reports compare equal.
        options = list(Obstacle if info.field_name == "obstacles" else SupportNeed)
        return [option for option in options if option in value]

    @model_validator(mode="after")
    def _rat(self, info: ValidationInfo) -> AnnualReport:
        today = _today(info)
        if self.rat_held and self.rat_date is None:
            raise _fail("report.rat_date_required")
        if not self.rat_held and self.rat_date is not None:
            raise _fail("report.rat_date_unexpected")
        if self.rat_date is not None:
            if self.rat_date > today:
                raise _fail("report.date_future", today=today)
            first, last = rat_date_window(self.fiscal_year, today)
            if not first <= self.rat_date <= last:
                raise _fail("report.rat_date_range", first=first, last=last)
        return self


# --- the questions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class FieldSpec:
    """One question: the AnnualReport field it fills and how its typed answer is read."""

    name: str
    kind: Literal["yes_no", "date", "int", "money", "text", "multi"]
    optional: bool = False  # /lewati may skip it (the answer is then None)
    minimum: int = 0  # int and money answers; below zero allows negative money
    maximum: int = 0  # int and money: largest value; text: most characters
    choices: type[StrEnum] | None = None  # multi: the options, in menu order
    condition: Callable[[Mapping[str, Any]], bool] | None = None  # asked only when true

    def applies(self, answers: Mapping[str, Any]) -> bool:
        """Whether this question is asked, given the answers so far."""
        return self.condition is None or self.condition(answers)


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("rat_held", "yes_no"),
    FieldSpec("rat_date", "date", condition=lambda answers: answers.get("rat_held") is True),
    FieldSpec("members_men", "int", maximum=MEMBERS_MAX),
    FieldSpec("members_women", "int", maximum=MEMBERS_MAX),
    FieldSpec("pengurus", "int", maximum=STAFF_MAX),
    FieldSpec("pengawas", "int", maximum=STAFF_MAX),
    FieldSpec("employees", "int", maximum=STAFF_MAX),
    FieldSpec("total_assets", "money", maximum=MONEY_MAX),
    FieldSpec("own_capital", "money", maximum=MONEY_MAX),
    FieldSpec("external_capital", "money", maximum=MONEY_MAX),
    FieldSpec("business_volume", "money", maximum=MONEY_MAX),
    FieldSpec("surplus", "money", minimum=-MONEY_MAX, maximum=MONEY_MAX),
    FieldSpec("still_operating", "yes_no"),
    FieldSpec("main_business", "text", maximum=MAIN_BUSINESS_MAX),
    FieldSpec("obstacles", "multi", choices=Obstacle),
    # The text asks about "other" obstacles, so it comes only after "lainnya" was picked.
    FieldSpec("obstacles_other", "text", optional=True, maximum=OBSTACLES_OTHER_MAX,
              condition=lambda answers: Obstacle.LAINNYA in (answers.get("obstacles") or ())),
    FieldSpec("support_needed", "multi", choices=SupportNeed),
    FieldSpec("notes", "text", optional=True, maximum=NOTES_MAX),
)
FIELD_BY_NAME: dict[str, FieldSpec] = {spec.name: spec for spec in FIELDS}
_POSITION = {spec.name: index for index, spec in enumerate(FIELDS)}


def _position(name: str) -> int:
    try:
        return _POSITION[name]
    except KeyError:
        raise ValueError(f"unknown report field {name!r}") from None


def next_field(answers: Mapping[str, Any], after: str | None = None) -> FieldSpec | None:
    """The next question that applies after `after` (the first when None); None at the end."""
    start = 0 if after is None else _position(after) + 1
    return next((spec for spec in FIELDS[start:] if spec.applies(answers)), None)


def previous_field(answers: Mapping[str, Any], before: str) -> FieldSpec | None:
    """The question that applies just before `before` (for ◀️); None before the first."""
    earlier = FIELDS[: _position(before)]
    return next((spec for spec in reversed(earlier) if spec.applies(answers)), None)


def first_unanswered(answers: Mapping[str, Any]) -> FieldSpec | None:
    """Where a resumed draft continues: the first applicable question without an answer."""
    return next((s for s in FIELDS if s.applies(answers) and s.name not in answers), None)


# --- reading answers ---------------------------------------------------------------------------

_NO_CHOICE = {"-", "tidak ada", "tdk ada", "tidak", "none", "nothing", "no", "kosong"}


def _parse_choices(spec: FieldSpec, text: str) -> list[StrEnum]:
    # Buttons are the usual way; a typed answer may give option values or numbers ("1, 3").
    options = list(spec.choices or ())
    error = ParseError("parse.choice", {"count": len(options)})
    if not isinstance(text, str) or len(text) > 500 or not options:
        raise error
    if " ".join(text.lower().split()) in _NO_CHOICE:
        return []
    by_value = {option.value: option for option in options}
    chosen: set[StrEnum] = set()
    for token in re.split(r"[,;\n]+", text.lower()):
        word = re.sub(r"[^a-z0-9]+", "_", token).strip("_")  # "SDM/pengurus" → sdm_pengurus
        numbers = word.split("_") if re.fullmatch(r"[0-9_]+", word) else []
        if word in by_value:
            chosen.add(by_value[word])
        elif numbers and all(1 <= int(n) <= len(options) for n in numbers):
            chosen.update(options[int(n) - 1] for n in numbers)
        elif word:
            raise error
    if not chosen:
        raise error
    return [option for option in options if option in chosen]


def _parse_text(spec: FieldSpec, text: str) -> str:
    if not isinstance(text, str):
        raise ParseError("parse.empty")
    value = " ".join(text.split()) if spec.name == "main_business" else text.strip()
    if not value:
        raise ParseError("parse.empty")
    if len(value) > spec.maximum:
        raise ParseError("parse.too_long", {"max": spec.maximum, "length": len(value)})
    return value


def _check_rat_date(day: date, today: date, fiscal_year: Any) -> date:
    if day > today:
        raise ParseError("report.date_future", {"today": today})
    if isinstance(fiscal_year, int) and FIRST_FISCAL_YEAR <= fiscal_year <= today.year:
        first, last = rat_date_window(fiscal_year, today)
        if not first <= day <= last:
            raise ParseError("report.rat_date_range", {"first": first, "last": last})
    return day


def parse_answer(spec: FieldSpec, text: str, *, today: date,
                 answers: Mapping[str, Any] | None = None) -> Any:
    """The typed answer to one question as its model value; raises ParseError when unusable.

    `answers` (the draft so far) lets the RAT date be checked against the chosen fiscal year.
    """
    if spec.kind == "yes_no":
        return parse_yes_no(text)
    if spec.kind == "int":
        return parse_int(text, minimum=spec.minimum, maximum=spec.maximum)
    if spec.kind == "money":
        return parse_money(text, allow_negative=spec.minimum < 0, maximum=spec.maximum)
    if spec.kind == "date":
        fiscal_year = (answers or {}).get("fiscal_year")
        return _check_rat_date(parse_date(text, today=today), today, fiscal_year)
    if spec.kind == "text":
        return _parse_text(spec, text)
    return _parse_choices(spec, text)


def encode_answer(value: Any) -> Any:
    """An answer as the draft stores it in JSON: dates ISO, choices by value."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return [str(item) for item in value]
    return value


def decode_answer(spec: FieldSpec, raw: Any) -> Any:
    """A stored draft answer back as its model value (the inverse of encode_answer)."""
    if raw is None:
        return None
    if spec.kind == "date":
        return date.fromisoformat(raw)
    if spec.kind == "multi" and spec.choices is not None:
        return [spec.choices(item) for item in raw]
    return raw


def report_from_answers(answers: Mapping[str, Any], *, today: date) -> AnnualReport:
    """The report from a draft's answers; questions that no longer apply are left out."""
    data: dict[str, Any] = {"fiscal_year": answers.get("fiscal_year")}
    for spec in FIELDS:
        if spec.applies(answers) and answers.get(spec.name) is not None:
            data[spec.name] = answers[spec.name]
    return AnnualReport.model_validate(data, context={"today": today})


# --- the summary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportWarning:
    """An implausible value the manager must confirm: `key` names the text, `values` fill it."""

    key: str
    values: dict[str, Any] = field(default_factory=dict)


def plausibility_warnings(
    report: AnnualReport, previous: AnnualReport | None
) -> list[ReportWarning]:
    """Warnings for values that are probably typing mistakes, alone or against last year."""
    found: list[ReportWarning] = []

    def warn(key: str, **values: Any) -> None:
        found.append(ReportWarning(key, values))

    if previous is not None:
        year = str(previous.fiscal_year)  # as text: an int would be grouped ("2.025")
        old, new = previous.total_assets, report.total_assets
        if old > 0 and new * 2 < old:
            warn("warn.assets_halved", old=Rupiah(old), new=Rupiah(new), year=year)
        if old > 0 and new > 10 * old:
            warn("warn.assets_tenfold", old=Rupiah(old), new=Rupiah(new), year=year)
        old, new = previous.members_total, report.members_total
        if old > 0 and new * 2 < old:
            warn("warn.members_halved", old=old, new=new, year=year)
    # Own plus external capital is the whole liabilities side, so it cannot exceed the assets.
    capital = report.own_capital + report.external_capital
    if capital > report.total_assets:
        warn("warn.capital_exceeds_assets", capital=Rupiah(capital),
             assets=Rupiah(report.total_assets))
    if report.still_operating and report.members_total == 0:
        warn("warn.members_zero_but_operating")
    if report.still_operating and report.pengurus == 0:
        warn("warn.pengurus_zero")
    if report.surplus > 0 and report.surplus > report.business_volume:
        warn("warn.surplus_exceeds_volume", surplus=Rupiah(report.surplus),
             volume=Rupiah(report.business_volume))
    return found


class Change(NamedTuple):
    """One answer that differs from last year's report."""

    field: str
    old: Any
    new: Any


# The RAT date always differs by nature, and free texts belong to their own year; the total
# follows its two parts because the summary shows it.
_COMPARED = tuple(
    name
    for spec in FIELDS if spec.name not in {"rat_date", "obstacles_other", "notes"}
    for name in ((spec.name, "members_total") if spec.name == "members_women" else (spec.name,))
)


def changes_since(report: AnnualReport, previous: AnnualReport | None) -> list[Change]:
    """The answers that changed since `previous`, in question order (members total included)."""
    if previous is None:
        return []
    return [Change(name, getattr(previous, name), getattr(report, name))
            for name in _COMPARED if getattr(previous, name) != getattr(report, name)]
