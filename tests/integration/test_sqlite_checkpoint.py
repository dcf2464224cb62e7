"""SQLite: a reader that keeps its snapshot (a worker stopped with SIGSTOP mid-read)
must not stall the writer's forced checkpoint for the 60 s busy timeout (issue 14;
docs/reliability.md). Only SQLite has this: PostgreSQL has no client-side checkpoint."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ingestry.adapters.sqlite import checkpoint
from ingestry.adapters.sqlite.storage import SQLiteStorage

#: A hang detector, not a speed test: before the fix the commit waited the busy
#: timeout (60 s); now the forced checkpoint gives up after FORCED_WAIT_MS (2 s).
HANG = 30.0


def _write(storage: SQLiteStorage, value: int) -> None:
    with storage.session():
        storage._conn.execute("INSERT INTO t VALUES (?)", (value,))


def test_a_reader_holding_its_snapshot_does_not_stall_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "WAL_LIMIT_BYTES", 0)  # every commit forces one
    storage = SQLiteStorage(tmp_path / "s.db")
    storage._conn.execute("CREATE TABLE t (x INTEGER)")
    _write(storage, 1)
    reader = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (1,)  # snapshot held
    try:
        done = threading.Event()

        def writes() -> None:
            for value in range(2, 5):
                _write(storage, value)
            done.set()

        writer = threading.Thread(target=writes, daemon=True)
        writer.start()
        writer.join(HANG)
        assert done.is_set(), f"the writer stalled behind a reader's snapshot for {HANG:.0f}s"
        assert reader.execute("SELECT count(*) FROM t").fetchone() == (1,)  # still its snapshot
    finally:
        reader.execute("ROLLBACK")
        reader.close()
    _write(storage, 5)  # the reader gone, forcing runs again after the backoff
    storage.close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (5,)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
