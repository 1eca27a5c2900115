"""The callback context of KopDesk handlers: PTB's, plus who the user is and his session."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession
from telegram.ext import CallbackContext, ExtBot

from bot.i18n import html, t
from bot.services.roles import GUEST, Identity, Role
from storage.db import current_uow

if TYPE_CHECKING:
    from bot.runtime import Runtime
    from storage.models import Person


class KopContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Adds `runtime`, `session`, `person`, `identity`/`role`, `lang`, `t()` and `html()`."""

    def __init__(self, application: Any, chat_id: int | None = None, user_id: int | None = None):
        super().__init__(application=application, chat_id=chat_id, user_id=user_id)
        # Filled by the pre-processing handler (handlers.pre) for every update with a user.
        self._person: Person | None = None
        self._lent: Callable[[], Person] | None = None
        self.identity: Identity = GUEST
        self.lang: str = application.runtime.settings.default_language

    @property
    def person(self) -> Person | None:
        """The user's person row in the update's session; None without a (human) sender."""
        if self._lent is not None:
            lent, self._lent = self._lent, None
            self._person = lent()
        return self._person

    @person.setter
    def person(self, person: Person | None) -> None:
        self._person, self._lent = person, None

    def lend_person(self, attach: Callable[[], Person]) -> None:
        """The person is known (remembered) and put into the session only when first asked for:
        an update that never asks opens no session for him (handlers/pre.py)."""
        self._person, self._lent = None, attach

    @property
    def has_person(self) -> bool:
        """True if the update has a person, without putting him into the session."""
        return self._lent is not None or self._person is not None

    @property
    def role(self) -> Role:
        """The user's role for this update."""
        return self.identity.role

    @property
    def runtime(self) -> Runtime:
        """Settings, database and logs of this bot."""
        return self.application.runtime  # type: ignore[no-any-return]

    @property
    def session(self) -> AsyncSession:
        """The database session of the update being handled (one transaction per update)."""
        uow = current_uow()
        if uow is None:
            raise RuntimeError("no unit of work: database access outside an update or job")
        return uow.session

    def t(self, key: str, /, **values: Any) -> str:
        """The catalogue text for `key` in this user's language."""
        return t(self.lang, key, **values)

    def html(self, key: str, /, **values: Any) -> Markup:
        """The catalogue text for `key` as Telegram HTML, its values escaped (see bot.i18n)."""
        return html(self.lang, key, **values)
