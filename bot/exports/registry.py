"""CSV of the registry in the officer's scope: the import format (docs/IMPORT_FORMAT.md), so
the file can be corrected in a spreadsheet and imported again with `kopdesk coops import`."""

from __future__ import annotations

from bot.exports.base import ExportError, ExportKind, ExportRequest, ExportResult, PartedCsv, file_stem, register_kind
from bot.registry_io import registry_cells
from bot.services.registry import HEADER
from storage.db import Database


async def write_registry(db: Database, request: ExportRequest) -> ExportResult:
    """Write the registry CSV (in parts if larger than the limit)."""
    out = PartedCsv(request.out_dir, file_stem(request), list(HEADER), request.max_bytes)
    try:
        async with db.session() as session:
            async for cells in registry_cells(session, request.scope.kecamatan_ids):
                out.write(cells)
    except BaseException:
        out.discard()
        raise
    if out.rows == 0:
        out.discard()
        raise ExportError("export.no_cooperatives")
    return ExportResult(files=out.close(), rows=out.rows)


register_kind(ExportKind("registry", 20, "none", "csv", write_registry, ("registri", "koperasi", "coops")))
