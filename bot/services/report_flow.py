"""The annual report conversation's decisions (SPEC 4), free of Telegram.

The draft in the database is the conversation's memory: which question is being asked
(`current_field`, None at the summary) and every answer so far, saved after each step. So
leaving, /batal or a restart loses nothing, and /laporan resumes at the same question.

The draft also remembers two messages. `prompt_message_id` is the bot's latest message with the
draft's buttons: a press on an older one is stale and changes nothing. `answer_message_id` (and
`answer_field`) is the user's message that gave the latest typed answer, as long as nothing else
happened since: an edit of that message corrects the answer (`correct`); every other step
forgets it, so an edit of an older message never rewrites an answer given later.

The question counter numbers the questions of the whole form ("3/17"): a question that does not
apply (the RAT date when no RAT was held) is passed over, so the total never changes as the user
answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.annual_report import (
    FIELD_BY_NAME,
    FIELDS,
    AnnualReport,
    Change,
    FieldSpec,
    ReportWarning,
    changes_since,
    decode_answer,
    encode_answer,
    first_unanswered,
    next_field,
    plausibility_warnings,
    previous_field,
    report_from_answers,
)
from bot.services.audit import audit
from bot.services.coop_status import ReportFacts, derive_status, last_closed_fiscal_year, reason_text
from storage.models import AnnualReportRecord, Cooperative, CoopStatus, ReportDraft, StatusSource
from storage.repositories import registry
from storage.repositories import reports as repo


@dataclass(frozen=True)
class Step:
    """Where a draft stands: the question (None at the summary), its number, how many."""

    spec: FieldSpec | None
    index: int
    total: int


def applicable(answers: dict[str, Any]) -> list[FieldSpec]:
    """The questions asked for these answers (the RAT date only if a RAT was held…)."""
    return [spec for spec in FIELDS if spec.applies(answers)]


def model_answers(draft: ReportDraft) -> dict[str, Any]:
    """The draft's answers as model values (dates as dates, choices as enums)."""
    values: dict[str, Any] = {"fiscal_year": draft.fiscal_year}
    for name, raw in (draft.answers or {}).items():
        if name in FIELD_BY_NAME:
            values[name] = decode_answer(FIELD_BY_NAME[name], raw)
    return values


def step_of(draft: ReportDraft) -> Step:
    """The current question of a draft and its number in the whole form."""
    total = len(FIELDS)
    if draft.current_field is None:
        return Step(None, total, total)
    spec = FIELD_BY_NAME[draft.current_field]
    return Step(spec, FIELDS.index(spec) + 1, total)


def prompted(draft: ReportDraft, message_id: int) -> None:
    """The bot sent the draft's current question, summary or choice as this message."""
    draft.prompt_message_id = message_id


def is_current_prompt(draft: ReportDraft, message_id: int | None) -> bool:
    """Whether a button pressed on this message belongs to the draft's latest prompt."""
    return draft.prompt_message_id is None or draft.prompt_message_id == message_id


def _forget_typed(draft: ReportDraft) -> None:
    draft.answer_message_id = None
    draft.answer_field = None


def _store(draft: ReportDraft, name: str, value: Any) -> None:
    # A new dict, so the JSON column is seen as changed.
    draft.answers = {**(draft.answers or {}), name: encode_answer(value)}


def _move_after(draft: ReportDraft, name: str) -> None:
    answers = model_answers(draft)
    if first_unanswered(answers) is None:
        draft.current_field = None  # everything answered: back to the summary
        return
    upcoming = next_field(answers, after=name)
    draft.current_field = upcoming.name if upcoming else first_unanswered(answers).name


def answer(draft: ReportDraft, value: Any, *, message_id: int | None = None) -> None:
    """Record the answer to the current question and move on.

    `message_id`: the user's message that typed it (an edit of it may correct it later).
    """
    name = draft.current_field
    assert name is not None
    _store(draft, name, value)
    _move_after(draft, name)
    draft.answer_message_id = message_id
    draft.answer_field = name if message_id is not None else None


