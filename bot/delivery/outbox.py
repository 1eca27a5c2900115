"""The outbox interface for features: `enqueue` a message to many recipients, read `progress`.

No `telegram` import: a service can enqueue (broadcasts now; invitations, reminders and digests
later). The rows are written on the caller's session, so they become visible to the engine
exactly when the caller's transaction commits — an update that fails enqueues nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.delivery.limits import Lane
from storage.models_delivery import OutboxState
from storage.repositories import outbox as repo
from storage.types import utcnow

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024


@dataclass(frozen=True)
class Content:
    """What to send: text (the caption, with a photo or document), parse mode, buttons.

    `photo` and `document` are Telegram file_ids; `attachment` is a small file uploaded with
    the message instead, as (file name, bytes) — a meeting's calendar file; `buttons` are rows
    of Telegram's InlineKeyboardButton objects as JSON, e.g.
    ``[[{"text": "Hadir", "callback_data": "r:1"}]]``.
    """

    text: str | None = None
    parse_mode: str | None = "HTML"
    photo: str | None = None
    document: str | None = None
    buttons: list[list[dict[str, Any]]] | None = None
    # A reply to this message of the recipient chat (sent even if it was deleted).
    reply_to: int | None = None
    # copyMessage of (chat_id, message_id) instead of a new message; `text` is then ignored.
    copy_of: tuple[int, int] | None = None
    # A file uploaded with the message as a document: (file name, bytes).
    attachment: tuple[str, bytes] | None = None

    def __post_init__(self) -> None:
        if self.copy_of is not None:
            return
        if sum(1 for f in (self.photo, self.document, self.attachment) if f) > 1:
            raise ValueError("a message carries one photo or document at most")
        limit = CAPTION_LIMIT if (self.photo or self.document or self.attachment) else TEXT_LIMIT
        if not (self.text or self.photo or self.document or self.attachment):
            raise ValueError("empty message")
        if self.text and len(self.text) > limit:
            raise ValueError(f"text longer than {limit} characters")


@dataclass(frozen=True)
class Recipient:
    """Who gets it: a chat, and the person behind it when known (to mark him unreachable)."""

    chat_id: int
    person_id: int | None = None


@dataclass(frozen=True)
class Progress:
    """Where a batch stands."""

    total: int
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    blocked: int = 0

    @property
    def done(self) -> bool:
        """True when every row has its final result."""
        return self.pending + self.sending == 0

    @property
    def finished(self) -> int:
        """Rows with a final result (sent, failed or blocked)."""
        return self.sent + self.failed + self.blocked


async def enqueue(
    session: AsyncSession,
    message: Content,
    recipients: Iterable[Recipient | int],
    *,
    source: tuple[str, object],
    created_by: int | None = None,
    now: datetime | None = None,
    lane: Lane = Lane.BULK,
) -> int:
    """Queue `message` for every recipient (once per chat); returns the batch id.

    `source` names what produced it, e.g. ``("broadcast", 12)``: the engine calls the reporter
    registered for that kind as delivery goes. People already known to have blocked the bot
    get a `blocked` row at once instead of a send. `lane` is the row's place in the send budget:
    `Lane.NOTICE` for officers' notices (served before any bulk row), `Lane.BULK` otherwise.
    """
    now = now or utcnow()
    unique: dict[int, int | None] = {}
    for r in recipients:
        recipient = r if isinstance(r, Recipient) else Recipient(int(r))
        if unique.get(recipient.chat_id) is None:
            unique[recipient.chat_id] = recipient.person_id
    kind, source_id = source
    payload_id = await repo.add_payload(
        session, text=message.text, parse_mode=message.parse_mode, photo=message.photo,
        document=message.document, buttons=message.buttons, created_at=now,
        reply_to_message_id=message.reply_to,
        copy_from_chat_id=message.copy_of[0] if message.copy_of else None,
        copy_message_id=message.copy_of[1] if message.copy_of else None,
        document_name=message.attachment[0] if message.attachment else None,
        document_data=message.attachment[1] if message.attachment else None,
    )
    batch_id = await repo.add_batch(
        session, source_kind=kind, source_id=None if source_id is None else str(source_id),
        created_by=created_by, total=len(unique), now=now,
    )
    await repo.add_rows(session, batch_id=batch_id, payload_id=payload_id,
                        recipients=list(unique.items()), now=now, lane=int(lane))
    await repo.block_known_unreachable(session, batch_id)
    return batch_id


async def progress(session: AsyncSession, batch_id: int) -> Progress:
    """How many rows of the batch are pending, sending, sent, failed and blocked."""
    batch = await repo.get_batch(session, batch_id)
    if batch is None:
        raise LookupError(f"no outbox batch {batch_id}")
    counts = await repo.state_counts(session, batch_id)
    return Progress(
        total=batch.total,
        **{state.value: counts.get(state.value, 0) for state in OutboxState},
    )


async def reasons(session: AsyncSession, batch_id: int, limit: int = 3) -> list[tuple[str, int]]:
    """The commonest reasons rows of the batch failed or were blocked, with counts."""
    return await repo.top_errors(session, batch_id, limit)
