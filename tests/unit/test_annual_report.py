"""The annual report (SPEC 4): field and cross-field rules, questions, warnings, changes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from bot.services.annual_report import (
    FIELD_BY_NAME,
    FIELDS,
    AnnualReport,
    Change,
    Obstacle,
    SupportNeed,
    changes_since,
    decode_answer,
    encode_answer,
    first_unanswered,
    next_field,
    parse_answer,
    plausibility_warnings,
    previous_field,
    rat_date_window,
    report_from_answers,
)
from bot.services.parsing import ParseError, Rupiah
from bot.i18n import catalogue
from bot.services.parsing_messages import render

MESSAGES = {lang: catalogue(lang) for lang in ("id", "en")}

TODAY = date(2026, 5, 20)


def _data(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "fiscal_year": 2025, "rat_held": True, "rat_date": date(2026, 3, 15),
        "members_men": 60, "members_women": 40, "pengurus": 5, "pengawas": 3, "employees": 2,
        "total_assets": 1_000_000_000, "own_capital": 400_000_000,
        "external_capital": 600_000_000, "business_volume": 500_000_000, "surplus": 25_000_000,
        "still_operating": True, "main_business": "Simpan pinjam", "obstacles": ["modal"],
        "obstacles_other": None, "support_needed": ["permodalan"], "notes": None,
    }
    data.update(changes)
    return data


def _report(**changes: Any) -> AnnualReport:
    return AnnualReport.model_validate(_data(**changes), context={"today": TODAY})


def _error_types(**changes: Any) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        _report(**changes)
    return {error["type"] for error in caught.value.errors()}


def test_a_valid_report() -> None:
    """A complete report validates and shows the member total."""
    report = _report()
    assert report.members_total == 100
    assert report.obstacles == [Obstacle.MODAL]
    assert report.support_needed == [SupportNeed.PERMODALAN]


@pytest.mark.parametrize(
    ("field", "good", "bad"),
    [("members_men", 1_000_000, 1_000_001), ("members_women", 0, -1),
     ("pengurus", 100_000, 100_001), ("pengawas", 0, -1), ("employees", 100_000, 100_001),
     ("total_assets", 10**15, 10**15 + 1), ("own_capital", 0, -1),
     ("external_capital", 10**15, 10**15 + 1), ("business_volume", 0, -1),
     ("surplus", -(10**15), -(10**15) - 1), ("surplus", 10**15, 10**15 + 1)],
)
def test_number_limits(field: str, good: int, bad: int) -> None:
    """Counts and amounts stay within SPEC's ranges; only the surplus may be negative."""
    assert getattr(_report(**{field: good}), field) == good
    with pytest.raises(ValidationError):
        _report(**{field: bad})


def test_numbers_are_strict() -> None:
    """A bool or a float where a count belongs is a bug, not a 1."""
    for value in (True, 5.0, "5"):
        with pytest.raises(ValidationError):
            _report(members_men=value)


def test_main_business_is_squeezed_and_limited() -> None:
    """Main business: stripped, single spaces, not empty, at most 200 characters."""
    assert _report(main_business="  Toko   sembako\n").main_business == "Toko sembako"
    assert _error_types(main_business="   ") == {"parse.empty"}
    assert len(_report(main_business="x" * 200).main_business) == 200
    with pytest.raises(ValidationError) as caught:
        _report(main_business="x" * 201)
    error = caught.value.errors()[0]
    assert error["type"] == "parse.too_long"
    assert error["ctx"] == {"max": 200, "length": 201}


def test_optional_texts() -> None:
    """Other obstacles (≤ 500) and notes (≤ 2000) are optional; blank means none."""
    assert _report(obstacles_other="  ", notes="").obstacles_other is None
    assert _report(notes=" baris 1\nbaris 2 ").notes == "baris 1\nbaris 2"
    assert _report(obstacles=["lainnya"], obstacles_other=None).obstacles_other is None
    assert _error_types(obstacles_other="x" * 501) == {"parse.too_long"}
    assert _error_types(notes="x" * 2001) == {"parse.too_long"}
    assert _report(notes="x" * 2000).notes == "x" * 2000