def correctable(draft: ReportDraft, message_id: int) -> FieldSpec | None:
    """The question an edit of this message would correct: the latest typed answer only."""
    if draft.answer_message_id is None or draft.answer_message_id != message_id:
        return None
    return FIELD_BY_NAME.get(draft.answer_field or "")


def correct(draft: ReportDraft, value: Any) -> None:
    """Replace the latest typed answer; the current question stays unless it no longer applies."""
    name = draft.answer_field
    assert name is not None
    _store(draft, name, value)
    current = FIELD_BY_NAME.get(draft.current_field or "")
    if current is None or not current.applies(model_answers(draft)):
        _move_after(draft, name)


def keep(draft: ReportDraft) -> None:
    """Keep the saved answer of the current question and move on."""
    assert draft.current_field is not None
    _forget_typed(draft)
    _move_after(draft, draft.current_field)


def toggle(draft: ReportDraft, option: str) -> bool:
    """Tick or untick one option of the current multi-select question; False if not an option."""
    spec = FIELD_BY_NAME.get(draft.current_field or "")
    if spec is None or spec.kind != "multi" or spec.choices is None:
        return False
    if option not in spec.choices._value2member_map_:
        return False
    _forget_typed(draft)
    chosen = list((draft.answers or {}).get(spec.name) or [])
    chosen = [c for c in chosen if c != option] if option in chosen else [*chosen, option]
    order = [c.value for c in spec.choices]
    _store(draft, spec.name, sorted(chosen, key=order.index))
    return True


def finish_multi(draft: ReportDraft) -> None:
    """✔️ on a multi-select question: what is ticked (maybe nothing) is the answer."""
    name = draft.current_field
    assert name is not None
    _forget_typed(draft)
    _store(draft, name, (draft.answers or {}).get(name) or [])
    _move_after(draft, name)


def skip(draft: ReportDraft) -> bool:
    """/lewati: skip an optional question (its answer becomes empty); False if not optional."""
    spec = FIELD_BY_NAME.get(draft.current_field or "")
    if spec is None or not spec.optional:
        return False
    answer(draft, None)
    return True


def back(draft: ReportDraft) -> bool:
    """◀️: one question back (from the summary: the last question); False at the first."""
    _forget_typed(draft)
    answers = model_answers(draft)
    if draft.current_field is None:
        questions = applicable(answers)
        draft.current_field = questions[-1].name
        return True
    earlier = previous_field(answers, draft.current_field)
    if earlier is None:
        return False
    draft.current_field = earlier.name
    return True


def edit(draft: ReportDraft, name: str) -> bool:
    """'Ubah <field>' from the summary: ask that question again; False if it does not apply."""
    if name not in {q.name for q in applicable(model_answers(draft))}:
        return False
    _forget_typed(draft)
    draft.current_field = name
    return True


async def start(
    session: AsyncSession, *, person_id: int, cooperative_id: int, fiscal_year: int, restart: bool = False
) -> ReportDraft:
    """The person's draft for this cooperative and year: resumed, or new (or started again)."""
    draft = await repo.find_draft(session, person_id, cooperative_id, fiscal_year)
    if draft is not None and restart:
        await repo.delete_draft(session, draft.id)
        await session.flush()
        draft = None
    if draft is None:
        draft = await repo.new_draft(session, person_id=person_id, cooperative_id=cooperative_id,
                                     fiscal_year=fiscal_year, first_field=FIELDS[0].name)
        await audit(session, "report_started", subject_type="cooperative", subject_id=cooperative_id,
                    person_id=person_id, fiscal_year=fiscal_year)
    return draft


@dataclass(frozen=True)
class Summary:
    """What the summary shows: the report, last year's, what changed, what looks wrong."""

    report: AnnualReport
    previous: AnnualReport | None
    changes: list[Change]
    warnings: list[ReportWarning]


