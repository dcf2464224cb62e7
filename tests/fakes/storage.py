"""MemoryStorage: the Storage and StorageSession ports on plain dicts.

Reads answer from the last committed state; a session works on its own copy (see
`state.Database.transaction`). Rows leave through the same converters the SQL backends
use (`adapters/sql/rows.py`), so a Record, RawPayload or QuarantineEntry looks alike
whichever storage made it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import orjson

from ingestry.adapters.migrate import HEAD
from ingestry.adapters.sql.rows import history_record, quarantine_entry, raw_payload
from ingestry.adapters.sql.rows import record_from_row as _record_from_row
from ingestry.domain.conventions import Convention
from ingestry.domain.deletion import TOMBSTONE_HASH
from ingestry.domain.errors import InvalidCursorError
from ingestry.domain.payloads import QuarantineEntry, RawPayload
from ingestry.domain.query import EVERYTHING, Condition, Op, RecordQuery, missing_cursor
from ingestry.domain.records import Record, parse_srn, spell_srn
from ingestry.domain.versioning import UNCHANGED, next_version
from ingestry.extract.coerce import parse_column_value
from ingestry.services.export_cells import record_page
from ingestry.services.ports import (
    SCAN_ENVELOPE,
    SCAN_PAGE,
    Change,
    ChangeCursor,
    QuarantineRow,
    RawRow,
    Receipt,
    ReceiptKey,
    RecordChange,
    RecordRow,
    UpsertResult,
    Wire,
)
from tests.fakes.state import Database, Row, Tables, moment

RAW_KEYS = (
    "source", "entity_type", "source_id", "sha256", "payload", "header_sha256",
    "received_at", "processed_at", "extractor_version", "error", "line", "origin",
)  # fmt: skip
RECORD_KEYS = (
    "source_type", "source_id", "source", "data_source", "metadata", "content_hash",
    "extractor_version", "raw_sha256", "columns", "upstream",
)  # fmt: skip


_COMPARE = {
    Op.EQ: operator.eq, Op.NE: operator.ne, Op.LT: operator.lt, Op.LE: operator.le,
    Op.GT: operator.gt, Op.GE: operator.ge,
}  # fmt: skip


def _tombstone(row: Row) -> bool:
    """A soft-deleted record's current row (docs/deleting.md)."""
    return bool(row["content_hash"] == TOMBSTONE_HASH)


def _identity(row: Row) -> tuple[str, str, str]:
    return (row["source_type"], row["upstream"], row["source_id"])


def record_of(convention: Convention, row: Row) -> Record:
    envelope = (
        row["source"], row["data_source"], row["metadata"], row["version"],
        row["extractor_version"], row["raw_sha256"], row["published_at"], row["updated_at"],
    )  # fmt: skip
    return _record_from_row(convention, (*envelope, *row["columns"]))


def raw_payload_of(row: Row, tables: Tables) -> RawPayload:
    mine = sorted((r for r in tables.receipts.values() if r["raw_id"] == row["id"]),
                  key=lambda r: r["id"])  # fmt: skip
    last = mine[-1] if mine else None
    receipts = (
        len(mine), *(None if last is None else last[k]
                     for k in ("received_at", "run_srn", "origin", "line")),
    )  # fmt: skip
    base = (row["id"], *(row[k] for k in RAW_KEYS if k != "header_sha256"))
    return raw_payload((*base, *receipts))


def latest_receipt(row: Row, tables: Tables) -> int:
    """The id of the raw row's latest receipt (0: none): raw rows are listed by it."""
    return max((r["id"] for r in tables.receipts.values() if r["raw_id"] == row["id"]), default=0)


def quarantine_of(row: Row) -> QuarantineEntry:
    keys = ("id", "source", "sha256", "payload", "line", "origin", "reason", "received_at")
    return quarantine_entry((*(row[k] for k in keys), row["status"]))


