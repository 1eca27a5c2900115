"""Telegram adapters, one module per feature; `register_all` installs them in order.

Order matters, because PTB gives an update to the first matching handler of each group:
0. group -3, `inbound_policy`: whether the bot is spoken to at all (bots, foreign groups,
   channel posts, member updates, edits: logged, not answered).
1. group -1, `pre`: who the user is, his role and language; the flood limit may stop here.
2. group 0, features: conversations first (they must see the answers they are waiting for),
   then plain commands and buttons.
3. group 0, menu buttons: after the features, which add their items while registering.
4. group 0, `fallback`: the catch-alls, so nothing goes unanswered.
5. the error handler.
Last, every button pattern is made to match the whole callback data (handlers/buttons.py).
"""

from __future__ import annotations

from telegram.ext import Application

from handlers import (
    basics,
    broadcast,
    errors,
    fallback,
    inbound_policy,
    menu,
    pre,
    profile,
    programmes,
    questions,
    registration,
    report,
    staff,
    tickets,
)
from handlers.buttons import match_whole
from handlers import meetings, meetings_list
from handlers import exports, statistics


def register_all(app: Application) -> None:  # type: ignore[type-arg]
    """Install every handler of KopDesk on `app`, in the order explained above."""
    inbound_policy.register(app)
    pre.register(app)
    # meetings: the /rapat_baru conversation (with the edit steps) must see its /lewati before
    # the report's "/lewati outside a report" answer; then /rapat and the RSVP buttons.
    for feature in (meetings, meetings_list):
        feature.register(app)
    # registration first: its /start <code> must win over the plain /start of basics.
    for feature in (registration, report, broadcast, basics, staff, profile, programmes, questions,
                    tickets, statistics, exports):
        feature.register(app)
    menu.register_buttons(app)
    fallback.register(app)
    errors.register(app)
    match_whole(app)
