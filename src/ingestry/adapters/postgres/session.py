"""PostgresSession: the StorageSession port over one retrying transaction."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

import orjson
import psycopg

from ingestry.adapters.postgres.outbox import append_events
from ingestry.adapters.postgres.spill import fill_payload
from ingestry.adapters.postgres.text import escape_json, escape_text, unescape_text
from ingestry.adapters.postgres.transaction import Transaction
from ingestry.adapters.postgres.writer import Writer
from ingestry.domain.conventions import Convention
from ingestry.services.ports import (
    Arrivals,
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


class PostgresSession:
    """Every call runs inside `tx`; a deadlock or serialization failure replays the
    transaction (see `transaction`), so callers never see one."""

    def __init__(self, tx: Transaction, writer: Writer) -> None:
        self.tx = tx
        self.writer = writer
        self._last_changes: tuple[Sequence[RecordChange], _Changes] | None = None

    def append_raw(
        self,
        rows: Sequence[RawRow],
        headers: Sequence[tuple[bytes, bytes]],
        wire: Wire | None = None,
        receipt: Receipt | None = None,
    ) -> int:
        return self.tx.run(
            lambda: self.writer.append_raw(self.tx, rows, headers, wire, receipt), len(rows)
        )

    def append_receipts(self, keys: Sequence[ReceiptKey], receipt: Receipt) -> None:
        self.tx.run(lambda: self.writer.append_receipts(self.tx, keys, receipt), len(keys))

    def unit(self, work: Callable[[], None]) -> None:
        """The calls in `work` are not logged one by one: a replay runs `work` again."""
        self.tx.run(work)

    def quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        self.tx.run(lambda: self.writer.quarantine(self.tx, rows), len(rows))

    def fill_payload(
        self, source: str, sha256: bytes, length: int, chunks: Callable[[], Iterator[bytes]]
    ) -> None:
        def call() -> None:
            self.tx.begin()
            fill_payload(self.writer.conn, source, sha256, length, chunks)

        self.tx.run(call, 1)

    def upsert_records(
        self,
        convention: Convention,
        rows: Sequence[RecordRow],
        now: str,
        wire: Wire | None = None,
        times: Sequence[RowTimes | None] | None = None,
    ) -> UpsertResult:
        latest = _Changes()

        def call() -> UpsertResult:
            result = self.writer.upsert_records(self.tx, convention, rows, now, wire, times)
            latest.changes = result.changes
            return result

        result = self.tx.run(call, len(rows))
        self._last_changes = (result.changes, latest)
        return result

    def unchanged_payloads(
        self,
        source: str,
        convention: Convention,
        source_type: str,
        upstream: str,
        extractor_version: str,
        keys: Sequence[tuple[int, str, bytes]],
        arrivals: Arrivals | None = None,
    ) -> set[int]:
        return self.tx.run(
            lambda: self.writer.unchanged_payloads(
                self.tx, source, convention, (source_type, upstream), extractor_version, keys,
                arrivals,
            )
        )  # fmt: skip

    def start_run(self, srn: str, source: str, origins: list[str], now: str) -> None:
        self.tx.run(lambda: self.writer.start_run(self.tx, srn, source, origins, now))

    def finish_run(self, srn: str, status: str, summary: dict[str, Any], now: str) -> None:
        summary = dict(summary)  # the caller may change its dict before a replay
        self.tx.run(lambda: self.writer.finish_run(self.tx, srn, status, summary, now))

    def read_before(self, source: str, origin: str) -> bool:
        def call() -> bool:
            self.tx.begin()
            # the last 1,000 runs through the started_at index: bounded on any store
            query = (
                "SELECT EXISTS (SELECT FROM (SELECT source, origins FROM ingest_runs"
                " ORDER BY started_at DESC LIMIT 1000) r"
                " WHERE r.source = %s AND r.origins @> %s::jsonb)"
            )
            name = escape_json(orjson.dumps([origin]).decode())
            row = self.writer.conn.execute(query, (source, name)).fetchone()
            return bool(row and row[0])

        found: bool = self.tx.run(call)
        return found

    def repeated_ids(self, source: str) -> frozenset[str]:
        def call() -> frozenset[str]:
            self.tx.begin()
            query = "SELECT source_id FROM repeated_ids WHERE source = %s"
            rows = self.writer.conn.execute(query, (source,)).fetchall()
            return frozenset(unescape_text(i) for (i,) in rows)

        return self.tx.run(call)

    def keep_repeated_ids(self, source: str, ids: Collection[str]) -> None:
        def call() -> None:
            self.tx.begin()
            conn = self.writer.conn
            conn.execute("DELETE FROM repeated_ids WHERE source = %s", (source,))
            if ids:
                with conn.cursor() as cursor:
                    cursor.executemany(
                        "INSERT INTO repeated_ids (source, source_id) VALUES (%s, %s)",
                        [(source, escape_text(i)) for i in sorted(ids)],
                    )

        self.tx.run(call, len(ids))

    def quarantine_headers(
        self, source: str, header: tuple[bytes, bytes], sha256s: Sequence[bytes]
    ) -> None:
        def call() -> None:
            self.tx.begin()
            keep_quarantine_headers(self.tx.conn, source, header, sha256s)

        self.tx.run(call, len(sha256s))

    def append_events(self, convention: str, changes: Sequence[RecordChange], now: str) -> None:
        """The events of the changes the last `upsert_records` returned are re-derived
        from that call's result when the transaction is replayed: a replayed upsert can
        answer differently (a rival writer committed meanwhile), and its events must
        follow what it wrote, not what the first attempt did."""
        last = self._last_changes
        latest = last[1] if last is not None and last[0] is changes else None

        def call() -> None:
            self.tx.begin()
            append_events(self.writer.conn, convention, latest.changes if latest else changes, now)

        self.tx.run(call, len(changes))


class _Changes:
    """The changes of the latest run of one logged upsert call."""

    changes: Sequence[RecordChange]


def keep_quarantine_headers(
    conn: psycopg.Connection[Any],
    source: str,
    header: tuple[bytes, bytes],
    sha256s: Sequence[bytes],
) -> None:
    """Keep the CSV header of quarantined rows once and point them at it."""
    conn.execute(
        "INSERT INTO raw_headers (sha256, payload) VALUES (%s, %s) ON CONFLICT DO NOTHING", header
    )
    conn.execute(
        "UPDATE quarantine SET header_sha256 = %s WHERE source = %s AND sha256 = ANY(%s::bytea[])",
        (header[0], source, list(sha256s)),
    )