class MemorySession:
    """StorageSession on one transaction's copy of the tables."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    def append_raw(
        self,
        rows: Sequence[RawRow],
        headers: Sequence[tuple[bytes, bytes]],
        wire: Wire | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        for sha, payload in headers:
            self.tables.headers.setdefault(sha, payload)
        return self._insert_raw(rows, synthesized=False, receipt=receipt)

    def _insert_raw(
        self, rows: Sequence[RawRow], *, synthesized: bool, receipt: Receipt | None = None
    ) -> int:
        """New rows stored; every row, new or duplicate, a receipt of its raw row."""
        held = {
            (r["source"], r["source_id"], r["sha256"]): r["id"] for r in self.tables.raw.values()
        }
        stored = 0
        for values in rows:
            row = dict(zip(RAW_KEYS, values, strict=True))
            key = (row["source"], row["source_id"], row["sha256"])
            if key not in held:
                ident = held[key] = self.tables.next_id("raw")
                self.tables.raw[ident] = {"id": ident, **row, "synthesized": synthesized}
                stored += 1
            self._receive(held[key], row["received_at"], row["line"], row["origin"], receipt)
        return stored

    def _receive(
        self, raw_id: int, at: str, line: int | None, origin: str | None, receipt: Receipt | None
    ) -> None:
        run, container, container_sha = receipt or Receipt(None)
        ident = self.tables.next_id("receipts")
        self.tables.receipts[ident] = {
            "id": ident, "raw_id": raw_id, "run_srn": run, "received_at": at, "origin": origin,
            "line": line, "container": container, "container_sha256": container_sha,
        }  # fmt: skip

    def _dedupe_keys(self) -> dict[tuple[str, str, bytes], int]:
        return {
            (r["source"], r["source_id"], r["sha256"]): r["id"] for r in self.tables.raw.values()
        }

    def append_receipts(self, keys: Sequence[ReceiptKey], receipt: Receipt) -> None:
        held = {
            (r["source"], r["source_id"], r["sha256"]): r["id"] for r in self.tables.raw.values()
        }
        for source, source_id, sha, at, line, origin in keys:
            raw_id = held.get((source, source_id, sha))
            if raw_id is not None:  # a key with no raw row is ignored
                self._receive(raw_id, at, line, origin, receipt)

    def quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        keys = ("source", "sha256", "payload", "line", "origin", "reason", "received_at")
        for values in rows:
            row = dict(zip(keys, values, strict=True))
            found = self._quarantined(row["source"], row["sha256"])
            if found is not None and found["status"] == "open":
                continue  # the same bytes quarantined twice stay one entry
            fresh = {
                **row, "status": "open", "header_sha256": None, "resolved_at": None,
                "resolution": None, "resolved_by": None,
            }  # fmt: skip
            if found is not None:
                found.update(fresh)  # a closed entry opens again
            else:
                ident = self.tables.next_id("quarantine")
                self.tables.quarantine[ident] = {"id": ident, **fresh}

    def _quarantined(self, source: str, sha256: bytes) -> Row | None:
        return next(
            (
                q
                for q in self.tables.quarantine.values()
                if q["source"] == source and q["sha256"] == sha256
            ),
            None,
        )

    def fill_payload(
        self, source: str, sha256: bytes, length: int, chunks: Callable[[], Iterator[bytes]]
    ) -> None:
        targets = [
            q
            for q in self.tables.quarantine.values()
            if (q["source"], q["sha256"], q["status"]) == (source, sha256, "open")
            and not q["payload"]
        ]
        targets += [
            r
            for r in self.tables.raw.values()
            if (r["source"], r["source_id"], r["sha256"]) == (source, "", sha256)
            and not r["payload"]
        ]
        if targets:
            payload = b"".join(chunks())
            assert len(payload) == length, "the spilled payload's length changed"
            for target in targets:
                target["payload"] = payload

    def upsert_records(
        self,
        convention: Convention,
        rows: Sequence[RecordRow],
        now: str,
        wire: Wire | None = None,
        times: Sequence[tuple[str, str] | None] | None = None,
    ) -> UpsertResult:
        table = self.tables.records.setdefault(convention.name, {})
        created = updated = unchanged = 0
        changes: list[RecordChange] = []
        for values, stamp in zip(rows, times or [None] * len(rows), strict=True):
            published, updated_at = stamp or (now, now)
            row = dict(zip(RECORD_KEYS, values, strict=True))
            key = (row["source_type"], row["upstream"], row["source_id"])
            current = table.get(key)
            state = None if current is None else (current["content_hash"], current["version"])
            version = next_version(state, row["content_hash"])
            if version == UNCHANGED:
                unchanged += 1
                continue
            if current is None:
                current = table[key] = {
                    **row, "id": self.tables.next_id("records"), "version": 1,
                    "published_at": published, "updated_at": updated_at,
                }  # fmt: skip
                created += 1
            else:
                self._keep_history(convention, current, updated_at)
                current.update(row, version=version, updated_at=updated_at)
                updated += 1
            changes.append(RecordChange(convention.name, *key, version))
            seq = self.tables.next_id("record_changes")  # as the triggers write it
            self.tables.changes.append((seq, convention.name, current["id"], version))
        return UpsertResult(created, updated, unchanged, changes)

    def _keep_history(self, convention: Convention, current: Row, now: str) -> None:
        """The version being replaced, as `record_versions` keeps it."""
        identity = (current["source_type"], current["upstream"], current["source_id"])
        self.tables.history.append(
            {
                **current,
                "srn": spell_srn(convention.name, *identity),
                "convention": convention.name,
                "columns": dict(zip(convention.column_names, current["columns"], strict=True)),
                "version_at": current["updated_at"],
                "superseded_at": now,
            }
        )

    def start_run(self, srn: str, source: str, origins: list[str], now: str) -> None:
        self.tables.runs[srn] = {
            "srn": srn, "source": source, "origins": list(origins), "started_at": now,
            "status": "running", "finished_at": None, "summary": None,
        }  # fmt: skip

    def finish_run(self, srn: str, status: str, summary: dict[str, Any], now: str) -> None:
        run = self.tables.runs.get(srn)
        if run is not None:
            run.update(status=status, finished_at=now, summary=orjson.loads(orjson.dumps(summary)))

    def repeated_ids(self, source: str) -> frozenset[str]:
        return frozenset(self.tables.repeated.get(source, ()))

    def keep_repeated_ids(self, source: str, ids: Collection[str]) -> None:
        self.tables.repeated[source] = set(ids)

    def quarantine_headers(
        self, source: str, header: tuple[bytes, bytes], sha256s: Sequence[bytes]
    ) -> None:
        self.tables.headers.setdefault(*header)
        for sha in sha256s:
            found = self._quarantined(source, sha)
            if found is not None:
                found["header_sha256"] = header[0]

    def append_events(self, convention: str, changes: Sequence[RecordChange], now: str) -> None:
        for change in changes:
            ident = self.tables.next_id("events")
            self.tables.events[ident] = {
                "id": ident, "srn": change.srn, "convention": convention,
                "version": change.version, "created_at": now, "attempts": 0,
                "status": "pending", "available_at": None, "lease_owner": None,
                "leased_until": None, "last_error": None, "failed_at": None,
            }  # fmt: skip

    def unit(self, work: Callable[[], None]) -> None:
        work()  # one writer at a time: nothing to redo


class MemoryChangeFeed:
    """The changes feed over the fake's change log (one writer: seq is commit order)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def changes(
        self, after: ChangeCursor, limit: int, conventions: Sequence[str] | None
    ) -> list[Change]:
        return [
            Change((0, seq), name, record_id, version)
            for seq, name, record_id, version in self.db.tables.changes
            if (0, seq) > after and (conventions is None or name in conventions)
        ][:limit]

    def fork_cursor(self, node_id: str, scope: str) -> str | None:
        return self.db.fork_cursors.get((node_id, scope))

    def save_fork_cursor(self, node_id: str, scope: str, cursor: str, now: str) -> None:
        self.db.fork_cursors[(node_id, scope)] = cursor

    def records_by_id(self, convention: Convention, ids: Sequence[int]) -> dict[int, Record]:
        wanted = set(ids)
        rows = self.db.tables.records.get(convention.name, {}).values()
        return {r["id"]: record_of(convention, r) for r in rows if r.get("id") in wanted}


