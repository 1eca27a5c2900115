"""CSV of the message log for a date range: what came in and what the bot sent, in time order.

The inbound updates and the outbound Bot API calls are two tables; both are read page by page in
time order and merged, so the file reads as the conversation happened. A scoped officer gets
only the exchanges with managers of cooperatives in his kecamatan. Times are the office's local
time. The raw update JSON stays in the database (it is for debugging, not for officers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from bot.exports.base import ExportKind, ExportRequest, ExportResult, PartedCsv, file_stem, register_kind
from bot.formatting import zone_name
from storage.db import Database
from storage.repositories import exports as repo

HEADER_TEMPLATE = ["waktu ({zone})", "arah", "jenis", "id_pengguna", "id_chat", "teks", "hasil", "keterangan",
                   "update_id", "message_id"]


def _inbound(row: Any) -> list[Any]:
    if row["throttled"]:
        result = "dibatasi"  # over the flood limit: logged, not handled
    elif row["handled_at"] is None:
        result = "belum selesai"
    else:
        result = "ditangani"
    return ["masuk", row["kind"], row["user_id"], row["chat_id"], row["text"], result, None,
            row["update_id"], None]


def _outbound(row: Any) -> list[Any]:
    note = row["error"]
    if row["attempts"] and row["attempts"] > 1:
        note = "; ".join(filter(None, [note, f"{row['attempts']} percobaan"]))
    return ["keluar", row["method"], None, row["chat_id"], row["text"], "berhasil" if row["ok"] else "gagal",
            note, row["update_id"], row["message_id"]]


async def merged(inbound: AsyncIterator[Any], outbound: AsyncIterator[Any]) -> AsyncIterator[tuple[Any, list[Any]]]:
    """(time, cells) from both streams in time order; on a tie the inbound update comes first."""
    streams = [(inbound, "received_at", _inbound), (outbound, "created_at", _outbound)]
    heads: list[Any] = [await anext(s, None) for s, _, _ in streams]
    while any(h is not None for h in heads):
        pick = min((i for i, h in enumerate(heads) if h is not None),
                   key=lambda i: (heads[i][streams[i][1]], i))
        stream, field, cells = streams[pick]
        row = heads[pick]
        yield row[field], cells(row)
        heads[pick] = await anext(stream, None)


async def write_log(db: Database, request: ExportRequest) -> ExportResult:
    """Write the log CSV for the request's date range (in parts if larger than the limit).

    An empty range gives a file with the header only: "nothing happened" is an answer too.
    """
    start, end = request.utc_range()
    header = [h.format(zone=zone_name(request.tz)) for h in HEADER_TEMPLATE]
    out = PartedCsv(request.out_dir, file_stem(request), header, request.max_bytes)
    scope = request.scope.kecamatan_ids
    counts = {"inbound": 0, "outbound": 0}
    try:
        # One session serves both streams: each page is fetched whole before the other is asked.
        async with db.session() as session:
            rows = merged(repo.inbound_rows(session, start, end, scope),
                          repo.outbound_rows(session, start, end, scope))
            async for moment, cells in rows:
                local = moment.astimezone(request.tz).strftime("%Y-%m-%d %H:%M:%S")
                out.write([local, *cells])
                counts["inbound" if cells[0] == "masuk" else "outbound"] += 1
    except BaseException:
        out.discard()
        raise
    return ExportResult(files=out.close(), rows=out.rows, figures=counts)


register_kind(ExportKind("log", 30, "range", "csv", write_log, ("pesan", "messages")))
