"""HarvestLedger on the control database (SQLite and PostgreSQL): the pages kept and
each source's incremental mark. The run locks are in `runlocks.py`."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ingestry.adapters.sql.control import ControlDatabase
from ingestry.adapters.sql.control_schema import harvest_cursors, harvest_pages, jobs
from ingestry.services.ports import PageInfo, StoredPage


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

    def etags(self, source: str) -> dict[str, tuple[str, str]]:
        t = harvest_pages.c
        latest = (
            sa.select(sa.func.max(t.id))
            .where(t.source == source, t.status == 200, t.error.is_(None))
            .group_by(t.request_key)
        )
        query = sa.select(t.request_key, t.etag, t.headers).where(t.id.in_(latest))
        with self.db.read() as conn:
            return {
                key: (etag, str((headers or {}).get("link", "")))
                for key, etag, headers in conn.execute(query)
                if etag
            }

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
