"""/laporan (SPEC 4): the annual status update, one question at a time, saved after each answer.

The draft row is the conversation's memory (see bot/services/report_flow.py); the PTB
conversation only says "a report is being filled in". Every button names its draft, and each
press is checked on the server: the draft must be the user's and he must still manage its
cooperative. Only the draft's latest prompt has live buttons; a press on an older message, or
on a cooperative or year picker while a draft is open, is stale: "Tombol ini sudah tidak
berlaku", nothing changes. An edit of the message that gave the latest typed answer corrects
that answer ("Jawaban diperbarui"); any other edit is ignored.
"""

from __future__ import annotations

from datetime import date

from pydantic import ValidationError
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import commands
from bot.services import report_flow
from bot.services.annual_report import FIELD_BY_NAME, parse_answer
from bot.services.audit import audit
from bot.services.coop_status import report_years_offered
from bot.services.parsing import ParseError
from bot.services.parsing_messages import describe, render
from bot.services.roles import ALL_ROLES, MANAGERS
from bot.tg.context import KopContext
from handlers import menu
from handlers.access import serves
from handlers.conversation import conversation
from handlers.report_view import format_answer, question_markup, summary_text
from storage.models import ReportDraft
from storage.repositories import coop_browse, registry
from storage.repositories import reports as repo
from storage.types import utcnow

FILLING = "report_filling"


def _today(context: KopContext) -> date:
    return utcnow().astimezone(context.runtime.settings.tz).date()


async def _linked_ids(context: KopContext) -> set[int]:
    return {coop.id for coop, _ in await registry.cooperatives_of(context.session, context.person.id)}


async def _own_draft(update: Update, context: KopContext, draft_id: int | None = None) -> ReportDraft | None:
    """The user's draft (by id, or his latest) if he still manages its cooperative."""
    session = context.session
    draft = await repo.get_draft(session, draft_id) if draft_id else await repo.latest_draft(session, context.person.id)
    if draft is None:
        return None
    if draft.person_id != context.person.id or draft.cooperative_id not in await _linked_ids(context):
        await audit(session, "access_denied", actor=update.effective_user.id, subject_type="report_draft",
                    subject_id=draft.id, reason="not_owner")
        return None
    return draft


async def ask(update: Update, context: KopContext, draft: ReportDraft, prefix: str = "") -> str:
    """Send the draft's current question (or its summary) as a new message."""
    step = report_flow.step_of(draft)
    if step.spec is None:
        return await show_summary(update, context, draft)
    spec = step.spec
    lines = [prefix] if prefix else []
    lines.append(f"{context.t('report.progress', index=step.index, total=step.total)} "
                 + context.t(f"report.q.{spec.name}", year=draft.fiscal_year, next_year=draft.fiscal_year + 1))
    answers = report_flow.model_answers(draft)
    if spec.name in (draft.answers or {}) and spec.kind != "multi":
        lines.append(context.t("report.current", value=format_answer(context, spec, answers.get(spec.name))))
    if spec.kind == "multi":
        lines.append(context.t("report.multi_hint"))
    if spec.optional:
        lines.append(context.t("report.skip_hint"))
    sent = await context.bot.send_message(update.effective_chat.id, "\n".join(lines),
                                          reply_markup=question_markup(context, draft, spec, step.index))
    report_flow.prompted(draft, sent.message_id)
    return FILLING


