"""WAL checkpoints off the writer's path.

SQLite normally checkpoints inside the commit that crosses `wal_autocheckpoint`, so the
writer stops to copy pages into the database file. A checkpoint is one long C call that
releases the GIL, so a background thread with its own connection does it while the
writer goes on. If the WAL still grows past a bound (the checkpointer cannot keep up or
never catches the WAL idle), the writer checkpoints itself.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import suppress
from pathlib import Path

#: Past this WAL size the writer waits for a full checkpoint itself.
WAL_LIMIT_BYTES = 512 << 20


class Checkpointer:
    """A daemon thread that runs PASSIVE checkpoints when poked after a commit."""

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self._wal = Path(f"{path}-wal")
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        self._wake = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="ingestry-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def wal_too_big(self) -> bool:
        try:
            return self._wal.stat().st_size > WAL_LIMIT_BYTES
        except FileNotFoundError:
            return False

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop:
                return
            # a busy or locked database is fine: the next poke tries again
            with suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def close(self) -> None:
        """Stop the thread, then leave the database checkpointed and the WAL small."""
        self._stop = True
        self._wake.set()
        self._thread.join()
        # if another process holds the database, its own checkpoints will do
        with suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        self._conn.close()
