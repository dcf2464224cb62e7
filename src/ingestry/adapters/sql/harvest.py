"""HarvestLedger and RunLocks on the control database (SQLite and PostgreSQL).

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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ingestry.adapters.sql.control import ControlDatabase
from ingestry.adapters.sql.control_schema import harvest_cursors, harvest_pages, jobs
from ingestry.adapters.sql.jobs import LEASE_PREFIX, lease_session_name
from ingestry.domain.harvest import HarvestBusyError
from ingestry.services.ports import PageInfo, StoredPage

log = logging.getLogger("ingestry.worker")


def _busy(source: str) -> HarvestBusyError:
    return HarvestBusyError(
        f"a run of source '{source}' is in progress (never two at once); wait for it to "
        "finish, or see `ingestry runs list --source " + source + "`"
    )


class SqlHarvestLedger:
    def __init__(self, db: ControlDatabase) -> None:
        self.db = db

    def add_page(self, page: StoredPage) -> int:
        with self.db.write() as conn:
            result = conn.execute(harvest_pages.insert().values(**_row(page)))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def add_pages(self, pages: Sequence[StoredPage]) -> None:
        if not pages:
            return
        with self.db.write() as conn:
            conn.execute(harvest_pages.insert(), [_row(page) for page in pages])

    def last_etag(self, source: str, request_key: str) -> StoredPage | None:
        t = harvest_pages.c
        query = (
            sa.select(harvest_pages)
            .where(
                t.source == source, t.request_key == request_key, t.status == 200, t.error.is_(None)
            )
            .order_by(t.id.desc())
            .limit(1)
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None or not row.etag:
            return None
        return _page(row._mapping)

    def etags(self, source: str) -> dict[str, str]:
        t = harvest_pages.c
        latest = (
            sa.select(sa.func.max(t.id))
            .where(t.source == source, t.status == 200, t.error.is_(None))
            .group_by(t.request_key)
        )
        query = sa.select(t.request_key, t.etag).where(t.id.in_(latest))
        with self.db.read() as conn:
            return {key: etag for key, etag in conn.execute(query) if etag}

    def cursor(self, source: str) -> str | None:
        query = sa.select(harvest_cursors.c.value).where(harvest_cursors.c.source == source)
        with self.db.read() as conn:
            value = conn.execute(query).scalar()
        return None if value is None else str(value)

    def set_cursor(
        self, source: str, value: str, run_srn: str, at: str, owner: str | None = None
    ) -> bool:
        moment = datetime.fromisoformat(at)
        t = harvest_cursors
        with self.db.write() as conn:
            if owner is not None and not _lease_live(conn, owner):
                return False
            done = conn.execute(
                t.update().where(t.c.source == source)
                .values(value=value, run_srn=run_srn, updated_at=moment)
            ).rowcount  # fmt: skip
            if not done:
                conn.execute(
                    t.insert().values(
                        source=source, value=value, run_srn=run_srn, updated_at=moment
                    )
                )
        return True

    def pages(self, source: str, run_srn: str | None = None) -> list[StoredPage]:
        t = harvest_pages.c
        query = sa.select(harvest_pages).where(t.source == source).order_by(t.id)
        if run_srn is not None:
            query = query.where(t.run_srn == run_srn)
        with self.db.read() as conn:
            return [_page(row._mapping) for row in conn.execute(query)]

    def page_bodies(
        self, source: str, after: int, limit: int, run_srn: str | None = None
    ) -> list[tuple[int, bytes]]:
        t = harvest_pages.c
        query = (
            sa.select(t.id, t.body)
            .where(t.source == source, t.id > after, sa.func.length(t.body) > 0)
            .order_by(t.id)
            .limit(limit)
        )
        if run_srn is not None:
            query = query.where(t.run_srn == run_srn)
        with self.db.read() as conn:
            return [(int(row.id), bytes(row.body)) for row in conn.execute(query)]

    def page(self, page_id: int) -> StoredPage | None:
        query = sa.select(harvest_pages).where(harvest_pages.c.id == page_id)
        with self.db.read() as conn:
            row = conn.execute(query).first()
        return None if row is None else _page(row._mapping)

    def page_list(self, source: str, run_srn: str | None, after: int, limit: int) -> list[PageInfo]:
        t = harvest_pages.c
        query = (
            sa.select(
                t.id, t.source, t.run_srn, t.seq, t.url, t.status, t.etag,
                sa.func.length(t.body).label("size"), t.received_at, t.error, t.erased_at,
            )
            .where(t.source == source, t.id > after)
            .order_by(t.id)
            .limit(limit)
        )  # fmt: skip
        if run_srn is not None:
            query = query.where(t.run_srn == run_srn)
        with self.db.read() as conn:
            return [
                PageInfo(
                    int(r.id), r.source, r.run_srn, int(r.seq), r.url, int(r.status), r.etag,
                    int(r.size), str(r.received_at), r.error,
                    None if r.erased_at is None else str(r.erased_at),
                )
                for r in conn.execute(query)
            ]  # fmt: skip

    def erase_pages(self, ids: Sequence[int], at: str) -> int:
        t = harvest_pages
        moment = datetime.fromisoformat(at)
        changed = 0
        with self.db.write() as conn:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                changed += conn.execute(
                    t.update().where(t.c.id.in_(chunk))
                    .values(body=b"", etag=None, erased_at=moment)
                ).rowcount  # fmt: skip
        return changed

    def expired_pages(self, source: str, cutoff: str) -> tuple[int, int]:
        t = harvest_pages.c
        query = sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.func.length(t.body)), 0))
        query = query.where(t.source == source, t.received_at < datetime.fromisoformat(cutoff))
        with self.db.read() as conn:
            rows, size = conn.execute(query).one()
        return int(rows), int(size)

    def purge_pages(self, source: str, cutoff: str, batch_rows: int) -> tuple[int, int]:
        t = harvest_pages
        moment = datetime.fromisoformat(cutoff)
        rows = size = 0
        while True:
            chosen = (
                sa.select(t.c.id, sa.func.length(t.c.body).label("size"))
                .where(t.c.source == source, t.c.received_at < moment)
                .order_by(t.c.id)
                .limit(batch_rows)
            )
            with self.db.write() as conn:  # a batch a transaction: other writers go between
                batch = conn.execute(chosen).all()
                if not batch:
                    return rows, size
                conn.execute(t.delete().where(t.c.id.in_([r.id for r in batch])))
            rows += len(batch)
            size += sum(int(r.size) for r in batch)


def _lease_live(conn: sa.Connection, owner: str) -> bool:
    """Whether a running job's lease is `owner`'s and unexpired. FOR SHARE on
    PostgreSQL: a takeover (which updates the job row) waits for this transaction; on
    SQLite the write transaction already holds the database's one write lock."""
    query = (
        sa.select(jobs.c.id)
        .where(jobs.c.lease_owner == owner, jobs.c.status == "running",
               jobs.c.lease_expires >= time.time())
        .with_for_update(read=True)
    )  # fmt: skip
    return conn.execute(query).first() is not None


def _row(page: StoredPage) -> dict[str, Any]:
    return {
        "source": page.source, "run_srn": page.run_srn, "seq": page.seq,
        "request_key": page.request_key, "url": page.url, "status": page.status,
        "headers": dict(page.headers), "etag": page.headers.get("etag"),
        "body": page.body, "sha256": hashlib.sha256(page.body).digest(),
        "received_at": datetime.fromisoformat(page.received_at), "error": page.error,
    }  # fmt: skip


def _page(m: Any) -> StoredPage:
    return StoredPage(
        m["source"], m["run_srn"], m["seq"], m["request_key"], m["url"], m["status"],
        dict(m["headers"] or {}), bytes(m["body"]), str(m["received_at"]), m["error"],
        None if m["erased_at"] is None else str(m["erased_at"]), int(m["id"]),
    )  # fmt: skip


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