async def show_summary(update: Update, context: KopContext, draft: ReportDraft) -> str:
    """Every answer, the change against last year, warnings; Kirim / Ubah / Batal."""
    try:
        summary = await report_flow.summarize(context.session, draft, today=_today(context))
    except ValidationError as error:
        # A rule across answers broke (e.g. the RAT date against the year): ask that field again.
        first = error.errors()[0]
        field_name = next((str(loc) for loc in first.get("loc", ()) if str(loc) in FIELD_BY_NAME), None)
        reason = render(first["type"], first.get("ctx") or {}, context.lang) if first["type"].startswith(("report.", "parse.")) else first["msg"]
        if not (field_name and report_flow.edit(draft, field_name)):
            # The rule names no question that is asked now: start again from the first one.
            draft.current_field = report_flow.applicable(report_flow.model_answers(draft))[0].name
        return await ask(update, context, draft, prefix=f"⚠️ {reason}")
    coop = await registry.get_cooperative(context.session, draft.cooperative_id)
    kecamatan = await coop_browse.kecamatan_name(context.session, coop.kecamatan_id)
    title = context.t("registry.coop_title", name=coop.name, number=coop.registration_number, kecamatan=kecamatan)
    d = draft.id
    send_key = "report.send_anyway" if summary.warnings else "report.send"
    markup = InlineKeyboardMarkup([
        [InlineKeyboardButton(context.t(send_key), callback_data=f"rp:send:{d}")],
        [InlineKeyboardButton(context.t("report.edit"), callback_data=f"rp:edit:{d}"),
         InlineKeyboardButton(context.t("report.cancel"), callback_data=f"rp:cancel:{d}")],
        [InlineKeyboardButton(context.t("nav.back"), callback_data=f"rp:back:{d}")],
    ])
    sent = await context.bot.send_message(update.effective_chat.id, summary_text(context, draft, title, summary),
                                          parse_mode=ParseMode.HTML, reply_markup=markup)
    report_flow.prompted(draft, sent.message_id)
    return FILLING


@serves(MANAGERS)
async def start_report(update: Update, context: KopContext) -> object:
    """/laporan: resume the unfinished draft, or choose the cooperative and the fiscal year."""
    draft = await _own_draft(update, context)
    if draft is not None:
        done = len([k for k in (draft.answers or {}) if k in FIELD_BY_NAME])
        if done == 0:  # nothing to lose by starting again: just go on
            return await ask(update, context, draft)
        coop = await registry.get_cooperative(context.session, draft.cooperative_id)
        total = report_flow.step_of(draft).total
        markup = InlineKeyboardMarkup([[
            InlineKeyboardButton(context.t("report.resume_button"), callback_data=f"rp:resume:{draft.id}"),
            InlineKeyboardButton(context.t("report.restart_button"), callback_data=f"rp:restart:{draft.id}"),
        ]])
        sent = await update.effective_message.reply_text(
            context.t("report.resume", coop=coop.name, year=draft.fiscal_year, done=min(done, total), total=total),
            reply_markup=markup,
        )
        report_flow.prompted(draft, sent.message_id)
        return FILLING
    return await _offer_start(update, context)


async def _offer_start(update: Update, context: KopContext) -> str:
    """The first choice of a new report: the cooperative (if he manages several), else the year."""
    linked = await registry.cooperatives_of(context.session, context.person.id)
    if len(linked) == 1:
        return await _offer_years(update, context, linked[0][0].id)
    keyboard = [[InlineKeyboardButton(coop.name[:60], callback_data=f"rp:coop:{coop.id}")] for coop, _ in linked]
    await context.bot.send_message(update.effective_chat.id, context.t("report.pick_coop"),
                                   reply_markup=InlineKeyboardMarkup(keyboard))
    return FILLING


async def _not_started(update: Update, context: KopContext) -> str:
    """Text or /lewati before a draft exists: say to choose first, and offer the choice again."""
    await update.effective_message.reply_text(context.t("report_flow.pick_first"))
    return await _offer_start(update, context)


async def _offer_years(update: Update, context: KopContext, coop_id: int) -> str:
    years = report_years_offered(_today(context))
    keyboard = [[InlineKeyboardButton(str(y), callback_data=f"rp:year:{coop_id}:{y}") for y in years]]
    await context.bot.send_message(update.effective_chat.id, context.t("report.pick_year"),
                                   reply_markup=InlineKeyboardMarkup(keyboard))
    return FILLING


async def _refuse(update: Update, context: KopContext) -> None:
    """A stale or forged button: say so; the caller changes nothing (returns None)."""
    await update.callback_query.answer(context.t("access.stale_button"), show_alert=True)


