"""MemoryRawOperations: the RawOperations and RawSession ports on the fake database."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from ingestry.adapters.sqlite.retention import audit_from_row, hold_from_row
from ingestry.domain.conventions import Convention
from ingestry.domain.deletion import TOMBSTONE_HASH
from ingestry.domain.payloads import QuarantineDetail
from ingestry.domain.records import Record
from ingestry.domain.retention import RawHold, RetentionAuditEntry, RetentionReport
from ingestry.services.ports import (
    ExistingRecord,
    PurgeResult,
    QuarantineItem,
    RawMark,
    RawRow,
    RawWindow,
    Receipt,
    RetentionPolicy,
    StoredRaw,
    StoredReceipt,
)
from tests.fakes.state import Row, Tables, moment
from tests.fakes.storage import MemorySession, quarantine_of, record_of

if TYPE_CHECKING:
    from tests.fakes.storage import MemoryStorage

HOLD_KEYS = (
    "id", "source", "source_id", "reason", "held_until", "created_at", "created_by",
    "released_at", "released_by",
)  # fmt: skip
AUDIT_KEYS = (
    "id", "source", "cutoff", "rows_purged", "bytes_freed", "partitions_dropped",
    "kept_unextracted", "kept_quarantined", "kept_held", "actor", "at", "pages_purged",
    "page_bytes_freed",
)  # fmt: skip


class MemoryRawSession(MemorySession):
    """RawSession: the raw store's maintenance writes, in the same transaction."""

    def latest_raw_ids(self, source: str, source_ids: Sequence[str]) -> dict[str, int]:
        """The raw row of each id's latest receipt."""
        wanted = set(source_ids)
        mine = {
            r["id"]: r["source_id"]
            for r in self.tables.raw.values()
            if r["source"] == source and r["source_id"] in wanted
        }
        out: dict[str, int] = {}
        for receipt in sorted(self.tables.receipts.values(), key=lambda c: c["id"]):
            if receipt["raw_id"] in mine:
                out[mine[receipt["raw_id"]]] = receipt["raw_id"]
        return out

    def existing_records(
        self, convention: Convention, source_type: str, upstream: str, source_ids: Sequence[str]
    ) -> list[ExistingRecord]:
        table = self.tables.records.get(convention.name, {})
        found = (table.get((source_type, upstream, i)) for i in dict.fromkeys(source_ids))
        return [
            ExistingRecord(
                r["source_type"],
                r["upstream"],
                r["source_id"],
                r["source"],
                r["extractor_version"],
                r["content_hash"] == TOMBSTONE_HASH,
            )
            for r in found
            if r is not None
        ]

    def set_extractor_version(
        self, convention: Convention, identities: Sequence[tuple[str, str, str]], version: str
    ) -> None:
        table = self.tables.records.get(convention.name, {})
        for identity in identities:
            if identity in table:
                table[identity]["extractor_version"] = version

    def mark_raw(self, source: str, rows: Sequence[RawMark], now: str) -> None:
        for ident, _, _, _, version, error, new_id, new_entity in rows:
            row = self.tables.raw.get(ident)
            if row is None:
                continue
            row.update(processed_at=now, extractor_version=version, error=error)
            if new_id is None:
                continue
            taken = any(
                (r["source"], r["source_id"], r["sha256"]) == (row["source"], new_id, row["sha256"])
                for r in self.tables.raw.values()
            )
            if not taken:  # the same bytes stored under the new id already keep the old id
                row.update(source_id=new_id, entity_type=new_entity)

    def resolve_quarantine(
        self,
        source: str,
        *,
        ids: Sequence[int] = (),
        sha256s: Sequence[bytes] = (),
        status: str,
        resolution: str,
        actor: str,
        now: str,
    ) -> list[int]:
        wanted_ids, wanted_shas = set(ids), set(sha256s)
        closed = sorted(
            q["id"]
            for q in self.tables.quarantine.values()
            if q["source"] == source
            and q["status"] == "open"
            and (q["id"] in wanted_ids or q["sha256"] in wanted_shas)
        )
        for ident in closed:
            self.tables.quarantine[ident].update(
                status=status, resolved_at=now, resolution=resolution, resolved_by=actor,
                payload=b"",
            )  # fmt: skip
        return closed

    def append_synthesized(self, rows: Sequence[RawRow]) -> int:
        return self._insert_raw(rows, synthesized=True, receipt=Receipt(None))

    def add_hold(
        self,
        source: str,
        source_id: str | None,
        until: str | None,
        reason: str | None,
        actor: str,
        now: str,
    ) -> int:
        ident = self.tables.next_id("holds")
        values = (ident, source, source_id, reason, until, now, actor, None, None)
        self.tables.holds[ident] = dict(zip(HOLD_KEYS, values, strict=True))
        return ident

    def release_hold(self, hold_id: int, actor: str, now: str) -> bool:
        hold = self.tables.holds.get(hold_id)
        if hold is None or hold["released_at"] is not None:
            return False
        hold.update(released_at=now, released_by=actor)
        return True

    def write_audit(self, report: RetentionReport, actor: str, now: str) -> None:
        ident = self.tables.next_id("audit")
        self.tables.audit[ident] = dict(
            zip(
                AUDIT_KEYS,
                (
                    ident,
                    report.source,
                    report.cutoff.isoformat(timespec="microseconds"),
                    report.rows_purged,
                    report.bytes_freed,
                    report.partitions_dropped,
                    report.kept_unextracted,
                    report.kept_quarantined,
                    report.kept_held,
                    actor,
                    now,
                    report.pages_purged,
                    report.page_bytes_freed,
                ),
                strict=True,
            )
        )