def test_choices_are_deduplicated_in_menu_order() -> None:
    """Choices picked twice count once and keep the menu's order; unknown ones fail."""
    report = _report(obstacles=["legalitas", "modal", "legalitas"], support_needed=[])
    assert report.obstacles == [Obstacle.MODAL, Obstacle.LEGALITAS]
    assert report.support_needed == []
    assert _report(obstacles=[]).obstacles == []
    with pytest.raises(ValidationError):
        _report(obstacles=["hutang"])


def test_rat_date_required_iff_rat_held() -> None:
    """A held RAT needs its date; a RAT not held has none."""
    assert _error_types(rat_date=None) == {"report.rat_date_required"}
    assert _error_types(rat_held=False) == {"report.rat_date_unexpected"}
    assert _report(rat_held=False, rat_date=None).rat_date is None


def test_rat_date_within_the_year_or_the_next_and_not_in_the_future() -> None:
    """For fiscal year Y the RAT falls in Y or Y+1, never after today."""
    assert _report(rat_date=date(2025, 1, 1)).rat_date == date(2025, 1, 1)
    assert _report(rat_date=TODAY).rat_date == TODAY
    assert _error_types(rat_date=date(2024, 12, 31)) == {"report.rat_date_range"}
    assert _error_types(rat_date=date(2026, 5, 21)) == {"report.date_future"}
    later = {"today": date(2027, 6, 1)}
    ok = AnnualReport.model_validate(_data(rat_date=date(2026, 12, 31)), context=later)
    assert ok.rat_date == date(2026, 12, 31)
    with pytest.raises(ValidationError) as caught:
        AnnualReport.model_validate(_data(rat_date=date(2027, 1, 1)), context=later)
    assert caught.value.errors()[0]["type"] == "report.rat_date_range"
    assert rat_date_window(2025, TODAY) == (date(2025, 1, 1), TODAY)
    assert rat_date_window(2025, date(2027, 6, 1)) == (date(2025, 1, 1), date(2026, 12, 31))


def test_fiscal_year_range() -> None:
    """Fiscal years from 2000 to this year; today defaults to the real date without context."""
    assert _error_types(fiscal_year=1999, rat_held=False, rat_date=None) == {
        "report.fiscal_year_range"}
    assert _error_types(fiscal_year=2027, rat_held=False, rat_date=None) == {
        "report.fiscal_year_range"}
    assert _report(fiscal_year=2026, rat_date=date(2026, 1, 5)).fiscal_year == 2026
    future = date.today().year + 1
    with pytest.raises(ValidationError):
        AnnualReport.model_validate(_data(fiscal_year=future, rat_held=False, rat_date=None))
    past = AnnualReport.model_validate(_data(fiscal_year=2001, rat_held=False, rat_date=None))
    assert past.fiscal_year == 2001


def test_unknown_fields_are_refused() -> None:
    """A misspelt field is an error rather than silently dropped."""
    with pytest.raises(ValidationError):
        _report(member_men=5)


def test_model_error_types_have_messages() -> None:
    """Every error type the model raises itself is a message key."""
    for key in ("report.rat_date_required", "report.rat_date_unexpected", "report.date_future",
                "report.rat_date_range", "report.fiscal_year_range", "parse.too_long",
                "parse.empty"):
        assert key in MESSAGES["id"] and key in MESSAGES["en"]


# --- the questions -----------------------------------------------------------------------------


