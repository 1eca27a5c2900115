"""The audience picker shared by /siaran and /rapat_baru (SPEC 6, 7): keyboards, choices, labels.

All cooperatives, a kecamatan, a status, a type, or chosen cooperatives (searched by name or
registration number, ticked one by one) — always within the officer's kecamatan scope, through
`bot.services.audience`. Each feature keeps its own callbacks, states and draft (a broadcast, a
meeting); the picker only builds the buttons under the feature's prefix (`<prefix>:<action>:
<draft id>[:<arg>]`) and reads a pressed choice back. Both drafts store the audience as
`Audience.to_json()`, so the chosen cooperatives accumulate in the draft itself and survive a
restart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler

from bot.services import broadcasts
from bot.services.audience import Audience, AudienceKind
from bot.tg.context import KopContext
from storage.models import CoopStatus, CoopType
from storage.repositories import audience as audience_repo
from storage.repositories import registry

PAGE = 8
MATCHES = 8
Callback = Callable[[Update, Any], Awaitable[object]]


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


@dataclass(frozen=True)
class AudiencePicker:
    """The audience buttons of one feature.

    `kecamatan` is the action of one kecamatan's button ("k" in /siaran; /rapat_baru uses "k"
    for the meeting's kind, so "kc"); `cancel_key` the catalogue key of the feature's Batal.
    """

    prefix: str
    kecamatan: str
    cancel_key: str

    def _data(self, action: str, draft_id: int, arg: object = None) -> str:
        return f"{self.prefix}:{action}:{draft_id}" + ("" if arg is None else f":{arg}")

    def patterns(self) -> dict[str, str]:
        """The callback patterns, by what the button does (the feature maps them to callbacks)."""
        p, d = self.prefix, r"\d{1,9}"
        return {
            "all": rf"^{p}:all:{d}$",
            "kecamatan_page": rf"^{p}:kp:{d}:{d}$",
            "kecamatan": rf"^{p}:{self.kecamatan}:{d}:{d}$",
            "status": rf"^{p}:s:{d}:(aktif|tidak_aktif)$",
            "type_menu": rf"^{p}:tm:{d}$",
            "type": rf"^{p}:t:{d}:[a-z_]+$",
            "pick": rf"^{p}:c:{d}$",
            "toggle": rf"^{p}:ct:{d}:{d}$",
            "done": rf"^{p}:cd:{d}$",
            "back": rf"^{p}:aud:{d}$",
        }

    def handlers(self, *, choose: Callback, kecamatan_page: Callback, type_menu: Callback, pick: Callback,
                 toggle: Callback, done: Callback, back: Callback) -> list[CallbackQueryHandler]:  # type: ignore[type-arg]
        """The feature's callbacks on the picker's buttons (`choose` takes all, a kecamatan, a
        status and a type: `choice` reads which)."""
        p = self.patterns()
        pairs = [(choose, "all"), (kecamatan_page, "kecamatan_page"), (choose, "kecamatan"), (choose, "status"),
                 (type_menu, "type_menu"), (choose, "type"), (pick, "pick"), (toggle, "toggle"), (done, "done"),
                 (back, "back")]
        return [CallbackQueryHandler(callback, pattern=p[name]) for callback, name in pairs]

    def menu(self, context: KopContext, draft_id: int) -> InlineKeyboardMarkup:
        """All / per kecamatan / aktif / tidak aktif / per type / choose cooperatives / Batal."""
        return InlineKeyboardMarkup([
            [_button(context.t("siaran.aud_all"), self._data("all", draft_id))],
            [_button(context.t("siaran.aud_kecamatan"), self._data("kp", draft_id, 0))],
            [_button(context.t("siaran.aud_aktif"), self._data("s", draft_id, "aktif")),
             _button(context.t("siaran.aud_tidak_aktif"), self._data("s", draft_id, "tidak_aktif"))],
            [_button(context.t("siaran.aud_type"), self._data("tm", draft_id))],
            [_button(context.t("siaran.aud_pick"), self._data("c", draft_id))],
            [_button(context.t(self.cancel_key), self._data("x", draft_id))],
        ])

    async def kecamatan_page(self, context: KopContext, draft_id: int, page: int) -> InlineKeyboardMarkup:
        """One page of the kecamatan in the officer's scope, two a row, ◀️ ▶️, back."""
        page = max(page, 0)
        rows, total = await audience_repo.kecamatan_page(context.session, context.identity.scope_list, page, PAGE)
        buttons = [_button(k.name, self._data(self.kecamatan, draft_id, k.id)) for k in rows]
        keyboard = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
        nav = []
        if page > 0:
            nav.append(_button("◀️", self._data("kp", draft_id, page - 1)))
        if (page + 1) * PAGE < total:
            nav.append(_button("▶️", self._data("kp", draft_id, page + 1)))
        keyboard += [nav, [_button(context.t("nav.back"), self._data("aud", draft_id))]]
        return InlineKeyboardMarkup([r for r in keyboard if r])

    def type_menu(self, context: KopContext, draft_id: int) -> InlineKeyboardMarkup:
        """The cooperative types, then back."""
        keyboard = [[_button(context.t(f"siaran.type_{t.name.lower()}"), self._data("t", draft_id, t.name.lower()))]
                    for t in CoopType]
        keyboard.append([_button(context.t("nav.back"), self._data("aud", draft_id))])
        return InlineKeyboardMarkup(keyboard)

    def choice(self, data: str, context: KopContext) -> Audience | str:
        """The audience an all / kecamatan / status / type button names, or the catalogue key of
        the refusal (a kecamatan outside the scope, a forged type)."""
        parts = data.split(":")
        action = parts[1]
        if action == "all":
            return Audience.everyone()
        if action == self.kecamatan:
            kecamatan_id = int(parts[3])
            scope = context.identity.scope
            if scope is not None and kecamatan_id not in scope:
                return "access.out_of_scope"
            return Audience.in_kecamatan(kecamatan_id)
        if action == "s":
            return Audience.with_status(CoopStatus[parts[3].upper()])
        if action == "t" and parts[3].upper() in CoopType.__members__:
            return Audience.of_type(CoopType[parts[3].upper()])
        return "access.stale_button"

    def pick_keyboard(self, context: KopContext, draft_id: int, chosen: Collection[int],
                      shown: list[tuple[int, str]]) -> InlineKeyboardMarkup:
        """Search results to tick (☑️ chosen, ⬜ not), Selesai (n chosen), change audience."""
        rows = [[_button(("☑️ " if cid in chosen else "⬜ ") + name[:55], self._data("ct", draft_id, cid))]
                for cid, name in shown]
        rows.append([_button(context.t("siaran.coops_done", count=len(chosen)), self._data("cd", draft_id))])
        rows.append([_button(context.t("siaran.change_audience"), self._data("aud", draft_id))])
        return InlineKeyboardMarkup(rows)

    def shown(self, markup: InlineKeyboardMarkup | None) -> list[tuple[int, str]]:
        """The search results a pick keyboard shows (to redraw it after a tick)."""
        found = []
        for row in markup.inline_keyboard if markup else ():
            data = row[0].callback_data or ""
            if isinstance(data, str) and data.startswith(f"{self.prefix}:ct:"):
                found.append((int(data.split(":")[3]), row[0].text.split(" ", 1)[-1]))
        return found

    async def search(self, context: KopContext, text: str) -> list[tuple[int, str]]:
        """Cooperatives matching a typed name or registration number, within the scope."""
        matches = await registry.search_cooperatives(
            context.session, text, kecamatan_ids=context.identity.scope_list, limit=MATCHES)
        return [(m.cooperative.id, m.cooperative.name) for m in matches]


async def label(context: KopContext, audience: Audience) -> str:
    """The audience in words, in the user's language (the preview, history, meeting lists)."""
    d = await broadcasts.describe(context.session, audience)
    if d.kind is AudienceKind.ALL:
        return context.t("siaran.label_all_scoped" if context.identity.scope is not None else "siaran.label_all")
    if d.kind is AudienceKind.KECAMATAN:
        return context.t("siaran.label_kecamatan", names=", ".join(d.names))
    if d.kind is AudienceKind.STATUS and d.status is not None:
        return context.t("siaran.label_status", status=context.t(f"status.{d.status.name.lower()}"))
    if d.kind is AudienceKind.TYPE and d.type is not None:
        return context.t("siaran.label_type", type=context.t(f"siaran.type_{d.type.name.lower()}"))
    names = ", ".join(d.names[:5]) + ("…" if len(d.names) > 5 else "")
    return context.t("siaran.label_chosen", count=len(d.names), names=names)
