"""CSV of the tickets opened in a date range (SPEC 8), one row per ticket, Indonesian headings.

A ticket belongs to the range of the day it was opened (office time); drafts a manager never
finished are left out. A scoped officer gets the tickets of his kecamatan only; a ticket with no
cooperative has no kecamatan and only an unscoped export holds it (as for acting on tickets).
Times are the office's local time; the question and topic are the manager's own words and pass
the formula guard like every cell (bot.safe_cells through PartedCsv).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.exports.base import ExportKind, ExportRequest, ExportResult, PartedCsv, file_stem, register_kind
from bot.formatting import zone_name
from storage.db import Database
from storage.models_support import TicketState
from storage.repositories import exports as repo

HEADER_TEMPLATE = ["nomor tiket", "dibuka ({zone})", "status", "kecamatan", "koperasi", "nomor badan hukum",
                   "pengelola", "id telegram pengelola", "topik", "pertanyaan", "jumlah pesan",
                   "menunggu petugas sejak ({zone})", "dijawab ({zone})", "ditutup ({zone})", "eskalasi"]

STATE_WORDS = {TicketState.OPEN: "menunggu petugas", TicketState.ANSWERED: "dijawab",
               TicketState.CLOSED: "ditutup"}


def _local(moment: datetime | None, tz: ZoneInfo) -> str | None:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else None


def cells(row: Any, tz: ZoneInfo) -> list[Any]:
    """One ticket's cells, in HEADER_TEMPLATE's order."""
    manager = " ".join(p for p in (row["first_name"], row["last_name"]) if p)
    if row["username"]:
        manager = f"{manager} (@{row['username']})".strip()
    waiting = row["waiting_since"] if row["state"] == TicketState.OPEN else None
    return [row["id"], _local(row["opened_at"], tz), STATE_WORDS.get(row["state"], row["state"]), row["kecamatan"],
            row["cooperative"], row["registration_number"], manager, row["manager_telegram_id"], row["topic"],
            row["question"], int(row["messages"]), _local(waiting, tz), _local(row["answered_at"], tz),
            _local(row["closed_at"], tz), row["escalations"]]


async def write_tickets(db: Database, request: ExportRequest) -> ExportResult:
    """Write the tickets CSV for the request's date range (in parts if larger than the limit).

    An empty range gives a file with the header only; /ekspor says so instead of sending it.
    """
    start, end = request.utc_range()
    header = [h.format(zone=zone_name(request.tz)) for h in HEADER_TEMPLATE]
    out = PartedCsv(request.out_dir, file_stem(request), header, request.max_bytes)
    counts = {"open": 0, "answered": 0, "closed": 0}
    try:
        async with db.session() as session:
            async for row in repo.ticket_rows(session, start, end, request.scope.kecamatan_ids):
                out.write(cells(row, request.tz))
                if row["state"] in counts:
                    counts[row["state"]] += 1
    except BaseException:
        out.discard()
        raise
    return ExportResult(files=out.close(), rows=out.rows, figures=counts)


register_kind(ExportKind("tickets", 40, "range", "csv", write_tickets, ("tiket", "ticket")))