class MemoryStorage:
    """Storage on a fake database (see the package docstring for why it exists)."""

    dialect = "memory"

    def __init__(self, database: Database | None = None) -> None:
        self.db = database or Database()
        self._revision: str | None = None

    @contextmanager
    def statement_limit(self, seconds: float, setting: str) -> Iterator[None]:
        """Dicts answer at once: nothing to limit."""
        yield

    @contextmanager
    def session(self) -> Iterator[MemorySession]:
        with self.db.transaction() as tables:
            yield MemorySession(tables)

    # --- schema: nothing to migrate, the conventions are remembered ------------------

    def schema_revision(self) -> str | None:
        return self._revision

    def node_id(self) -> str:
        return self.db.node_id

    def upgrade(self, revision: str = "head") -> None:
        self._revision = HEAD

    def downgrade(self, revision: str) -> None:
        self._revision = None if revision == "base" else revision

    def prepare(self, conventions: Sequence[Convention], *, auto_upgrade: bool) -> None:
        self._revision = HEAD
        self.ensure_conventions(conventions)

    def ensure_conventions(self, conventions: Sequence[Convention]) -> None:
        for convention in conventions:
            self.db.conventions[convention.name] = convention
            self.db.tables.records.setdefault(convention.name, {})

    # --- reads --------------------------------------------------------------------

    def _records(self, convention: Convention) -> dict[tuple[str, str, str], Row]:
        return self.db.tables.records.get(convention.name, {})

    def change_feed(self) -> MemoryChangeFeed:
        return MemoryChangeFeed(self.db)

    def get_record(self, convention: Convention, srn: str) -> Record | None:
        _, source_type, upstream, source_id = parse_srn(srn)
        row = self._records(convention).get((source_type, upstream, source_id))
        return None if row is None or _tombstone(row) else record_of(convention, row)

    def list_records(
        self,
        convention: Convention,
        limit: int | None,
        after: str | None = None,
        query: RecordQuery = EVERYTHING,
    ) -> Iterator[Record]:
        """Records matching `query` in its order, after the record `after` (keyset):
        every record read and sorted in Python, as plainly as the contract says it."""
        rows = self._matching(convention, query)
        if after:
            identity = parse_srn(after)[1:]
            if query.sort is None:
                rows = [r for r in rows if _identity(r) > identity]
            else:
                at = [i for i, r in enumerate(rows) if _identity(r) == identity]
                if not at:
                    raise InvalidCursorError(missing_cursor(after))
                rows = rows[at[0] + 1 :]
        for row in rows[:limit]:
            yield record_of(convention, row)

    def scan_columns(
        self,
        convention: Convention,
        names: Sequence[str],
        query: RecordQuery = EVERYTHING,
        page: int = SCAN_PAGE,
    ) -> Iterator[list[list[Any]]]:
        """The records read as records, then turned into columns (the contract's values)."""
        unknown = [n for n in names if n not in SCAN_ENVELOPE and n not in convention.column_names]
        if unknown:
            raise KeyError(f"{unknown[0]!r} is no column of convention {convention.name!r}")
        records = list(self.list_records(convention, None, None, query))
        for start in range(0, len(records), page):
            yield record_page(records[start : start + page], names)

    def count_records(self, convention: Convention, query: RecordQuery = EVERYTHING) -> int:
        return len(self._matching(convention, query))

    def decimal_shapes(
        self, convention: Convention, columns: Sequence[str]
    ) -> dict[str, tuple[int, int]]:
        position = {c.name: i for i, c in enumerate(convention.columns)}
        out: dict[str, tuple[int, int]] = {}
        for name in columns:
            before, after = 1, 0
            for row in self._matching(convention, EVERYTHING):
                value = row["columns"][position[name]]
                if value is None:
                    continue
                _, digits, exponent = Decimal(str(value)).as_tuple()
                assert isinstance(exponent, int)
                before = max(before, len(digits) + exponent)
                after = max(after, -exponent)
            out[name] = (before, after)
        return out

    def _matching(self, convention: Convention, query: RecordQuery) -> list[Row]:
        types = {c.name: c.type for c in convention.columns}
        position = {c.name: i for i, c in enumerate(convention.columns)}

        def value(row: Row, column: str) -> Any:
            return parse_column_value(types[column], row["columns"][position[column]])

        def holds(row: Row, condition: Condition) -> bool:
            have = value(row, condition.column)
            wanted = [parse_column_value(types[condition.column], v) for v in condition.values]
            if have is None:
                return False  # as SQL: a comparison with NULL is not true
            if condition.op is Op.IN:
                return have in wanted
            return bool(_COMPARE[condition.op](have, wanted[0]))

        rows = [
            r
            for r in self._records(convention).values()
            if (query.include_deleted or not _tombstone(r))
            and (not query.data_sources or r["data_source"] in query.data_sources)
            and all(holds(r, c) for c in query.conditions)
        ]
        rows.sort(key=_identity)
        if query.sort is not None:
            sort = query.sort
            present = [r for r in rows if value(r, sort.column) is not None]
            empty = [r for r in rows if value(r, sort.column) is None]
            present.sort(key=lambda r: (value(r, sort.column), _identity(r)), reverse=sort.desc)
            empty.sort(key=_identity, reverse=sort.desc)
            rows = present + empty  # empty values last either way; identity follows the way
        return rows

    def record_history(self, convention: Convention, srn: str) -> list[Record]:
        keys = (
            "srn", "version", "source", "data_source", "metadata", "columns",
            "extractor_version", "raw_sha256", "published_at", "version_at",
        )  # fmt: skip
        rows = sorted(
            (h for h in self.db.tables.history if h["srn"] == srn), key=lambda h: h["version"]
        )
        history = [history_record(convention, tuple(h[k] for k in keys)) for h in rows]
        current = self.get_record(convention, srn)
        return [*history, current] if current else history

    def earlier_versions(
        self, convention: Convention, srns: Sequence[str]
    ) -> dict[str, list[Record]]:
        out = {}
        for srn in srns:
            current = self.get_record(convention, srn)
            history = self.record_history(convention, srn)
            earlier = history[:-1] if current is not None else history
            if earlier:
                out[srn] = earlier
        return out

    def raw_payloads(self, source: str, source_id: str) -> list[RawPayload]:
        """Ordered by latest receipt: the last is the payload received last."""
        tables = self.db.tables
        rows = [
            r for r in tables.raw.values() if (r["source"], r["source_id"]) == (source, source_id)
        ]
        rows.sort(key=lambda r: (latest_receipt(r, tables), r["id"]))
        return [raw_payload_of(r, tables) for r in rows]

    def quarantine_entries(self, source: str, status: str | None = "open") -> list[QuarantineEntry]:
        rows = [
            q
            for q in self.db.tables.quarantine.values()
            if q["source"] == source and (status is None or q["status"] == status)
        ]
        rows.sort(key=lambda q: (moment(q["received_at"]), q["id"]))
        return [quarantine_of(q) for q in rows]

    def stats(self, sources: dict[str, str]) -> dict[str, dict[str, int]]:
        def zero() -> dict[str, int]:
            return {"raw_rows": 0, "records": 0, "quarantined": 0}

        out = {name: zero() for name in sources}
        tables = self.db.tables
        for r in tables.raw.values():
            out.setdefault(r["source"], zero())["raw_rows"] += 1
        for q in tables.quarantine.values():
            if q["status"] == "open":
                out.setdefault(q["source"], zero())["quarantined"] += 1
        for convention in set(sources.values()):
            for row in tables.records.get(convention, {}).values():
                if row["data_source"] in out and not _tombstone(row):
                    out[row["data_source"]]["records"] += 1
        return out

    def close(self) -> None:
        """Nothing to close; the data stays with the fake database."""

    def lifecycle(self) -> Any:
        from tests.fakes.lifecycle import MemoryLifecycle

        return MemoryLifecycle(self)

    def deletion(self) -> Any:
        from tests.fakes.deletion import MemoryDeletion

        return MemoryDeletion(self)

    def erasure(self) -> Any:
        from tests.fakes.erasure import MemoryErasure

        return MemoryErasure(self)

    def raw_operations(self) -> Any:
        from tests.fakes.rawops import MemoryRawOperations

        return MemoryRawOperations(self)
