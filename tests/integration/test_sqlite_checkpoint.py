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


def test_a_run_defers_checkpoints_to_its_end(tmp_path: Path) -> None:
    """Commits inside an open run (started, not finished) leave the WAL alone: the
    database file does not grow and the checkpointer is not woken until the run ends."""
    storage = SQLiteStorage(tmp_path / "s.db")
    storage.upgrade()  # the runs table
    storage._conn.execute("CREATE TABLE t (x BLOB)")
    _write(storage, 0)
    assert storage._checkpointer is not None
    storage._checkpointer.close()  # a checkpointed file, then a checkpointer that only counts
    pokes: list[int] = []
    storage._checkpointer = _Counting(storage.path, pokes)
    db_size = (tmp_path / "s.db").stat().st_size
    with storage.session() as session:
        session.start_run("srn:run:1", "s", [], "2026-01-01T00:00:00Z")
    for _ in range(20):
        with storage.session() as session:
            session.conn.executemany("INSERT INTO t VALUES (?)", [(b"x" * 4000,)] * 50)
    assert pokes == []
    assert (tmp_path / "s.db").stat().st_size == db_size  # nothing copied from the WAL
    with storage.session() as session:
        session.finish_run("srn:run:1", "succeeded", {}, "2026-01-01T00:00:01Z")
    assert pokes == [1]  # the run's end
    _write(storage, 1)  # outside a run, every commit pokes as before
    assert pokes == [1, 1]
    storage.close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (1002,)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()


def test_a_run_still_checkpoints_when_the_wal_grows_a_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "RUN_WAL_STEP_BYTES", 200_000)
    storage = SQLiteStorage(tmp_path / "s.db")
    storage.upgrade()  # the runs table
    storage._conn.execute("CREATE TABLE t (x BLOB)")
    _write(storage, 0)
    assert storage._checkpointer is not None
    storage._checkpointer.close()
    pokes: list[int] = []
    storage._checkpointer = _Counting(storage.path, pokes)
    with storage.session() as session:
        session.start_run("srn:run:1", "s", [], "2026-01-01T00:00:00Z")
    for _ in range(10):  # ~100 KB of WAL a commit
        with storage.session() as session:
            session.conn.executemany("INSERT INTO t VALUES (?)", [(b"x" * 4000,)] * 25)
    assert 3 <= len(pokes) <= 7  # every ~200 KB, not every commit
    storage.close()


class _Counting(checkpoint.Checkpointer):
    """The real checkpointer, counting its pokes (and not checkpointing on them)."""

    def __init__(self, path: Path, pokes: list[int]) -> None:
        super().__init__(path, 1000)
        self.pokes = pokes

    def poke(self) -> None:
        self.pokes.append(1)


def test_a_control_write_during_a_run_leaves_the_checkpoint_to_the_storage(
    tmp_path: Path,
) -> None:
    """A control-plane commit (a harvest's page row, a job's lease) while a run's WAL is
    past SQLite's default 1000 pages used to checkpoint that WAL itself, in line."""
    import sqlalchemy as sa

    from ingestry.adapters.sqlite.engine import control_engine

    storage = SQLiteStorage(tmp_path / "s.db")
    storage.upgrade()
    storage._conn.execute("CREATE TABLE t (x BLOB)")
    _write(storage, 0)
    assert storage._checkpointer is not None
    storage._checkpointer.close()
    storage._checkpointer = _Counting(storage.path, [])
    with storage.session() as session:
        session.start_run("srn:run:1", "s", [], "2026-01-01T00:00:00Z")
    for _ in range(6):  # ~24 MB of WAL: past 1000 pages of 16 KiB
        with storage.session() as session:
            session.conn.executemany("INSERT INTO t VALUES (?)", [(b"x" * 4000,)] * 1000)
    db_size = (tmp_path / "s.db").stat().st_size
    engine = control_engine(f"sqlite:///{tmp_path / 's.db'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.execute(sa.text("INSERT INTO t VALUES (x'00')"))
        conn.commit()
    engine.dispose()
    assert (tmp_path / "s.db").stat().st_size == db_size
    storage.close()


def test_a_wal_past_the_limit_is_forced_once_not_at_every_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The WAL file keeps its size when SQLite restarts it from the top, so a limit
    checked against the file's size forced a checkpoint at every commit once a long run
    had grown the file past it (half of a 1M-row ingest: 14% of the writer's samples).
    The writer's connection now truncates the restarted WAL to `WAL_KEEP_BYTES`."""
    monkeypatch.setattr(checkpoint, "WAL_LIMIT_BYTES", 300_000)
    monkeypatch.setattr(checkpoint, "WAL_KEEP_BYTES", 0)
    forced: list[int] = []
    force = checkpoint.Checkpointer.force

    def counting(self: checkpoint.Checkpointer, conn: sqlite3.Connection, ms: int) -> bool:
        forced.append(1)
        return force(self, conn, ms)

    monkeypatch.setattr(checkpoint.Checkpointer, "force", counting)
    storage = SQLiteStorage(tmp_path / "s.db")
    storage.upgrade()  # the runs table
    storage._conn.execute("CREATE TABLE t (x BLOB)")
    with storage.session() as session:
        session.start_run("srn:run:1", "s", [], "2026-01-01T00:00:00Z")
    for _ in range(30):  # ~100 KB of WAL a commit: past the limit every ~3 commits
        with storage.session() as session:
            session.conn.executemany("INSERT INTO t VALUES (?)", [(b"x" * 4000,)] * 25)
    assert 5 <= len(forced) <= 15, f"{len(forced)} forced checkpoints in 30 commits"
    storage.close()
    conn = sqlite3.connect(tmp_path / "s.db")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (750,)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