def test_fields_order_and_kinds() -> None:
    """The questions follow SPEC 4's order, members asked as two numbers."""
    assert [(f.name, f.kind) for f in FIELDS] == [
        ("rat_held", "yes_no"), ("rat_date", "date"), ("members_men", "int"),
        ("members_women", "int"), ("pengurus", "int"), ("pengawas", "int"),
        ("employees", "int"), ("total_assets", "money"), ("own_capital", "money"),
        ("external_capital", "money"), ("business_volume", "money"), ("surplus", "money"),
        ("still_operating", "yes_no"), ("main_business", "text"), ("obstacles", "multi"),
        ("obstacles_other", "text"), ("support_needed", "multi"), ("notes", "text"),
    ]
    assert [f.name for f in FIELDS if f.optional] == ["obstacles_other", "notes"]
    model_fields = set(AnnualReport.model_fields) - {"fiscal_year"}
    assert set(FIELD_BY_NAME) == model_fields


def _next(answers: dict[str, Any], after: str | None) -> str | None:
    spec = next_field(answers, after)
    return None if spec is None else spec.name


def _previous(answers: dict[str, Any], before: str) -> str | None:
    spec = previous_field(answers, before)
    return None if spec is None else spec.name


def test_rat_date_is_skipped_when_no_rat() -> None:
    """next/previous skip the RAT date when no RAT was held."""
    no_rat = {"rat_held": False}
    assert _next(no_rat, None) == "rat_held"
    assert _next(no_rat, "rat_held") == "members_men"
    assert _previous(no_rat, "members_men") == "rat_held"
    held = {"rat_held": True}
    assert _next(held, "rat_held") == "rat_date"
    assert _previous(held, "members_men") == "rat_date"
    assert _next({}, "rat_held") == "members_men"


def test_other_obstacles_asked_only_after_lainnya() -> None:
    """The 'other obstacles' text follows only when 'lainnya' was picked."""
    assert _next({"obstacles": ["modal"]}, "obstacles") == "support_needed"
    other = {"obstacles": ["modal", "lainnya"]}
    assert _next(other, "obstacles") == "obstacles_other"
    assert _previous(other, "support_needed") == "obstacles_other"
    assert _previous({"obstacles": []}, "support_needed") == "obstacles"


def test_navigation_ends() -> None:
    """No question after the last or before the first; unknown names are a bug."""
    assert _next({}, "notes") is None
    assert _previous({}, "rat_held") is None
    with pytest.raises(ValueError):
        next_field({}, "nope")
    with pytest.raises(ValueError):
        previous_field({}, "nope")


def test_first_unanswered() -> None:
    """A resumed draft continues at the first question without an answer."""
    assert getattr(first_unanswered({}), "name", None) == "rat_held"
    answers = {"rat_held": False, "members_men": 3}
    assert getattr(first_unanswered(answers), "name", None) == "members_women"
    full = {spec.name: None for spec in FIELDS}
    assert first_unanswered(full) is None


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [("rat_held", "ya", True), ("still_operating", "tidak", False),
     ("members_men", "1.250", 1250), ("pengurus", "5", 5),
     ("total_assets", "1,25 M", 1_250_000_000), ("surplus", "-5 juta", -5_000_000),
     ("rat_date", "15 Maret 2026", date(2026, 3, 15)),
     ("main_business", "  Toko   sembako ", "Toko sembako"),
     ("notes", " a\nb ", "a\nb"),
     ("obstacles", "1, 3", [Obstacle.MODAL, Obstacle.SDM_PENGURUS]),
     ("obstacles", "pemasaran, SDM/pengurus; modal", [Obstacle.MODAL, Obstacle.PEMASARAN,
                                                       Obstacle.SDM_PENGURUS]),
     ("obstacles", "tidak ada", []),
     ("support_needed", "6 2", [SupportNeed.JARINGAN_USAHA,
                                SupportNeed.PENDAMPINGAN_RAT_LEGALITAS])],
)
def test_parse_answer(name: str, text: str, expected: Any) -> None:
    """Each kind of question reads its typed answer."""
    answers = {"fiscal_year": 2025}
    assert parse_answer(FIELD_BY_NAME[name], text, today=TODAY, answers=answers) == expected


