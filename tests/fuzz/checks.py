"""What a fuzz run must show, computed from what was sent, the database, the sandbox and the log.

Each check returns a list of violations (short strings); the test fails listing every check that
has any, with counts and examples, so one run tells everything that is wrong at once.
The rules are SPEC 9 and 10 and issue 8:

- no unhandled exception (the error handler's audit entries, tracebacks in the process log);
- every update stored exactly once: the stored update_ids are the sent ones, and there is one
  row per update sent (a redelivered duplicate is the same update; an update numbered again after
  Telegram restarted its sequence is a new one);
- every private message of a person (not a bot) answered: a send or edit to that chat made while
  handling that update (the outbound log's update_id), unless the flood limit throttled it;
- quiet where the bot is not spoken to: nothing to bots, nothing for channel posts, member
  updates, reactions, polls, inline queries, payments, business messages; nothing for edits
  outside the report conversation; in groups other than the officers' chat at most one short
  pointer for a command addressed to the bot, without personal or cooperative data;
- every text with a parse mode valid for Telegram (the sandbox parses it with Telegram's rules
  and refuses it with "can't parse entities");
- every callback query answered.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SEND_METHODS = {
    "sendmessage", "sendphoto", "senddocument", "copymessage", "forwardmessage", "editmessagetext",
    "editmessagecaption", "editmessagereplymarkup", "sendsticker", "sendvoice", "sendlocation",
}
QUIET_KINDS = {
    "channel_post", "edited_channel_post", "my_chat_member", "chat_member", "chat_join_request",
    "message_reaction", "message_reaction_count", "poll", "poll_answer", "inline_query",
    "chosen_inline_result", "shipping_query", "pre_checkout_query", "business_connection",
    "business_message", "edited_business_message", "deleted_business_messages", "chat_boost",
    "removed_chat_boost", "purchased_paid_media", "managed_bot",
}


@dataclass
class Sent:
    """One update the fuzz run queued."""

    update_id: int
    kind: str
    epoch: int  # 0 before Telegram's restart of update ids, 1 after
    duplicate: bool = False
    chat_id: int | None = None
    chat_type: str | None = None
    user_id: int | None = None
    from_bot: bool = False
    text: str | None = None
    callback_id: str | None = None

    @classmethod
    def of(cls, update: dict[str, Any], epoch: int, *, duplicate: bool = False) -> Sent:
        kind = next(k for k in update if k != "update_id")
        body = update[kind]
        message = body if "chat" in body and "message_id" in body else body.get("message") or {}
        sender = body.get("from") or body.get("user") or {}
        chat = message.get("chat") or body.get("chat") or {}
        return cls(
            update_id=update["update_id"], kind=kind, epoch=epoch, duplicate=duplicate,
            chat_id=chat.get("id"), chat_type=chat.get("type"), user_id=sender.get("id"),
            from_bot=bool(sender.get("is_bot")), text=message.get("text") if kind != "callback_query" else None,
            callback_id=body.get("id") if kind == "callback_query" else None,
        )


@dataclass
class Outbound:
    method: str
    chat_id: int | None
    text: str | None
    ok: bool
    error: str | None
    update_id: int | None
    created_at: datetime


def _examples(items: list[str], limit: int = 6) -> list[str]:
    return items[:limit] + ([f"… and {len(items) - limit} more"] if len(items) > limit else [])


def exception_kinds(log: str) -> Counter[str]:
    """`Type: message` of every traceback in the process log, with the innermost project frame."""
    kinds: Counter[str] = Counter()
    for block in re.split(r"\n(?=Traceback \(most recent call last\))", log):
        if not block.startswith("Traceback"):
            continue
        lines = block.splitlines()
        frames = [ln.strip() for ln in lines if ln.strip().startswith("File ") and "site-packages" not in ln]
        final = next((ln for ln in lines[1:] if re.match(r"^[A-Za-z_.]+(Error|Exception|Request|"
                                                          r"Forbidden|TimedOut|KeyError)\b", ln)), lines[-1])
        where = re.sub(r'.*/(\w+/\w+\.py)", line \d+, in (\w+)', r"\1 \2", frames[-1]) if frames else "?"
        final = re.sub(r"byte offset \d+", "byte offset N", final.strip())
        kinds[f"{final[:110]} @ {where}"] += 1
    return kinds


def crashes(log: str, error_audits: list[tuple[str | None, str]], admin_reports: int) -> list[str]:
    found = [f"{n}× {kind}" for kind, n in exception_kinds(log).most_common()]
    if error_audits:
        by_type = Counter(err for _, err in error_audits)
        found.append(f"{len(error_audits)} error audit entries: {dict(by_type)}")
    if admin_reports:
        found.append(f"{admin_reports} error reports sent to the admin chat")
    return found


def logging_once(sent: list[Sent], rows: list[tuple[int, bool]]) -> list[str]:
    """rows: (update_id, handled or throttled) of inbound_updates."""
    expected_ids = {s.update_id for s in sent}
    logical = len({(s.update_id, s.epoch) for s in sent})
    stored = Counter(uid for uid, _ in rows)
    found = []
    missing = sorted(expected_ids - set(stored))
    extra = sorted(set(stored) - expected_ids)
    if missing:
        found.append(f"{len(missing)} update ids never stored, e.g. {missing[:5]}")
    if extra:
        found.append(f"{len(extra)} stored update ids were never sent, e.g. {extra[:5]}")
    if len(rows) != logical:
        restarted = logical - len(expected_ids)
        epochs = Counter(uid for uid, _ in {(s.update_id, s.epoch) for s in sent})
        short = [(uid, kinds) for uid, kinds in _kinds_by_id(sent).items() if stored[uid] != epochs[uid]]
        found.append(f"{len(rows)} rows for {logical} updates sent ({restarted} of them reused an id "
                     f"after Telegram restarted its numbering); ids stored a wrong number of times "
                     f"(with the kinds sent under them): {short[:5]}")
    unfinished = [uid for uid, done in rows if not done]
    if unfinished:
        found.append(f"{len(unfinished)} stored updates never handled, e.g. {unfinished[:5]}")
    return found


def _kinds_by_id(sent: list[Sent]) -> dict[int, list[str]]:
    kinds: dict[int, list[str]] = {}
    for s in sent:
        if not s.duplicate:
            kinds.setdefault(s.update_id, []).append(s.kind)
    return kinds


def _by_update(outbound: list[Outbound], epoch_split: datetime | None) -> dict[tuple[int, int], list[Outbound]]:
    grouped: dict[tuple[int, int], list[Outbound]] = {}
    for call in outbound:
        if call.update_id is None:
            continue
        epoch = 1 if epoch_split is not None and call.created_at >= epoch_split else 0
        grouped.setdefault((call.update_id, epoch), []).append(call)
    return grouped


def unanswered(sent: list[Sent], outbound: list[Outbound], throttled: set[int], humans: set[int],
               epoch_split: datetime | None) -> list[str]:
    grouped = _by_update(outbound, epoch_split)
    found = []
    for s in sent:
        if (s.kind != "message" or s.duplicate or s.chat_type != "private" or s.from_bot
                or s.user_id not in humans or s.chat_id != s.user_id or s.update_id in throttled):
            continue
        answers = [c for c in grouped.get((s.update_id, s.epoch), [])
                   if c.ok and c.chat_id == s.chat_id and c.method.lower() in SEND_METHODS]
        if not answers:
            found.append(f"update {s.update_id} (epoch {s.epoch}) from {s.user_id}: {(s.text or '<media>')[:40]!r}")
    return found


def misplaced(sent: list[Sent], outbound: list[Outbound], sandbox_calls: list[dict[str, Any]], *,
              bots: set[int], foreign: set[int], managers: set[int], bot_username: str,
              private_data: list[str], epoch_split: datetime | None) -> list[str]:
    """Sends where none belong (see module docstring)."""
    found = []
    for call in sandbox_calls:
        if call["method"].lower() in SEND_METHODS and call.get("chat_id") is not None:
            chat = int(call["chat_id"]) if str(call["chat_id"]).lstrip("-").isdigit() else None
            if chat in bots:
                found.append(f"{call['method']} to the bot {chat}")
    grouped = _by_update(outbound, epoch_split)
    addressed = re.compile(rf"^/[A-Za-z0-9_]+@{re.escape(bot_username)}(\s|$)", re.IGNORECASE)
    for s in sent:
        if s.duplicate:
            continue
        calls = [c for c in grouped.get((s.update_id, s.epoch), []) if c.method.lower() in SEND_METHODS]
        if not calls:
            continue
        what = f"{s.kind} {s.update_id} in {s.chat_type} {s.chat_id} from {s.user_id}"
        texts = "; ".join(repr((c.text or "")[:50]) for c in calls[:2])
        if s.kind in QUIET_KINDS:
            found.append(f"answered {what}: {texts}")
        elif s.from_bot:
            found.append(f"answered a bot: {what}: {texts}")
        elif s.kind == "edited_message" and (s.chat_type != "private" or s.user_id not in managers):
            found.append(f"answered an edit outside a conversation: {what}: {texts}")
        elif s.chat_id in foreign:
            pointer = s.kind == "message" and bool(addressed.match(s.text or ""))
            leaks = [p for p in private_data if any(p in (c.text or "") for c in calls)]
            if not pointer or len(calls) > 1 or leaks:
                found.append(f"answered in a foreign group: {what} {(s.text or '')[:30]!r}: {texts}"
                             + (f" (shows {leaks[:3]})" if leaks else ""))
    return found


def html_refused(sandbox_calls: list[dict[str, Any]], outbound: list[Outbound],
                 typed: set[tuple[int | None, str]]) -> list[str]:
    """Texts Telegram refused to parse; a text the user typed himself (an officer's formatted
    announcement, which the bot tries at the preview and explains) is his, not the bot's."""
    found = [f"{c.method} to {c.chat_id} (update {c.update_id}): {c.error}: {(c.text or '')[:60]!r}"
             for c in outbound if "parse entities" in (c.error or "").lower() and (c.chat_id, c.text) not in typed]
    refused = sum("parse entities" in str(c.get("error") or "").lower() for c in sandbox_calls)
    logged = sum("parse entities" in (c.error or "").lower() for c in outbound)
    if refused > logged:
        found.append(f"{refused - logged} refusals of the parse mode missing from the outbound log")
    return found