@serves(MANAGERS)
async def pressed(update: Update, context: KopContext) -> object:
    """Every report button: rp:<action>:<id>[:<value>], checked against the user's own draft."""
    query = update.callback_query
    parts = query.data.split(":")
    action, ident, value = parts[1], int(parts[2]), (parts[3] if len(parts) > 3 else "")
    if action in ("coop", "year"):
        linked = await _linked_ids(context)
        if ident not in linked:
            await audit(context.session, "access_denied", actor=update.effective_user.id,
                        subject_type="cooperative", subject_id=ident, reason="not_linked")
            await query.answer(context.t("report.not_yours"), show_alert=True)
            return None
        open_draft = await repo.latest_draft(context.session, context.person.id)
        if open_draft is not None and open_draft.cooperative_id in linked:
            await _refuse(update, context)  # a picker from before the open draft: stale
            return None
        if action == "year" and (not value.isdigit() or int(value) not in report_years_offered(_today(context))):
            await _refuse(update, context)
            return None
        await query.answer()
        if action == "coop":
            return await _offer_years(update, context, ident)
        draft = await report_flow.start(context.session, person_id=context.person.id,
                                        cooperative_id=ident, fiscal_year=int(value))
        return await ask(update, context, draft)

    draft = await _own_draft(update, context, ident)
    message_id = query.message.message_id if query.message else None
    if draft is None or not report_flow.is_current_prompt(draft, message_id):
        await _refuse(update, context)
        return None
    spec = FIELD_BY_NAME.get(draft.current_field or "")
    if action == "resume":
        await query.answer()
        return await ask(update, context, draft)
    if action == "restart":
        await query.answer()
        fresh = await report_flow.start(context.session, person_id=context.person.id,
                                        cooperative_id=draft.cooperative_id, fiscal_year=draft.fiscal_year, restart=True)
        return await ask(update, context, fresh)
    if action == "ms":
        if not report_flow.toggle(draft, value):
            await _refuse(update, context)
            return None
        await query.answer()
        try:
            await query.edit_message_reply_markup(question_markup(context, draft, spec, report_flow.step_of(draft).index))
        except BadRequest:  # the same markup (a double tap): nothing to change
            pass
        return FILLING
    handled = True
    if action == "yn" and spec is not None and spec.kind == "yes_no" and value in ("0", "1"):
        report_flow.answer(draft, value == "1")
    elif action == "done" and spec is not None and spec.kind == "multi":
        report_flow.finish_multi(draft)
    elif action == "skip":
        handled = report_flow.skip(draft)
    elif action == "keep" and spec is not None:
        report_flow.keep(draft)
    elif action == "back":
        handled = report_flow.back(draft)
    elif action == "edit" and draft.current_field is None:
        await query.answer()
        names = [q.name for q in report_flow.applicable(report_flow.model_answers(draft))]
        buttons = [InlineKeyboardButton(context.t(f"report.field.{n}"), callback_data=f"rp:ed:{draft.id}:{n}") for n in names]
        sent = await context.bot.send_message(
            update.effective_chat.id, context.t("report.edit_pick"),
            reply_markup=InlineKeyboardMarkup([buttons[i:i + 2] for i in range(0, len(buttons), 2)]))
        report_flow.prompted(draft, sent.message_id)
        return FILLING
    elif action == "ed":
        handled = report_flow.edit(draft, value)
    elif action == "cancel":
        await query.answer()
        await context.bot.send_message(update.effective_chat.id, context.t("report.cancelled"),
                                       reply_markup=menu.main_menu(context.application, context.role, context.lang))
        return ConversationHandler.END
    elif action == "send" and draft.current_field is None:
        await query.answer()
        return await _submit(update, context, draft)
    else:
        handled = False
    if not handled:
        await _refuse(update, context)
        return None
    await query.answer()
    return await ask(update, context, draft)