class MemoryRawOperations:
    """RawOperations: reads from the committed state, writes in the storage's sessions."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.storage = storage

    @property
    def tables(self) -> Tables:
        return self.storage.db.tables

    @contextmanager
    def session(self) -> Iterator[MemoryRawSession]:
        with self.storage.db.transaction() as tables:
            yield MemoryRawSession(tables)

    def _window(self, window: RawWindow) -> list[Row]:
        since, until = moment(window.since), moment(window.until)
        rows = [
            r
            for r in self.tables.raw.values()
            if r["source"] == window.source
            and (since is None or moment(r["received_at"]) >= since)  # type: ignore[operator]
            and (until is None or moment(r["received_at"]) < until)  # type: ignore[operator]
            and (window.entity_type is None or r["entity_type"] == window.entity_type)
            and (
                window.extractor_version is None
                or r["extractor_version"] == window.extractor_version
            )
        ]
        return sorted(rows, key=lambda r: (moment(r["received_at"]), r["id"]))

    def window_count(self, window: RawWindow) -> int:
        return len(self._window(window))

    def receipts(self, raw_ids: Sequence[int]) -> list[StoredReceipt]:
        wanted = set(raw_ids)
        keys = ("raw_id", "run_srn", "received_at", "origin", "line", "container")
        return [
            StoredReceipt(*(c[k] for k in keys), c["container_sha256"])
            for c in sorted(self.tables.receipts.values(), key=lambda c: (c["raw_id"], c["id"]))
            if c["raw_id"] in wanted
        ]

    def window_batch(
        self, window: RawWindow, after: tuple[str, int] | None, limit: int
    ) -> list[StoredRaw]:
        rows = self._window(window)
        if after is not None:
            last = (moment(after[0]), after[1])
            rows = [r for r in rows if (moment(r["received_at"]), r["id"]) > last]
        return [self._stored(r) for r in rows[:limit]]

    def _stored(self, r: Row) -> StoredRaw:
        header = None if r["header_sha256"] is None else self.tables.headers.get(r["header_sha256"])
        return StoredRaw(
            r["id"], r["received_at"], r["entity_type"], r["source_id"], r["sha256"],
            r["payload"], header, r["extractor_version"], r["error"], r["synthesized"],
            r["line"], r["origin"],
        )  # fmt: skip

    def quarantine_items(
        self, source: str, ids: Sequence[int] | None, after: int, limit: int
    ) -> list[QuarantineItem]:
        wanted = None if ids is None else set(ids)
        rows = sorted(
            (
                q
                for q in self.tables.quarantine.values()
                if q["source"] == source
                and q["status"] == "open"
                and q["id"] > after
                and (wanted is None or q["id"] in wanted)
            ),
            key=lambda q: q["id"],
        )
        return [
            QuarantineItem(
                q["id"],
                q["sha256"],
                q["payload"],
                None if q["header_sha256"] is None else self.tables.headers.get(q["header_sha256"]),
                q["line"],
                q["origin"],
                q["received_at"],
            )
            for q in rows[:limit]
        ]

    def quarantine_raw_rows(self, source: str, items: Sequence[QuarantineItem]) -> list[StoredRaw]:
        """Every raw row of the source holding an entry's bytes (the SQL backends look
        where a failed arrival put it first; what they find is the same)."""
        shas = {item.sha256 for item in items}
        rows = [
            r for r in self.tables.raw.values() if r["source"] == source and r["sha256"] in shas
        ]
        return [self._stored(r) for r in sorted(rows, key=lambda r: r["id"])]

    def quarantine_entry(self, entry_id: int) -> QuarantineDetail | None:
        q = self.tables.quarantine.get(entry_id)
        if q is None:
            return None
        raws = sorted(
            (
                r
                for r in self.tables.raw.values()
                if (r["source"], r["sha256"]) == (q["source"], q["sha256"])
            ),
            key=lambda r: r["id"],
        )
        return QuarantineDetail(
            quarantine_of(q), moment(q["resolved_at"]), q["resolution"], q["resolved_by"],
            raws[0]["payload"] if raws else None,
        )  # fmt: skip

    def extractor_versions(self, convention: Convention, data_source: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.tables.records.get(convention.name, {}).values():
            if r["data_source"] == data_source:
                version = str(r["extractor_version"])
                out[version] = out.get(version, 0) + 1
        return out

    def source_records(
        self,
        convention: Convention,
        data_source: str,
        after: tuple[str, str, str] | None,
        limit: int,
    ) -> list[Record]:
        table = self.tables.records.get(convention.name, {})
        keys = sorted(k for k, r in table.items() if r["data_source"] == data_source)
        if after is not None:
            keys = [k for k in keys if k > after]
        return [record_of(convention, table[k]) for k in keys[:limit]]

    def holds(self, source: str | None, active_at: str | None) -> list[RawHold]:
        at = moment(active_at)
        out = [
            h
            for h in sorted(self.tables.holds.values(), key=lambda h: h["id"])
            if (source is None or h["source"] == source)
            and (
                at is None
                or (
                    h["released_at"] is None
                    and (h["held_until"] is None or moment(h["held_until"]) > at)  # type: ignore[operator]
                )
            )
        ]
        return [hold_from_row(tuple(h[k] for k in HOLD_KEYS)) for h in out]

    def _expired(self, policy: RetentionPolicy) -> list[tuple[Row, bool, bool, bool]]:
        """(row, unextracted, quarantined, held) of each row received before the cutoff."""
        cutoff = moment(policy.cutoff)
        open_shas = {
            (q["source"], q["sha256"])
            for q in self.tables.quarantine.values()
            if q["status"] == "open"
        }
        return [
            (
                r,
                r["processed_at"] is None,
                (r["source"], r["sha256"]) in open_shas,
                r["source_id"] in policy.held_ids,
            )
            for r in sorted(
                self.tables.raw.values(), key=lambda r: (moment(r["received_at"]), r["id"])
            )
            if r["source"] == policy.source and moment(r["received_at"]) < cutoff  # type: ignore[operator]
        ]

    def retention_counts(self, policy: RetentionPolicy, report: RetentionReport) -> None:
        rows = self._expired(policy)
        report.expired = len(rows)
        report.kept_unextracted = sum(u for _, u, _, _ in rows)
        report.kept_quarantined = sum(q and not u for _, u, q, _ in rows)
        report.kept_held = sum(h and not q and not u for _, u, q, h in rows)
        purgeable = [r for r, u, q, h in rows if not (u or q or h)]
        report.rows_purged = len(purgeable)
        report.bytes_freed = sum(len(r["payload"]) for r in purgeable)

    def drop_partitions(
        self, policies: Sequence[RetentionPolicy], now: str
    ) -> dict[str, PurgeResult]:
        return {}  # no partitions: rows are deleted

    def purge(self, policy: RetentionPolicy, batch_rows: int) -> PurgeResult:
        purgeable = [r for r, u, q, h in self._expired(policy) if not (u or q or h)]
        rows = size = 0
        for start in range(0, len(purgeable), batch_rows):
            with self.storage.db.transaction() as tables:
                for r in purgeable[start : start + batch_rows]:
                    del tables.raw[r["id"]]
                    gone = [i for i, c in tables.receipts.items() if c["raw_id"] == r["id"]]
                    for i in gone:
                        del tables.receipts[i]
                    rows += 1
                    size += len(r["payload"])
        return PurgeResult(rows, size, 0)

    def audit(self, source: str | None, limit: int) -> list[RetentionAuditEntry]:
        rows = sorted(self.tables.audit.values(), key=lambda a: a["id"], reverse=True)
        chosen = [a for a in rows if source is None or a["source"] == source][:limit]
        return [audit_from_row(tuple(a[k] for k in AUDIT_KEYS)) for a in chosen]
