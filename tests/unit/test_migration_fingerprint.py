"""Migration 0006 on a log that already holds updates: each row gets the fingerprint the
application computes, so a redelivery of an update logged before the upgrade is still skipped."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text

from storage.migrate import alembic_config, upgrade
from storage.repositories.message_log import fingerprint


def test_existing_rows_get_the_applications_fingerprint(tmp_path: Path) -> None:
    """Rows logged under 0005 carry, after 0006, exactly `message_log.fingerprint(raw)`."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005")
    raws = [
        {"update_id": 7, "message": {"message_id": 1, "date": 1700000000, "text": "Sëlamat pagi",
                                     "chat": {"id": 5, "type": "private"}}},
        {"update_id": 8, "callback_query": {"id": "1", "data": "rp:yn:1:1", "chat_instance": "x"}},
    ]
    sync = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with sync.begin() as conn:
        for raw in raws:
            conn.execute(
                text("INSERT INTO inbound_updates (update_id, kind, raw, received_at, throttled) "
                     "VALUES (:u, 'text', :raw, '2025-01-01 00:00:00.000000', 0)"),
                {"u": raw["update_id"], "raw": json.dumps(raw)},
            )
    upgrade(url)
    with sync.connect() as conn:
        stored = dict(conn.execute(text("SELECT update_id, fingerprint FROM inbound_updates")).all())
    assert stored == {raw["update_id"]: fingerprint(raw) for raw in raws}

    command.downgrade(alembic_config(url), "0005")
    with sync.connect() as conn:
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info(inbound_updates)"))}
    assert "fingerprint" not in columns
    sync.dispose()