@pytest.mark.parametrize(
    ("name", "text", "key", "values"),
    [("total_assets", "-5 juta", "parse.negative", {}),
     ("total_assets", "2000 T", "parse.too_big", {"max": 10**15}),
     ("members_men", "1.000.001", "parse.too_big", {"max": 1_000_000}),
     ("employees", "100.001", "parse.too_big", {"max": 100_000}),
     ("rat_held", "mungkin", "parse.yes_no", {}),
     ("rat_date", "21/05/2026", "report.date_future", {"today": TODAY}),
     ("rat_date", "31/12/2024", "report.rat_date_range",
      {"first": date(2025, 1, 1), "last": TODAY}),
     ("main_business", "x" * 201, "parse.too_long", {"max": 200, "length": 201}),
     ("main_business", "   ", "parse.empty", {}),
     ("obstacles_other", "y" * 600, "parse.too_long", {"max": 500, "length": 600}),
     ("notes", "z" * 2001, "parse.too_long", {"max": 2000, "length": 2001}),
     ("obstacles", "8", "parse.choice", {"count": 7}),
     ("support_needed", "hutang", "parse.choice", {"count": 6}),
     ("obstacles", ",", "parse.choice", {"count": 7})],
)
def test_parse_answer_errors(name: str, text: str, key: str, values: dict[str, Any]) -> None:
    """Bad answers name the problem and, for limits, the limit."""
    with pytest.raises(ParseError) as caught:
        parse_answer(FIELD_BY_NAME[name], text, today=TODAY, answers={"fiscal_year": 2025})
    assert caught.value.key == key
    assert caught.value.values == values


def test_too_long_message_names_the_limit() -> None:
    """The user is told the limit and his length, in his language."""
    with pytest.raises(ParseError) as caught:
        parse_answer(FIELD_BY_NAME["notes"], "z" * 2500, today=TODAY)
    text = render(caught.value.key, caught.value.values, "id")
    assert "2.500" in text and "2.000" in text


def test_encode_decode_answers() -> None:
    """Draft answers survive JSON: dates as ISO text, choices by value."""
    cases = {"rat_date": date(2026, 3, 15), "obstacles": [Obstacle.MODAL, Obstacle.LAINNYA],
             "members_men": 5, "rat_held": True, "notes": None}
    for name, value in cases.items():
        stored = encode_answer(value)
        assert decode_answer(FIELD_BY_NAME[name], stored) == value
    assert encode_answer(date(2026, 3, 15)) == "2026-03-15"
    assert encode_answer([Obstacle.MODAL]) == ["modal"]


def test_a_whole_conversation() -> None:
    """Walking the questions with typed answers yields the report, skipping what does not apply."""
    typed = {"rat_held": "tidak", "members_men": "60", "members_women": "40", "pengurus": "5",
             "pengawas": "3", "employees": "0", "total_assets": "1 M", "own_capital": "400 jt",
             "external_capital": "600 jt", "business_volume": "500 jt", "surplus": "-2,5 jt",
             "still_operating": "ya", "main_business": "Simpan pinjam", "obstacles": "7",
             "obstacles_other": "Jalan rusak", "support_needed": "3"}
    answers: dict[str, Any] = {"fiscal_year": 2025}
    spec = next_field(answers)
    asked = []
    while spec is not None:
        asked.append(spec.name)
        if spec.name == "notes":
            answers["notes"] = None  # /lewati
        else:
            value = parse_answer(spec, typed[spec.name], today=TODAY, answers=answers)
            answers[spec.name] = encode_answer(value)
        spec = next_field(answers, spec.name)
    assert "rat_date" not in asked and "obstacles_other" in asked
    report = report_from_answers(answers, today=TODAY)
    assert report.surplus == -2_500_000
    assert report.obstacles == [Obstacle.LAINNYA]
    assert report.obstacles_other == "Jalan rusak"


