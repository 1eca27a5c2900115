"""Running the real KopDesk application offline, and reading what it stored."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, select
from telegram import Update
from telegram.request import BaseRequest

from bot.runtime import Runtime
from bot.pipeline.application import KopDeskApplication
from bot.tg.build import build_application
from storage.db import Database
from tests.support.offline import OfflineRequest
from tests.support.requests import RecordingRequest


@dataclass
class RunningBot:
    """An initialised application and the offline request under it."""

    app: KopDeskApplication
    request: RecordingRequest
    inner: BaseRequest

    async def feed(self, update: Update) -> None:
        """Process one update as if Telegram had delivered it."""
        await self.app.process_update(update)

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Parameters of every call of one Bot API method, in order."""
        return [c.params for c in self.request.calls if c.method == method]


@asynccontextmanager
async def running_bot(
    runtime: Runtime,
    *,
    request: RecordingRequest | None = None,
    inner: BaseRequest | None = None,
) -> AsyncIterator[RunningBot]:
    """Build the real application on `runtime` with an offline request; initialise it.

    `inner` (default: the recording request itself) is what the application's request layer
    wraps, so a `FlakyRequest` around the recording request can sit in between.
    """
    recording = request or RecordingRequest()
    under = inner or recording
    app = build_application(runtime, request=under, get_updates_request=OfflineRequest())
    async with app:
        yield RunningBot(app=app, request=recording, inner=under)


async def fetch(db: Database, model: Any, *where: Any, order_by: Any = None) -> list[Any]:
    """Rows of one model, in a fresh session (so values come back from the database)."""
    stmt = select(model).where(*where)
    if order_by is not None:
        stmt = stmt.order_by(order_by)
    async with db.session() as session:
        return list((await session.execute(stmt)).scalars())


@contextmanager
def engine_events(runtime: Runtime, name: str, listener: Callable[..., None]) -> Iterator[None]:
    """`listener` hears the runtime's engine event `name` while the block runs."""
    engine = runtime.db.engine.sync_engine
    event.listen(engine, name, listener)
    try:
        yield
    finally:
        event.remove(engine, name, listener)

