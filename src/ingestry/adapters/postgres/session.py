"""PostgresSession: the StorageSession port over one retrying transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ingestry.adapters.postgres.transaction import Transaction
from ingestry.adapters.postgres.writer import Writer
from ingestry.domain.conventions import Convention
from ingestry.services.ports import QuarantineRow, RawRow, RecordRow, UpsertResult


class PostgresSession:
    """Every call runs inside `tx`; a deadlock or serialization failure replays the
    transaction (see `transaction`), so callers never see one."""

    def __init__(self, tx: Transaction, writer: Writer) -> None:
        self.tx = tx
        self.writer = writer

    def append_raw(self, rows: Sequence[RawRow], headers: Sequence[tuple[bytes, bytes]]) -> int:
        return self.tx.run(lambda: self.writer.append_raw(self.tx, rows, headers), len(rows))

    def quarantine(self, rows: Sequence[QuarantineRow]) -> None:
        self.tx.run(lambda: self.writer.quarantine(self.tx, rows), len(rows))

    def upsert_records(
        self, convention: Convention, rows: Sequence[RecordRow], now: str
    ) -> UpsertResult:
        return self.tx.run(
            lambda: self.writer.upsert_records(self.tx, convention, rows, now), len(rows)
        )

    def unchanged_payloads(
        self,
        source: str,
        convention: Convention,
        source_type: str,
        extractor_version: str,
        keys: Sequence[tuple[int, str, bytes]],
    ) -> set[int]:
        return self.tx.run(
            lambda: self.writer.unchanged_payloads(
                self.tx, source, convention, source_type, extractor_version, keys
            )
        )

    def start_run(self, srn: str, source: str, origins: list[str], now: str) -> None:
        self.tx.run(lambda: self.writer.start_run(self.tx, srn, source, origins, now))

    def finish_run(self, srn: str, status: str, summary: dict[str, Any], now: str) -> None:
        summary = dict(summary)  # the caller may change its dict before a replay
        self.tx.run(lambda: self.writer.finish_run(self.tx, srn, status, summary, now))