def test_report_from_answers_drops_what_no_longer_applies() -> None:
    """Going back and answering 'no RAT' discards the RAT date given earlier."""
    answers = {k: encode_answer(v) for k, v in _data(rat_held=False, obstacles=["modal"],
                                                     obstacles_other="lama").items()}
    assert answers["rat_date"] == "2026-03-15"
    report = report_from_answers(answers, today=TODAY)
    assert report.rat_date is None and report.obstacles_other is None
    with pytest.raises(ValidationError):
        report_from_answers({"fiscal_year": 2025, "rat_held": True}, today=TODAY)


# --- summary -----------------------------------------------------------------------------------


def _keys(report: AnnualReport, previous: AnnualReport | None = None) -> list[str]:
    return [w.key for w in plausibility_warnings(report, previous)]


def test_no_warnings_for_a_plausible_report() -> None:
    """Ordinary figures raise nothing."""
    assert _keys(_report(), _report(fiscal_year=2024, rat_date=date(2025, 3, 1))) == []


def test_warnings() -> None:
    """Each implausible value is flagged with the numbers that make it so."""
    last_year = _report(fiscal_year=2024, rat_date=date(2025, 3, 1))
    halved = plausibility_warnings(_report(total_assets=400_000_000, own_capital=100,
                                           external_capital=100), last_year)
    assert [(w.key, w.values) for w in halved] == [("warn.assets_halved", {
        "old": 1_000_000_000, "new": 400_000_000, "year": "2024"})]
    assert isinstance(halved[0].values["old"], Rupiah)
    assert _keys(_report(total_assets=500_000_000, own_capital=0, external_capital=0),
                 last_year) == []  # exactly half is not "more than half"
    assert _keys(_report(total_assets=10_000_000_001), last_year) == ["warn.assets_tenfold"]
    assert _keys(_report(members_men=20, members_women=29), last_year) == ["warn.members_halved"]
    assert _keys(_report(own_capital=400_000_001)) == ["warn.capital_exceeds_assets"]
    assert _keys(_report(members_men=0, members_women=0)) == ["warn.members_zero_but_operating"]
    assert _keys(_report(members_men=0, members_women=0, still_operating=False)) == []
    assert _keys(_report(pengurus=0)) == ["warn.pengurus_zero"]
    assert _keys(_report(surplus=500_000_001)) == ["warn.surplus_exceeds_volume"]
    assert _keys(_report(surplus=-600_000_000)) == []


def test_warning_texts_in_both_languages() -> None:
    """Warnings render with money and years written properly."""
    last_year = _report(fiscal_year=2024, rat_date=date(2025, 3, 1))
    [warning] = plausibility_warnings(_report(total_assets=400_000_000, own_capital=1,
                                              external_capital=1), last_year)
    assert render(warning.key, warning.values, "id") == (
        "Total aset turun lebih dari separuh: Rp 1.000.000.000 (tahun buku 2024) menjadi "
        "Rp 400.000.000.")
    assert "Rp 1,000,000,000 (fiscal year 2024) to Rp 400,000,000" in render(
        warning.key, warning.values, "en")


def test_changes_since_last_year() -> None:
    """Changed answers in question order, with the member total; none without a previous report."""
    last_year = _report(fiscal_year=2024, rat_date=date(2025, 3, 1), notes="lama")
    report = _report(members_women=50, surplus=-1, obstacles=["modal", "pemasaran"])
    assert changes_since(report, None) == []
    assert changes_since(report, last_year) == [
        Change("members_women", 40, 50),
        Change("members_total", 100, 110),
        Change("surplus", 25_000_000, -1),
        Change("obstacles", [Obstacle.MODAL], [Obstacle.MODAL, Obstacle.PEMASARAN]),
    ]
    field, old, new = changes_since(report, last_year)[0]
    assert (field, old, new) == ("members_women", 40, 50)
