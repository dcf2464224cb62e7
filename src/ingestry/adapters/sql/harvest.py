"""HarvestLedger and RunLocks on the control database (SQLite and PostgreSQL).

The run lock is one the database or the OS drops when its holder dies, so a run killed
with SIGKILL leaves nothing to wait out: a PostgreSQL session advisory lock held on a
connection of its own (several workers on several machines), an exclusive `flock` on
a file beside the SQLite database (one machine, which is all SQLite serves).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ingestry.adapters.sql.control import ControlDatabase
from ingestry.adapters.sql.control_schema import harvest_cursors, harvest_pages
from ingestry.domain.harvest import HarvestBusyError
from ingestry.services.ports import StoredPage


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
            .where(t.source == source, t.request_key == request_key, t.status == 200)
            .order_by(t.id.desc())
            .limit(1)
        )
        with self.db.read() as conn:
            row = conn.execute(query).first()
        if row is None or not row.etag:
            return None
        return _page(row._mapping)

    def cursor(self, source: str) -> str | None:
        query = sa.select(harvest_cursors.c.value).where(harvest_cursors.c.source == source)
        with self.db.read() as conn:
            value = conn.execute(query).scalar()
        return None if value is None else str(value)

    def set_cursor(self, source: str, value: str, run_srn: str, at: str) -> None:
        moment = datetime.fromisoformat(at)
        t = harvest_cursors
        with self.db.write() as conn:
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

    def pages(self, source: str, run_srn: str | None = None) -> list[StoredPage]:
        t = harvest_pages.c
        query = sa.select(harvest_pages).where(t.source == source).order_by(t.id)
        if run_srn is not None:
            query = query.where(t.run_srn == run_srn)
        with self.db.read() as conn:
            return [_page(row._mapping) for row in conn.execute(query)]


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
    )  # fmt: skip


class SqlRunLocks:
    def __init__(self, db: ControlDatabase) -> None:
        self.db = db

    @contextmanager
    def hold(self, source: str) -> Iterator[None]:
        if self.db.sqlite:
            with self._file_lock(source):
                yield
            return
        with self.db.engine.connect() as conn:
            # one lock per schema and source: stores in other schemas share the database
            schema = conn.execute(sa.text("SELECT current_schema()")).scalar()
            name = f"ingestry-run:{schema}:{source}".encode()
            key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            conn.commit()
            if not got:
                raise _busy(source)
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()

    @contextmanager
    def _file_lock(self, source: str) -> Iterator[None]:
        database = self.db.engine.url.database
        base = Path(database) if database and database != ":memory:" else Path()
        path = base.with_name(f"{base.name}.run-{source}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise _busy(source) from None
            yield
        finally:
            os.close(fd)  # closing drops the lock (and so does dying)