async def _submit(update: Update, context: KopContext, draft: ReportDraft) -> object:
    settings = context.runtime.settings
    now = utcnow()
    try:
        done = await report_flow.submit(context.session, draft, today=_today(context), now=now,
                                        inactive_after_years=settings.inactive_after_years,
                                        actor_telegram_id=update.effective_user.id)
    except ValidationError:
        return await show_summary(update, context, draft)  # shows the problem and asks again
    coop = done.cooperative
    status = context.t(f"status.{done.status.name.lower()}")
    await context.bot.send_message(
        update.effective_chat.id,
        context.t("report.submitted", year=done.record.fiscal_year, coop=coop.name,
                  revision=done.record.revision, status=status),
        reply_markup=menu.main_menu(context.application, context.role, context.lang),
    )
    # The officers learn of it in their daily digest (bot/services/digest.py), not one by one.
    return ConversationHandler.END


@serves(MANAGERS)
async def typed(update: Update, context: KopContext) -> object:
    """A typed answer to the current question: parsed, saved, next question; or why not."""
    draft = await _own_draft(update, context)
    if draft is None:  # still choosing the cooperative or the year
        return await _not_started(update, context)
    spec = FIELD_BY_NAME.get(draft.current_field or "")
    if spec is None:  # at the summary: the buttons decide
        return await show_summary(update, context, draft)
    try:
        value = parse_answer(spec, update.effective_message.text, today=_today(context),
                             answers=report_flow.model_answers(draft))
    except ParseError as error:
        return await ask(update, context, draft, prefix=f"⚠️ {describe(error, context.lang)}")
    report_flow.answer(draft, value, message_id=update.effective_message.message_id)
    return await ask(update, context, draft)


@serves(MANAGERS)
async def corrected(update: Update, context: KopContext) -> object:
    """An edited message while the report is open: corrects the latest typed answer, else ignored."""
    message = update.edited_message
    draft = await _own_draft(update, context)
    spec = report_flow.correctable(draft, message.message_id) if draft is not None else None
    if spec is None or message.text is None:
        return None  # an edit of anything else is not an answer: logged, nothing changes
    try:
        value = parse_answer(spec, message.text, today=_today(context), answers=report_flow.model_answers(draft))
    except ParseError as error:
        await message.reply_text(context.t("report_flow.edit_rejected", reason=describe(error, context.lang)))
        return None
    report_flow.correct(draft, value)
    await message.reply_text(context.t(
        "report_flow.edit_applied", field=context.t(f"report.field.{spec.name}"),
        value=format_answer(context, spec, report_flow.model_answers(draft).get(spec.name)),
    ))
    return await ask(update, context, draft)


@serves(MANAGERS)
async def skip_command(update: Update, context: KopContext) -> object:
    """/lewati inside the report: skip an optional question."""
    draft = await _own_draft(update, context)
    if draft is None:  # still choosing the cooperative or the year
        return await _not_started(update, context)
    if not report_flow.skip(draft):
        return await ask(update, context, draft, prefix=context.t("report.not_optional"))
    return await ask(update, context, draft)


@serves(ALL_ROLES)
async def skip_outside(update: Update, context: KopContext) -> None:
    """/lewati when no report is being filled in."""
    await update.effective_message.reply_text(context.t("cancel.nothing"))


def register(app: Application) -> None:  # type: ignore[type-arg]
    """Install /laporan, its buttons and /lewati."""
    button = menu.MenuItem("menu.report", MANAGERS, start_report)
    app.add_handler(
        conversation(
            "report",
            command=commands.REPORT,
            button=button,
            on_edit=corrected,
            entry_points=[
                # A report button works even after /batal or a lost state: the draft is in the
                # database, so pressing it (re-)enters the conversation where the draft stands.
                CallbackQueryHandler(pressed, pattern=r"^rp:[a-z]+:\d{1,9}(:[a-z0-9_]+)?$"),
            ],
            states={
                FILLING: [
                    CommandHandler(commands.SKIP.names, skip_command),
                    MessageHandler(filters.TEXT & ~filters.COMMAND, typed),
                ]
            },
        )
    )
    app.add_handler(CommandHandler(commands.SKIP.names, skip_outside))
    menu.add_item(app, button)
