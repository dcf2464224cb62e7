"""The SQLite write path: one transaction, `executemany` per statement and batch."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

import orjson

from ingestry.adapters.sql.spans import receipt_spans, span_columns
from ingestry.adapters.sqlite import binding
from ingestry.adapters.sqlite.images import RECORD_SHARED, image_in, insert_image
from ingestry.adapters.sqlite.multirow import insert_rows
from ingestry.adapters.sqlite.rawstatements import (
    INSERT_HEADER,
    INSERT_QUARANTINE,
    SIZE_QUARANTINE,
    SIZE_RAW,
    insert_raw,
)
from ingestry.adapters.sqlite.receipts import (
    FIND_RECEIPTS_JSON,
    INSERT_RECEIPT,
    INSERT_SPANS,
    BatchKey,
    open_batches,
)
from ingestry.adapters.sqlite.shared import own_record_values, shared_values
from ingestry.adapters.sqlite.statements import RecordStatements
from ingestry.domain.conventions import Convention
from ingestry.domain.records import spell_srn
from ingestry.domain.versioning import UNCHANGED, next_version
from ingestry.services.ports import (
    NewRecords,
    QuarantineRow,
    RawRow,
    Receipt,
    ReceiptKey,
    RecordChange,
    RecordRow,
    RowTimes,
    UpsertResult,
    Wire,
)

__all__ = ["RawMode", "RecordStatements", "SQLiteSession"]

binding.register()  # bytes, None and bool bound without failed adapter lookups

#: A raw row's receipt batch: (received_at, origin).
_BATCH_KEY = itemgetter(6, 11)
#: SQLite's default limit on bound variables is 32766 since 3.32; stay well below.
_LOOKUP_CHUNK = 900

Identity = tuple[str, str, str]  # (source_type, upstream, source_id)


class RawMode:
    """What the storage's last batch was, so the next one takes the cheaper path: for
    receipts (see `SQLiteSession.append_raw`), and for records (`upsert_records`)."""

    __slots__ = ("duplicates", "fresh")

    def __init__(self) -> None:
        self.duplicates = False
        #: the last batch's records were all new: try the next one's as new too
        self.fresh = True


class SQLiteSession:
    """Implements StorageSession on one sqlite3 connection inside BEGIN IMMEDIATE."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        statements: dict[str, RecordStatements],
        raw_mode: RawMode | None = None,
    ) -> None:
        self.conn = conn
        self._statements = statements
        self._raw_mode = raw_mode or RawMode()
        #: runs this transaction starts (+1) or finishes (-1): while one is open, the
        #: storage defers WAL checkpoints to its end (see `checkpoint.py`)
        self.runs = 0

    def append_raw(
        self,
        rows: Sequence[RawRow],
        headers: Sequence[tuple[bytes, bytes]],
        wire: Wire | None = None,  # an image of the rows (adapters.sqlite.images)
        receipt: Receipt | None = None,
    ) -> int:
        if headers:
            self.conn.executemany(INSERT_HEADER, headers)
        if not rows:
            return 0
        mode = self._raw_mode
        batches = open_batches(self.conn, receipt or Receipt(None), map(_BATCH_KEY, rows))
        if mode.duplicates and self._only_receipts(rows, batches):
            return 0
        stored = insert_raw(self.conn, rows, wire)
        mode.duplicates = stored == 0
        if stored == len(rows) and len(batches) == 1:
            # all new: their ids are consecutive (AUTOINCREMENT, one writer), so the
            # receipts are spans of the lines in hand, nothing read back
            last = self.conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            (batch,) = batches.values()
            firsts, lines, lengths = span_columns(
                range(last - stored + 1, last + 1), [r[10] for r in rows]
            )
            self.conn.executemany(
                INSERT_SPANS, zip(firsts, lines, repeat(batch), lengths, strict=False)
            )
        else:
            self._receipts_by_key(rows, batches)
        return stored

    def _only_receipts(self, rows: Sequence[RawRow], batches: dict[BatchKey, int]) -> bool:
        """After a batch of duplicates (a re-ingest), expect another: write the receipts
        by key first; if every row's payload was found, the raw insert (a conflict check
        per row that stores nothing) is skipped. Otherwise they are undone."""
        before = self.conn.execute("SELECT max(id) FROM raw_receipts").fetchone()[0] or 0
        if self._receipts_by_key(rows, batches) == len(rows):
            return True
        self.conn.execute("DELETE FROM raw_receipts WHERE id > ?", (before,))
        return False

    def _receipts_by_key(self, rows: Sequence[RawRow], batches: dict[BatchKey, int]) -> int:
        """One receipt per row whose payload is stored, in row order; how many."""
        if len(batches) == 1:
            (batch,) = batches.values()
            keys = [(r[0], r[2], r[10], batch, r[3].hex().upper()) for r in rows]
        else:
            keys = [(r[0], r[2], r[10], batches[r[6], r[11]], r[3].hex().upper()) for r in rows]
        try:
            doc = orjson.dumps(keys)
        except orjson.JSONEncodeError:  # a lone surrogate in an id: no JSON for it
            doc = None
        if doc is not None and b"\\u0000" not in doc:  # NUL-free text compares as bound
            arrivals = self.conn.execute(FIND_RECEIPTS_JSON, (doc,)).fetchall()
            self.conn.executemany(INSERT_SPANS, receipt_spans(arrivals))
            return len(arrivals)
        params = [(k[3], k[2], k[0], k[1], bytes.fromhex(k[4])) for k in keys]
        found = self.conn.executemany(INSERT_RECEIPT, params).rowcount
        return found

    def append_receipts(self, keys: Sequence[ReceiptKey], receipt: Receipt) -> None:
        batches = open_batches(self.conn, receipt, ((k[3], k[5]) for k in keys))
        self.conn.executemany(
            INSERT_RECEIPT,
            [(batches[at, origin], line, source, sid, sha)
             for source, sid, sha, at, line, origin in keys],
        )  # fmt: skip

    def unit(self, work: Callable[[], None]) -> None:
        work()  # BEGIN IMMEDIATE holds the write lock: nothing to redo

    def quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        if rows:
            self.conn.executemany(INSERT_QUARANTINE, rows)

    def fill_payload(
        self, source: str, sha256: bytes, length: int, chunks: Callable[[], Iterator[bytes]]
    ) -> None:
        """The placeholders become zeroblobs of the payload's length, written through
        incremental blob I/O, chunk by chunk (never the whole payload in memory)."""
        targets = [
            (table, rowid)
            for table, sql in (("quarantine", SIZE_QUARANTINE), ("raw_payloads", SIZE_RAW))
            for (rowid,) in self.conn.execute(sql, (length, source, sha256)).fetchall()
        ]
        blobs = [self.conn.blobopen(table, "payload", rowid) for table, rowid in targets]
        try:
            for chunk in chunks():
                for blob in blobs:
                    blob.write(chunk)
        finally:
            for blob in blobs:
                blob.close()

    def upsert_records(
        self,
        convention: Convention,
        rows: Sequence[RecordRow],
        now: str,
        wire: Wire | None = None,
        times: Sequence[RowTimes | None] | None = None,
    ) -> UpsertResult:
        if not rows:
            return UpsertResult(0, 0, 0, [])
        sql = self._sql(convention)
        # new rows' rowids follow `before` in insert order (one writer at a time)
        (before,) = self.conn.execute(sql.last_id).fetchone()
        if self._raw_mode.fresh:
            fresh = self._try_insert_all(
                lambda: self._insert_all(sql, convention.name, rows, now, times, before, wire)
            )
            if fresh is not None:
                return fresh
        known, distinct = self._lookup(sql, rows)
        self._raw_mode.fresh = not known and distinct == len(rows)
        if self._raw_mode.fresh:
            return self._insert_all(sql, convention.name, rows, now, times, before)
        stamps = times or [None] * len(rows)
        inserts: list[tuple[Any, ...]] = []
        rounds: list[list[tuple[Any, ...]]] = [[]]
        round_of: dict[Identity, int] = {}
        changes: list[RecordChange] = []
        unchanged = 0
        name = convention.name
        for row, stamp in zip(rows, stamps, strict=True):
            published, updated = stamp or (now, now)
            key = (row[0], row[9], row[1])
            content_hash = row[5]
            found = known.get(key)
            version = next_version(found, content_hash)
            if version == UNCHANGED:
                unchanged += 1
                continue
            if found is None:  # version 1
                inserts.append((row[0], row[9], *row[1:8], 1, published, updated, *row[8]))
                changes.append(RecordChange(name, *key, 1))
                record_id = before + len(inserts)
            else:
                # an id updated twice in one batch needs its own round (history, then update)
                r = round_of.get(key, -1) + 1
                round_of[key] = r
                if r == len(rounds):
                    rounds.append([])
                rounds[r].append((*row[2:8], version, updated, *row[8], *key))
                changes.append(RecordChange(name, *key, version))
                record_id = found[2]
            known[key] = (content_hash, version, record_id)
        if inserts:
            self._insert(sql, name, inserts, before)
        for updates in rounds:
            if updates:
                # the replaced version is superseded when this one was written
                history = [(spell_srn(name, *u[-3:]), u[7], *u[-3:]) for u in updates]
                self.conn.executemany(sql.history, history)
                self.conn.executemany(sql.update, updates)
        return UpsertResult(len(inserts), len(changes) - len(inserts), unchanged, changes)

    def _try_insert_all(self, insert_all: Callable[[], UpsertResult]) -> UpsertResult | None:
        """`_insert_all` without looking the ids up first (a first ingest's lookups
        find nothing): the identity's unique index refuses a row whose record exists
        or whose id the batch repeats, and the batch is undone to take the lookup."""
        self.conn.execute("SAVEPOINT fresh_records")
        try:
            result = insert_all()
        except sqlite3.IntegrityError:
            self.conn.execute("ROLLBACK TO fresh_records")
            self._raw_mode.fresh = False
            return None
        finally:
            self.conn.execute("RELEASE fresh_records")
        return result

    def _insert_all(
        self,
        sql: RecordStatements,
        name: str,
        rows: Sequence[RecordRow],
        now: str,
        times: Sequence[RowTimes | None] | None,
        before: int,
        wire: Wire | None = None,
    ) -> UpsertResult:
        """`upsert_records` of rows that are all new, each id once (a first ingest, an
        import into a fresh store): every row is version 1, so no walk row by row. The
        rows' own values come from the wire's image when the worker made one
        (`images`: an HTTP pull's pages)."""
        shared = shared_values(rows, RECORD_SHARED) if times is None else None
        if shared is not None:
            # the batch's shared values bound once a statement (see `shared`)
            source_type, upstream, data_source, extractor_version = shared
            values = {0: source_type, 1: upstream, 4: data_source, 7: extractor_version,
                      9: 1, 10: now, 11: now}  # fmt: skip
            image = image_in(wire, "records", rows)
            if image is not None:
                insert_image(self.conn, sql.into, sql.width, values, image)
                self.conn.execute(sql.changes, (name, before))
            else:
                self._insert(sql, name, own_record_values(rows), before, values)
        elif times is None:
            inserts = [(r[0], r[9], *r[1:8], 1, now, now, *r[8]) for r in rows]
            self._insert(sql, name, inserts, before)
        else:
            fresh = (now, now)
            inserts = [
                (r[0], r[9], *r[1:8], 1, *(t or fresh), *r[8])
                for r, t in zip(rows, times, strict=True)
            ]
            self._insert(sql, name, inserts, before)
        # made from the rows only if a consumer iterates them (the outbox does not)
        changes = NewRecords(name, rows)
        return UpsertResult(len(rows), 0, 0, changes)

    def _insert(
        self,
        sql: RecordStatements,
        name: str,
        inserts: list[tuple[Any, ...]],
        before: int,
        shared: Mapping[int, Any] | None = None,
    ) -> None:
        insert_rows(self.conn, sql.into, sql.width, shared or {}, inserts)
        # the changes feed (adapters.sql.changes): one statement for the batch's new
        # rows, whose rowids all follow `before` (one writer at a time); updates are
        # fed by the table's update trigger
        self.conn.execute(sql.changes, (name, before))

    def _lookup(
        self, sql: RecordStatements, rows: Sequence[RecordRow]
    ) -> tuple[dict[Identity, tuple[bytes, int, int]], int]:
        """Content hash, version and rowid of the rows' records that exist, by
        identity; and how many distinct identities the rows hold."""
        wanted: dict[tuple[str, str], set[str]] = {}
        for row in rows:
            wanted.setdefault((row[0], row[9]), set()).add(row[1])
        found: dict[Identity, tuple[bytes, int, int]] = {}
        for (source_type, upstream), ids in wanted.items():
            keys = list(ids)
            for i in range(0, len(keys), _LOOKUP_CHUNK):
                chunk = keys[i : i + _LOOKUP_CHUNK]
                query = sql.lookup.replace("?*", ",".join("?" * len(chunk)))
                for source_id, content_hash, version, rowid in self.conn.execute(
                    query, (source_type, upstream, *chunk)
                ):
                    found[(source_type, upstream, source_id)] = (content_hash, version, rowid)
        return found, sum(len(ids) for ids in wanted.values())

    def _sql(self, convention: Convention) -> RecordStatements:
        cached = self._statements.get(convention.name)
        if cached is None or cached.columns != convention.column_names:
            cached = RecordStatements.of(convention)
            self._statements[convention.name] = cached
        return cached

    def start_run(self, srn: str, source: str, origins: list[str], now: str) -> None:
        self.conn.execute(
            "INSERT INTO ingest_runs (srn, source, started_at, status, origins)"
            " VALUES (?,?,?,'running',?)",
            (srn, source, now, orjson.dumps(origins).decode()),
        )
        self.runs += 1

    def finish_run(self, srn: str, status: str, summary: dict[str, Any], now: str) -> None:
        self.conn.execute(
            "UPDATE ingest_runs SET finished_at = ?, status = ?, summary = ? WHERE srn = ?",
            (now, status, orjson.dumps(summary).decode(), srn),
        )
        self.runs -= 1

    def repeated_ids(self, source: str) -> frozenset[str]:
        query = "SELECT source_id FROM repeated_ids WHERE source = ?"
        return frozenset(i for (i,) in self.conn.execute(query, (source,)))

    def keep_repeated_ids(self, source: str, ids: Collection[str]) -> None:
        self.conn.execute("DELETE FROM repeated_ids WHERE source = ?", (source,))
        self.conn.executemany(
            "INSERT INTO repeated_ids (source, source_id) VALUES (?, ?)",
            [(source, i) for i in sorted(ids)],
        )

    def quarantine_headers(
        self, source: str, header: tuple[bytes, bytes], sha256s: Sequence[bytes]
    ) -> None:
        self.conn.execute(INSERT_HEADER, header)
        self.conn.executemany(
            "UPDATE quarantine SET header_sha256 = ? WHERE source = ? AND sha256 = ?",
            [(header[0], source, sha) for sha in sha256s],
        )

    def append_events(self, convention: str, changes: Sequence[RecordChange], now: str) -> None:
        """Nothing to write: each change's row in `record_changes`, written with its
        record, is its event, taken into the outbox by the dispatcher's claim
        (`adapters/sqlite/outbox.py`)."""