def refusals(sandbox_calls: list[dict[str, Any]]) -> Counter[str]:
    """Every Bot API refusal the bot got, by method and reason (a diagnostic, not a rule)."""
    return Counter(f"{c['method']}: {str(c.get('error'))[:80]}" for c in sandbox_calls
                   if c.get("status") and c["status"] >= 400)


def unanswered_callbacks(callbacks: dict[str, dict[str, Any]], sent: list[Sent]) -> list[str]:
    epochs = {s.callback_id: s for s in sent if s.callback_id}
    found = []
    for qid, r in callbacks.items():
        if not r["answered"]:
            s = epochs.get(qid)
            where = f"update {s.update_id} (epoch {s.epoch})" if s else "an unrecorded update"
            found.append(f"{where}: data={r.get('data')!r} chat={r.get('chat_id')} user={r.get('user_id')} "
                         f"inline={bool(r.get('inline_message_id'))}")
    return found


def report(checks: dict[str, list[str]]) -> str:
    lines = []
    for name, violations in checks.items():
        if violations:
            lines.append(f"✗ {name}: {len(violations)}")
            lines += [f"    {v}" for v in _examples(violations, 12 if name == "unhandled exceptions" else 6)]
        else:
            lines.append(f"✓ {name}")
    return "\n".join(lines)
