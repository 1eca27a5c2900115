"""How /laporan shows a draft: answers as people read them, a question's buttons, the summary.

Rendering only (no database, no sending); handlers/report.py decides what to show when.
"""

from __future__ import annotations

import html
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.services import report_flow
from bot.services.annual_report import FIELD_BY_NAME, FieldSpec
from bot.services.parsing import format_date, format_int, format_money, format_yes_no
from bot.services.parsing_messages import render
from bot.tg.context import KopContext
from storage.models import ReportDraft

_NOTES_IN_SUMMARY = 300


def _label(context: KopContext, spec: FieldSpec, value: Any) -> str:
    if spec.choices is not None:
        return f"report.{'obstacle' if spec.name == 'obstacles' else 'support'}.{value}"
    return ""


def format_answer(context: KopContext, spec: FieldSpec, value: Any) -> str:
    """An answer as the user reads it ('Rp 1.250.000', '15 Maret 2026', 'Ya', '–')."""
    lang = context.lang
    if value is None or value == []:
        return "–"
    if spec.kind == "yes_no":
        return format_yes_no(bool(value), lang)
    if spec.kind == "date":
        return format_date(value, lang)
    if spec.kind == "int":
        return format_int(value, lang)
    if spec.kind == "money":
        return format_money(value, lang)
    if spec.kind == "multi":
        return ", ".join(context.t(_label(context, spec, str(v))) for v in value)
    return str(value)


def question_markup(context: KopContext, draft: ReportDraft, spec: FieldSpec, index: int) -> InlineKeyboardMarkup:
    d = draft.id
    rows: list[list[InlineKeyboardButton]] = []
    saved = (draft.answers or {}).get(spec.name)
    if spec.kind == "yes_no":
        rows.append([InlineKeyboardButton(context.t("report.yes"), callback_data=f"rp:yn:{d}:1"),
                     InlineKeyboardButton(context.t("report.no"), callback_data=f"rp:yn:{d}:0")])
    if spec.kind == "multi" and spec.choices is not None:
        chosen = set(saved or [])
        for option in spec.choices:
            mark = "✅ " if option.value in chosen else "▫️ "
            rows.append([InlineKeyboardButton(mark + context.t(_label(context, spec, option.value)),
                                              callback_data=f"rp:ms:{d}:{option.value}")])
        rows.append([InlineKeyboardButton(context.t("report.done_button"), callback_data=f"rp:done:{d}")])
    nav = []
    if index > 1:
        nav.append(InlineKeyboardButton(context.t("nav.back"), callback_data=f"rp:back:{d}"))
    if spec.optional:
        nav.append(InlineKeyboardButton(context.t("report.skip_button"), callback_data=f"rp:skip:{d}"))
    if saved is not None and spec.kind != "multi":
        nav.append(InlineKeyboardButton(context.t("report.keep_button"), callback_data=f"rp:keep:{d}"))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(rows)


def summary_text(context: KopContext, draft: ReportDraft, coop_title: str, summary: report_flow.Summary) -> str:
    answers = report_flow.model_answers(draft)
    lines = [context.t("report.summary_header", year=draft.fiscal_year, coop=html.escape(coop_title)), ""]
    for spec in report_flow.applicable(answers):
        value = format_answer(context, spec, answers.get(spec.name))
        if spec.kind == "text" and len(value) > _NOTES_IN_SUMMARY:
            value = value[:_NOTES_IN_SUMMARY] + "…"
        lines.append(f"{context.t(f'report.field.{spec.name}')}: {html.escape(value)}")
        if spec.name == "members_women":
            lines.append(f"{context.t('report.field.members_total')}: {format_int(summary.report.members_total, context.lang)}")
    lines.append("")
    if summary.previous is None:
        lines.append(context.t("report.summary_no_previous"))
    elif summary.changes:
        lines.append(context.t("report.summary_previous", year=summary.previous.fiscal_year))
        for change in summary.changes:
            spec = FIELD_BY_NAME.get(change.field)
            old = format_answer(context, spec, change.old) if spec else format_int(change.old, context.lang)
            new = format_answer(context, spec, change.new) if spec else format_int(change.new, context.lang)
            lines.append(context.t("report.change_line", field=context.t(f"report.field.{change.field}"),
                                   old=html.escape(old), new=html.escape(new)))
    if summary.warnings:
        lines += ["", context.t("report.warnings_header")]
        lines += [f"• {html.escape(render(w.key, w.values, context.lang))}" for w in summary.warnings]
    return "\n".join(lines)
