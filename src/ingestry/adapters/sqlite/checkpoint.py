"""WAL checkpoints off the writer's path.

SQLite normally checkpoints inside the commit that crosses `wal_autocheckpoint`, so the
writer stops to copy pages into the database file. A checkpoint is one long C call that
releases the GIL, so a background thread with its own connection does it while the
writer goes on. If the WAL still grows past a bound (the checkpointer cannot keep up or
never catches the WAL idle), the writer checkpoints itself.

Those two waits are bounded by `FORCED_WAIT_MS`, not the 60 s busy timeout: a reader
can hold them up for as long as it keeps its snapshot open, and a reader stopped with
SIGSTOP (a stalled worker) keeps it for ever. Past the bound the writer goes on (the
WAL grows; it is still correct) and does not force again for `FORCED_BACKOFF` seconds,
so a stalled reader costs one bounded wait per interval instead of stalling every
commit, or a job's new owner, until the stalled process dies (docs/reliability.md).

While a run is open (an ingest or a harvest: `ingest_runs` row started, not finished)
its commits do not poke the checkpointer: a checkpoint per commit copies the pages
every commit touches again (the tails of the tables and indexes), ~10% of a harvest's
CPU. The run's end pokes it once; in between it is poked only each time the WAL has
grown by `RUN_WAL_STEP_BYTES`, and `WAL_LIMIT_BYTES` still bounds the WAL. The WAL is
as durable as the database file: deferring a checkpoint loses nothing on a crash.

The WAL's size is read from its file, and SQLite restarts a checkpointed WAL from the
top without shrinking the file. So the writer's connection truncates a restarted WAL to
`WAL_KEEP_BYTES` (`journal_size_limit`): without it, once a long run had grown the file
past `WAL_LIMIT_BYTES`, every later commit forced a checkpoint (the second half of a
1M-row ingest: 14% of the writer's samples).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import suppress
from pathlib import Path

#: Past this WAL size the writer waits for a full checkpoint itself.
WAL_LIMIT_BYTES = 512 << 20

#: What the writer's connection truncates a restarted WAL to (`journal_size_limit`),
#: well under `WAL_LIMIT_BYTES` so the file's size says what the WAL holds.
WAL_KEEP_BYTES = 64 << 20

#: How long a forced checkpoint (and the one at close) waits for readers.
FORCED_WAIT_MS = 2000
#: After a forced checkpoint readers held up, the writer skips forcing for this long.
FORCED_BACKOFF = 30.0
#: While a run is open, the background checkpoint waits for this much more WAL.
RUN_WAL_STEP_BYTES = 128 << 20


class Checkpointer:
    """A daemon thread that runs PASSIVE checkpoints when poked after a commit."""

    @staticmethod
    def configure_writer(conn: sqlite3.Connection) -> None:
        """The writer's connection: no checkpoints in its commits (this class runs
        them), and a restarted WAL truncated to `WAL_KEEP_BYTES`."""
        conn.execute("PRAGMA wal_autocheckpoint = 0")
        conn.execute(f"PRAGMA journal_size_limit = {WAL_KEEP_BYTES}")

    def __init__(self, path: Path, busy_timeout_ms: int) -> None:
        self.path = path
        self._wal = Path(f"{path}-wal")
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        self._wake = threading.Event()
        self._stop = False
        self._force_after = 0.0
        #: runs this storage started (committed) and has not finished yet
        self.runs = 0
        self._poked_size = 0
        self._thread = threading.Thread(target=self._run, name="ingestry-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def after_commit(self, conn: sqlite3.Connection, busy_timeout_ms: int, runs: int) -> None:
        """What a commit leaves to do: `runs` is how many runs it opened (+) or closed
        (-). A WAL past the limit is checkpointed now; otherwise the background thread
        is poked, unless a run is open and the WAL has not grown a step since."""
        self.runs = max(0, self.runs + runs)
        size = self._wal_size()
        if size > WAL_LIMIT_BYTES:
            self.force(conn, busy_timeout_ms)
            return
        grown = not self._poked_size <= size < self._poked_size + RUN_WAL_STEP_BYTES
        if self.runs == 0 or grown:  # (a WAL smaller than at the last poke was reset)
            self._poked_size = size
            self.poke()

    def force(self, conn: sqlite3.Connection, busy_timeout_ms: int) -> bool:
        """A RESTART checkpoint on the writer's `conn`, waiting at most `FORCED_WAIT_MS`
        for readers; False when they held it up (then no forcing for a while)."""
        if time.monotonic() < self._force_after:
            return False
        conn.execute(f"PRAGMA busy_timeout = {FORCED_WAIT_MS}")
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()[0]
        finally:
            conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        if busy:
            self._force_after = time.monotonic() + FORCED_BACKOFF
        return not busy

    def _wal_size(self) -> int:
        try:
            return self._wal.stat().st_size
        except FileNotFoundError:
            return 0

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
        # if another process holds the database, its own checkpoints will do; a reader
        # that holds it up (a stalled process) is waited for FORCED_WAIT_MS at most
        with suppress(sqlite3.Error):
            self._conn.execute(f"PRAGMA busy_timeout = {FORCED_WAIT_MS}")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        self._conn.close()
