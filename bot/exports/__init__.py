"""Exports for officers (SPEC 8): XLSX of annual reports, CSV of the registry, the message log
and the tickets.

`bot.exports.base` holds the request, the kinds registry and the size rules; each kind is one
module that registers itself. `run` makes one export on a database; `run_detached` does it on a
worker thread with its own event loop and engine, so that writing 210,000 rows never stalls the
bot's event loop (the file is written by pure-Python code that would otherwise hold it for
seconds). The CLI (`kopdesk export`) and /ekspor both come here.
"""

from __future__ import annotations

import asyncio

from bot.exports import log, registry, reports, tickets  # noqa: F401  register the built-in kinds
from bot.exports.base import KINDS, ExportRequest, ExportResult
from storage.db import Database


async def run(db: Database, request: ExportRequest) -> ExportResult:
    """Make one export with `db`."""
    return await KINDS[request.kind].write(db, request)


def _in_own_loop(database_url: str, request: ExportRequest) -> ExportResult:
    async def work() -> ExportResult:
        db = Database(database_url)
        try:
            return await run(db, request)
        finally:
            await db.dispose()

    return asyncio.run(work())


async def run_detached(database_url: str, request: ExportRequest) -> ExportResult:
    """Make one export on a worker thread (own loop, own connections); await its result."""
    return await asyncio.to_thread(_in_own_loop, database_url, request)
