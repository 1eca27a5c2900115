"""Access control in one place: every handler callback declares the roles it serves.

`serves(...)` wraps a callback; before it runs, the user's role (resolved for every update in
`handlers.pre`) is checked. A refusal is answered in the user's language and written to the
audit log, whether it came as a command, a button press or plain text. The role-matrix test
walks every registered handler and fails for a callback without a declaration.

The declared roles also say where a callback may answer (handlers/chats.py): anything that
serves more than staff shows personal or cooperative data, so in the officers' chat it answers
only with a pointer to the private chat. An update without a person (no sender, or a bot) runs
no callback at all: `handlers.inbound_policy` stops those first; this is the second line.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from telegram import MaybeInaccessibleMessage, Update
from telegram.ext import ConversationHandler

from bot.services.audit import audit
from bot.services.roles import Role
from bot.tg.context import KopContext
from handlers.chats import point_to_private, speaks_here

_LOG = logging.getLogger(__name__)
ROLES_ATTR = "kopdesk_roles"

Callback = TypeVar("Callback", bound=Callable[..., Awaitable[Any]])


def refusal_key(allowed: frozenset[Role]) -> str:
    """The catalogue key that explains a refusal for a handler serving `allowed`."""
    if allowed == {Role.ADMIN}:
        return "access.admin_only"
    if allowed <= {Role.OFFICER, Role.ADMIN}:
        return "access.officer_only"
    if Role.MANAGER in allowed:
        return "access.manager_only"
    return "access.guest_only"


def serves(*roles: Role | frozenset[Role], old_messages: bool = False) -> Callable[[Callback], Callback]:
    """Declare (and enforce) the roles a handler callback serves.

    `old_messages`: the callback copes with a button under an inaccessible message.
    """
    allowed: frozenset[Role] = frozenset(
        r for item in roles for r in (item if isinstance(item, frozenset) else {item})
    )

    def decorate(callback: Callback) -> Callback:
        @functools.wraps(callback)
        async def guarded(update: Update, context: KopContext) -> Any:
            if not context.has_person:  # nobody to answer: no sender, or a bot
                return ConversationHandler.END
            if not speaks_here(update, context, allowed):
                await point_to_private(update, context)
                return ConversationHandler.END
            if context.role not in allowed:
                await refuse(update, context, allowed, callback.__name__)
                return ConversationHandler.END
            query = update.callback_query
            if query is not None and not _usable(query.message, old_messages):
                _LOG.info("button %r under an unusable message (update %s)", query.data, update.update_id)
                await query.answer(context.t("access.stale_button"), show_alert=True)
                return None  # inside a conversation: stay where the user is
            return await callback(update, context)

        setattr(guarded, ROLES_ATTR, allowed)
        return guarded  # type: ignore[return-value]

    return decorate


def _usable(message: MaybeInaccessibleMessage | None, old_messages: bool) -> bool:
    """True if a button's message is one the callback can answer in (and edit)."""
    if message is None:  # an inline message: no chat at all
        return False
    # PTB reads Telegram's InaccessibleMessage (date 0) into a Message that is not accessible.
    return old_messages or message.is_accessible


async def refuse(
    update: Update, context: KopContext, allowed: frozenset[Role], what: str
) -> None:
    """Tell the user he may not do this, and write it to the audit log."""
    text = context.t(refusal_key(allowed))
    user_id = update.effective_user.id if update.effective_user else None
    await audit(
        context.session,
        "access_denied",
        actor=user_id,
        subject_type="handler",
        subject_id=what,
        role=str(context.role),
        allowed=sorted(str(r) for r in allowed),
    )
    if update.callback_query:
        await update.callback_query.answer(text, show_alert=True)
    elif update.effective_message:
        await update.effective_message.reply_text(text)


def declared_roles(callback: Any) -> frozenset[Role] | None:
    """The roles a callback declared with `serves`, or None if it declared none."""
    return getattr(callback, ROLES_ATTR, None)
