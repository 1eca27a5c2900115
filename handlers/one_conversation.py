"""One conversation at a time per chat and user, and nothing captured that is meant elsewhere.

PTB keeps each ConversationHandler's state on its own, so a user could be "in" /daftar and
/bahasa at once, and the conversation registered first would take every typed line — also the
lines meant for the other one, and the reply-keyboard menu buttons. `KopConversation` adds three
rules to PTB's ConversationHandler (every KopDesk conversation is one, built by
`handlers.conversation.conversation`):

1. Entering a conversation ends every other one of the same chat and user. Drafts live in the
   database, so ending a conversation loses nothing.
2. A main-menu button (any label of the `[menu]` catalogue table, in any language) is never an
   answer: a conversation whose own entry points do not start on it lets it pass, and the
   menu's handler ends the open conversation and does what the button says (`leave_all`).
3. An edited message is not a new answer: only a conversation built with `takes_edits` sees
   edits (the report, which may correct the latest answer); `handlers.inbound_policy` drops
   edits for which no such conversation is open.

Ending another handler's conversation uses PTB's `_update_state` and `_get_key` (the same
calls PTB makes itself); the change is persisted with the update like any state change.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application, ConversationHandler

from bot.i18n import LANGUAGES, catalogue
from storage.persistence import states_for


@cache
def menu_labels() -> frozenset[str]:
    """Every main-menu button label, in every language."""
    return frozenset(
        text
        for lang in LANGUAGES
        for key, text in catalogue(lang).items()
        if key.startswith("menu.") and key != "menu.placeholder"
    )


def is_menu_button(update: Update) -> bool:
    """A new message whose text is a main-menu button."""
    message = update.message
    return message is not None and message.text is not None and message.text in menu_labels()


class KopConversation(ConversationHandler[Any]):
    """A ConversationHandler with the three rules of the module docstring."""

    def __init__(self, *args: Any, takes_edits: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.takes_edits = takes_edits

    def check_update(self, update: object) -> Any:
        """PTB's choice of handler, minus edits (unless taken) and foreign menu buttons."""
        if not isinstance(update, Update):
            return None
        if update.edited_message is not None and not self.takes_edits:
            return None
        if is_menu_button(update) and not any(
            entry.check_update(update) not in (None, False) for entry in self.entry_points
        ):
            return None
        return super().check_update(update)

    async def handle_update(self, update: Any, application: Any, check_result: Any, context: Any) -> object:
        """Handle the update; if the conversation is open afterwards, end the others (rule 1)."""
        result = await super().handle_update(update, application, check_result, context)
        key = check_result[1]
        if self._conversations.get(key) is not None:
            for other in conversations(application):
                if other is not self:
                    other.end(key)
        return result

    def state_of(self, update: Update) -> object | None:
        """The state of this conversation for the update's chat and user (None: not in it)."""
        if update.effective_chat is None or update.effective_user is None:
            return None
        return self._conversations.get(self._get_key(update))

    def refresh(self, key: Any, state: object | None) -> None:
        """Take the state another process stored for `key` (None: not in the conversation).

        Untracked, like PTB's own loading from persistence: it is not written back."""
        if state is None or state == self.END:
            self._conversations.data.pop(key, None)
        else:
            self._conversations.update_no_track({key: state})

    def end(self, key: Any) -> None:
        """End the conversation for one key (nothing happens if it is not open)."""
        self._update_state(self.END, key)

    def end_for(self, update: Update) -> None:
        """End the conversation for the update's chat and user."""
        if update.effective_chat is not None and update.effective_user is not None:
            self.end(self._get_key(update))


def conversations(application: Application) -> list[KopConversation]:  # type: ignore[type-arg]
    """Every KopDesk conversation registered on the application."""
    return [h for group in application.handlers.values() for h in group if isinstance(h, KopConversation)]


async def load_states(application: Application, session: AsyncSession, update: Update) -> None:  # type: ignore[type-arg]
    """Read the update's chat and user's conversation states from the database.

    PTB reads persisted conversations once, at start-up. When several processes handle the
    updates of one deployment (SPEC 13), another process may have moved a conversation since:
    the states stored with its last committed update are the truth, read before handling."""
    if update.effective_chat is None or update.effective_user is None:
        return
    found = conversations(application)
    if not found:
        return
    key = found[0]._get_key(update)  # every KopDesk conversation is keyed by chat and user
    stored = await states_for(session, [c.name for c in found], key)
    for conversation in found:
        conversation.refresh(key, stored.get(conversation.name))


def leave_all(application: Application, update: Update) -> None:  # type: ignore[type-arg]
    """End whatever conversation the update's user is in (a menu button was pressed)."""
    for conversation in conversations(application):
        conversation.end_for(update)


def takes_this_edit(application: Application, update: Update) -> bool:  # type: ignore[type-arg]
    """True if a conversation that takes edits is open for the edited message's chat and user."""
    return any(c.takes_edits and c.state_of(update) is not None for c in conversations(application))