def record_to_report(record: AnnualReportRecord) -> AnnualReport:
    """A stored report as the validated model (validation of a stored report is not re-run)."""
    data = {name: getattr(record, name) for name in AnnualReport.model_fields}
    return AnnualReport.model_construct(**data)


async def summarize(session: AsyncSession, draft: ReportDraft, *, today: date) -> Summary:
    """Validate the complete draft and compare it with the previous year's report."""
    report = report_from_answers(model_answers(draft), today=today)
    previous_record = await repo.latest_report(session, draft.cooperative_id, draft.fiscal_year - 1)
    previous = record_to_report(previous_record) if previous_record else None
    return Summary(report, previous, changes_since(report, previous), plausibility_warnings(report, previous))


@dataclass(frozen=True)
class Submitted:
    """A stored revision and the status it gave the cooperative."""

    record: AnnualReportRecord
    cooperative: Cooperative
    status: CoopStatus


async def submit(
    session: AsyncSession, draft: ReportDraft, *, today: date, now: datetime,
    inactive_after_years: int, actor_telegram_id: int,
) -> Submitted:
    """Store the draft as the next revision for its year, refresh the status, drop the draft."""
    summary = await summarize(session, draft, today=today)
    report = summary.report
    await repo.lock_cooperative(session, draft.cooperative_id)
    revision = await repo.next_revision(session, draft.cooperative_id, draft.fiscal_year)
    fields = report.model_dump(include=set(AnnualReportRecord.__table__.columns.keys()))
    fields["obstacles"] = [str(o) for o in report.obstacles]
    fields["support_needed"] = [str(s) for s in report.support_needed]
    record = await repo.add_report(
        session, cooperative_id=draft.cooperative_id, revision=revision, submitted_by=draft.person_id,
        submitted_at=now, confirmed_warnings=[w.key for w in summary.warnings], **fields,
    )
    cooperative = await registry.get_cooperative(session, draft.cooperative_id)
    assert cooperative is not None
    status = await refresh_status(session, cooperative, today=today, now=now,
                                  inactive_after_years=inactive_after_years)
    await repo.delete_draft(session, draft.id)
    await audit(session, "report_submitted", actor=actor_telegram_id, subject_type="cooperative",
                subject_id=draft.cooperative_id, fiscal_year=draft.fiscal_year, revision=revision,
                status=str(status))
    return Submitted(record, cooperative, status)


async def refresh_status(
    session: AsyncSession, cooperative: Cooperative, *, today: date, now: datetime, inactive_after_years: int
) -> CoopStatus:
    """Apply the status rule to a cooperative's reports (a new report overrides a hand-set status)."""
    records = sorted(await repo.latest_per_year(session, [cooperative.id]), key=lambda r: r.fiscal_year)
    facts = [ReportFacts(r.fiscal_year, r.rat_held, r.still_operating) for r in records]
    status, reason = derive_status(facts, current_fiscal_year=last_closed_fiscal_year(today),
                                   inactive_after_years=inactive_after_years)
    cooperative.status = status
    cooperative.status_reason = reason_text(reason, "id", inactive_after_years=inactive_after_years)
    cooperative.status_source = StatusSource.DERIVED
    cooperative.status_set_at = now
    rat_years = [r.fiscal_year for r in records if r.rat_held]
    if rat_years:
        cooperative.last_rat_year = max(rat_years)
    return status


async def refresh_all_statuses(session: AsyncSession, *, today: date, now: datetime, inactive_after_years: int) -> int:
    """The daily job: re-apply the rule to every cooperative whose status is not hand-set."""
    changed = 0
    for coop_id in await repo.derived_cooperative_ids(session):
        cooperative = await registry.get_cooperative(session, coop_id)
        if cooperative is None:
            continue
        before = cooperative.status
        after = await refresh_status(session, cooperative, today=today, now=now,
                                     inactive_after_years=inactive_after_years)
        changed += before != after
    return changed
