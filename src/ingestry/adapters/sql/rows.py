"""Database rows → domain objects, shared by backends.

SQLite hands back ISO text and JSON text, PostgreSQL datetimes and decoded JSON: the
helpers here accept both so each adapter only writes its SQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sql.spans import covers, line_of
from ingestry.domain.conventions import ColumnType, Convention
from ingestry.domain.payloads import QuarantineEntry, RawPayload
from ingestry.domain.provenance import source_from_dict
from ingestry.domain.records import Record, srn_of
from ingestry.extract.coerce import parse_column_value
from ingestry.extract.jsonio import loads

#: Every receipt of some raw rows, as `StoredReceipt` columns: a receipt's own raw id and
#: line, and what its batch shares (`{}`: a FROM item `x` of the wanted raw ids, `x.id`).
#: A receipt row may receive a span of raw ids (adapters/sql/spans.py).
RECEIPTS = (
    f"SELECT x.id, b.run_srn, b.received_at, b.origin, {line_of('r', 'x.id')}, b.container,"
    " b.container_sha256 FROM {} JOIN raw_receipts r ON "
    + covers("r", "x.id")
    + " JOIN raw_receipt_batches b ON b.id = r.batch_id ORDER BY x.id, r.id"
)

RECORD_ENVELOPE = (
    "source, data_source, metadata, version, extractor_version, raw_sha256,"
    " published_at, updated_at"
)


def raw_with_receipts(payloads: str, where: str) -> str:
    """A SELECT of raw payloads (`payloads`: a FROM list aliased `p`, `where` its
    condition) with their receipts' count and latest receipt, ordered by that latest
    receipt: the last row is the payload received last (see docs/receipts.md). The
    latest receipt is found by (raw id, id): PostgreSQL's receipts have no index on id
    alone (migration 20261203_090000)."""
    return (
        "SELECT p.id, p.source, p.entity_type, p.source_id, p.sha256, p.payload,"
        " p.received_at, p.processed_at, p.extractor_version, p.error, p.line, p.origin,"
        f" (SELECT count(*) FROM raw_receipts c WHERE {covers('c', 'p.id')}), b.received_at,"
        f" b.run_srn, b.origin, {line_of('l', 'p.id')} FROM {payloads} LEFT JOIN raw_receipts l"
        f" ON {covers('l', 'p.id')} AND l.id = (SELECT max(m.id) FROM raw_receipts m"
        f" WHERE {covers('m', 'p.id')}) LEFT JOIN raw_receipt_batches b ON b.id = l.batch_id"
        f" WHERE {where} ORDER BY coalesce(l.id, 0), p.id"
    )


QUARANTINE_COLUMNS = "id, source, sha256, payload, line, origin, reason, received_at, status"


def select_records(convention: Convention, tail: str) -> str:
    cols = "".join(f', "{c}"' for c in convention.column_names)
    return f'SELECT {RECORD_ENVELOPE}{cols} FROM "{table_name(convention.name)}" {tail}'


def as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def as_json(value: Any) -> Any:
    return loads(value) if isinstance(value, str | bytes) else value


def _hex(value: Any) -> str | None:
    return bytes(value).hex() if value is not None else None


def record_from_row(
    convention: Convention,
    row: tuple[Any, ...],
    *,
    decode_json: Callable[[Any], Any] = as_json,
    decode_column: Callable[[ColumnType, Any], Any] = parse_column_value,
) -> Record:
    """A record table row (RECORD_ENVELOPE, then the declared columns) as a Record; a
    backend that stores values escaped passes its own decoders."""
    source, data_source, metadata, version, extractor_version, raw_sha, published, updated = row[:8]
    columns = {
        c.name: decode_column(c.type, value)
        for c, value in zip(convention.columns, row[8:], strict=True)
    }
    provenance = source_from_dict(decode_json(source))
    return Record(
        srn=srn_of(convention.name, provenance),
        convention=convention.name,
        source=provenance,
        metadata=decode_json(metadata),
        columns=columns,
        version=version,
        published_at=as_datetime(published),
        updated_at=as_datetime(updated),
        data_source=data_source,
        extractor_version=extractor_version,
        raw_sha256=_hex(raw_sha),
    )


def history_record(convention: Convention, row: tuple[Any, ...]) -> Record:
    (
        srn,
        version,
        source,
        data_source,
        metadata,
        columns,
        extractor_version,
        raw_sha,
        published,
        since,
    ) = row
    stored = as_json(columns)
    return Record(
        srn=srn,
        convention=convention.name,
        source=source_from_dict(as_json(source)),
        metadata=as_json(metadata),
        columns={
            c.name: parse_column_value(c.type, stored.get(c.name)) for c in convention.columns
        },
        version=version,
        published_at=as_datetime(published),
        updated_at=as_datetime(since),
        data_source=data_source,
        extractor_version=extractor_version,
        raw_sha256=_hex(raw_sha),
    )


def raw_payload(row: tuple[Any, ...]) -> RawPayload:
    (
        ident,
        source,
        entity,
        source_id,
        sha,
        payload,
        received,
        processed,
        version,
        error,
        line,
        origin,
        *receipts,
    ) = row
    count, last_at, last_run, last_origin, last_line = receipts or (0, None, None, None, None)
    return RawPayload(
        id=ident,
        source=source,
        entity_type=entity,
        source_id=source_id,
        sha256=bytes(sha).hex(),
        payload=bytes(payload),
        received_at=as_datetime(received),
        processed_at=as_datetime(processed) if processed is not None else None,
        extractor_version=version,
        error=error,
        line=line,
        origin=origin,
        receipts=count or 0,
        last_received_at=None if last_at is None else as_datetime(last_at),
        last_run_srn=last_run,
        last_origin=last_origin,
        last_line=last_line,
    )


def quarantine_entry(row: tuple[Any, ...]) -> QuarantineEntry:
    ident, source, sha, payload, line, origin, reason, received, status = row
    return QuarantineEntry(
        id=ident,
        source=source,
        sha256=bytes(sha).hex(),
        payload=bytes(payload),
        line=line,
        origin=origin,
        reason=reason,
        received_at=as_datetime(received),
        status=status,
    )
