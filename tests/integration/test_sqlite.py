"""What only the SQLite backend promises: WAL mode and durable commits."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import ingestry
from tests.conftest import write_project


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    write_project(tmp_path)
    with ingestry.open(tmp_path / "ingestry.yaml") as store:
        store.ingest("customer_orders", [{"id": "W-1", "created_at": "2026-11-01T10:00:00Z"}])
    with sqlite3.connect(tmp_path / "data" / "ingestry.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
