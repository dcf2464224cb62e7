"""RunLocks on the control database (SQLite and PostgreSQL).

The run lock is one the database or the OS drops when its holder dies, so a run killed
with SIGKILL leaves nothing to wait out: a PostgreSQL session advisory lock held on a
connection of its own (several workers on several machines), an exclusive `flock` on
a file beside the SQLite database (one machine, which is all SQLite serves).
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from ingestry.adapters.sql.control import ControlDatabase
from ingestry.adapters.sql.control_schema import jobs
from ingestry.adapters.sql.jobs import LEASE_PREFIX, lease_session_name
from ingestry.domain.harvest import HarvestBusyError

log = logging.getLogger("ingestry.worker")


def _busy(source: str) -> HarvestBusyError:
    return HarvestBusyError(
        f"a run of source '{source}' is in progress (never two at once); wait for it to "
        "finish, or see `ingestry runs list --source " + source + "`"
    )


class SqlRunLocks:
    """A run lock held for a job belongs to that job's lease (`owner`, the lease owner
    id): a worker stopped past its lease (SIGSTOP, a frozen VM) still holds the lock,
    and the worker that took its job over must be able to run it. On PostgreSQL the
    lock's session carries the lease's `application_name`, so the takeover ends it with
    the owner's data sessions (`adapters.sql.jobs`); a busy lock whose session names a
    lease that is no longer live is ended here too (the takeover's end is
    asynchronous). On SQLite the lock file records its owner, and a lock whose owner
    holds no live lease is broken: a fresh file is renamed over it (the stopped holder
    keeps a lock on the unlinked one). Locks without an owner (a CLI run) are never
    broken."""

    def __init__(self, db: ControlDatabase) -> None:
        self.db = db

    @contextmanager
    def hold(self, source: str, owner: str | None = None) -> Iterator[None]:
        if self.db.sqlite:
            with self._file_lock(source, owner):
                yield
            return
        with self.db.engine.connect() as conn:
            # one lock per schema and source: stores in other schemas share the database
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
            name = f"ingestry-run:{schema}:{source}".encode()
            key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
            if owner is not None:
                conn.execute(_SET_NAME, {"name": lease_session_name(owner)})
            got = self._try_lock(conn, key)
            if not got and owner is not None and self._end_stale_holder(conn, key, source):
                got = self._try_lock(conn, key, wait=STALE_WAIT_SECONDS)
            if not got:
                self._reset_name(conn, owner)
                raise _busy(source)
            try:
                yield
            finally:
                self._release(conn, key, owner)

    @staticmethod
    def _try_lock(conn: sa.Connection, key: int, wait: float = 0.0) -> bool:
        deadline = time.monotonic() + wait
        while True:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if got or time.monotonic() >= deadline:
                return bool(got)
            time.sleep(0.1)

    def _end_stale_holder(self, conn: sa.Connection, key: int, source: str) -> bool:
        """End the session holding `key` when it names a lease no longer live (its
        worker stopped past its lease and its job was taken over); True if ended."""
        hi, lo = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
        holder = conn.execute(_HOLDER, {"hi": hi, "lo": lo}).first()
        conn.commit()
        if holder is None or not str(holder.application_name).startswith(LEASE_PREFIX):
            return False
        live = {lease_session_name(owner) for owner in self._live_owners(conn)}
        if holder.application_name in live:
            return False
        try:
            conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": holder.pid})
            conn.commit()
        except sa.exc.DBAPIError as exc:
            conn.rollback()
            log.warning(
                "the run lock of source '%s' is held by %s, whose lease expired, and this "
                "role may not end that session (%s): grant it pg_signal_backend, or run "
                "every worker as the same role",
                source, holder.application_name, exc.orig,
            )  # fmt: skip
            return False
        log.warning(
            "ended the run lock session of source '%s' held by %s (its lease expired)",
            source, holder.application_name,
        )  # fmt: skip
        return True

    def _live_owners(self, conn: sa.Connection) -> list[str]:
        query = sa.select(jobs.c.lease_owner).where(
            jobs.c.status == "running", jobs.c.lease_expires >= time.time(),
            jobs.c.lease_owner.is_not(None),
        )  # fmt: skip
        found = [str(owner) for owner in conn.execute(query).scalars()]
        conn.commit()
        return found

    def _release(self, conn: sa.Connection, key: int, owner: str | None) -> None:
        try:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
        except sa.exc.DBAPIError:
            # the session was ended (our lease was taken over): the lock went with it
            conn.invalidate()
            return
        self._reset_name(conn, owner)

    @staticmethod
    def _reset_name(conn: sa.Connection, owner: str | None) -> None:
        if owner is not None:  # back to the pool's own name
            conn.execute(sa.text("RESET application_name"))
            conn.commit()

    @contextmanager
    def _file_lock(self, source: str, owner: str | None) -> Iterator[None]:
        database = self.db.engine.url.database
        base = Path(database) if database and database != ":memory:" else Path()
        path = base.with_name(f"{base.name}.run-{source}.lock")
        fd = self._lock_file(path, source, owner)
        try:
            yield
        finally:
            os.close(fd)  # closing drops the lock (and so does dying)

    def _lock_file(self, path: Path, source: str, owner: str | None) -> int:
        """An fd holding the `flock` of the file now at `path`, its owner recorded."""
        for _ in range(20):
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip()
                os.close(fd)
                if owner is None or not self._stale_file(holder):
                    raise _busy(source) from None
                self._break(path, holder, source)
                continue
            if not _same_file(fd, path):  # broken (renamed over) since we opened it
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, (owner or "").encode(), 0)
            return fd
        raise _busy(source)  # pragma: no cover - the lock kept changing hands

    def _stale_file(self, holder: str) -> bool:
        if not holder:
            return False  # a CLI run (or a holder from before owners were recorded)
        with self.db.read() as conn:
            return holder not in self._live_owners(conn)

    @staticmethod
    def _break(path: Path, holder: str, source: str) -> None:
        fresh = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}")
        fresh.write_bytes(b"")
        fresh.replace(path)
        log.warning(
            "broke the run lock of source '%s' held by worker %s (its lease expired)",
            source, holder,
        )  # fmt: skip


def _same_file(fd: int, path: Path) -> bool:
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)


_SET_NAME = sa.text("SELECT set_config('application_name', :name, false)")

#: The session holding a bigint advisory lock (split into two oids, objsubid 1).
_HOLDER = sa.text(
    "SELECT a.pid, a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
    "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
    "AND l.classid = CAST(:hi AS oid) AND l.objid = CAST(:lo AS oid) "
    "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

#: How long to wait for the lock after ending its stale holder's session.
STALE_WAIT_SECONDS = 5.0
