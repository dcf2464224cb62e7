"""Record upserts on PostgreSQL: COPY a batch into staging, then two statements a round.

A batch is split into rounds (the n-th occurrence of an identity in the batch goes to
round n), because one statement cannot touch a row twice. Each round runs:

1. INSERT … SELECT … WHERE NOT EXISTS … ORDER BY identity ON CONFLICT DO NOTHING
   RETURNING identity: the new records (version 1). The anti-join spares existing rows
   the casts (jsonb parsing is most of an insert's cost), so a re-ingest is cheap; ON
   CONFLICT covers a key another transaction inserts at the same moment: it waits for
   that one, then counts as existing.
2. UPDATE … FROM a CTE that selects the existing rows whose content_hash differs,
   ORDER BY identity FOR UPDATE: the locked rows are copied into record_versions (a
   second CTE) and updated to version + 1 in the same statement.

Why not a single `INSERT … ON CONFLICT DO UPDATE` with the history CTE beside it: a row
another writer inserts after the statement's snapshot is invisible to the CTE but
still updated by ON CONFLICT, so its first version would never reach the history.
Inserting first, then updating under a fresh snapshot that sees every key, closes
that gap. Rows are locked in identity order (COLLATE "C", the index order) in both
statements, so concurrent writers of overlapping batches queue instead of deadlocking.
Both statements are driven by the staging table: index probes per staged row, so the
cost grows with the batch, never with the table.

A batch of records that are all new (a first ingest) skips all this: `direct` COPYs it
into the table in identity order (binary, typed: see `binary`), under a savepoint; if a
key exists after all (another writer, or a guess gone wrong) the unique index refuses
the COPY, the savepoint is rolled back and the batch takes the path above.

New records' changes-feed rows (`adapters.sql.changes`) are written here, not by a
trigger: the insert statement adds them from its RETURNING ids, a direct COPY from the
ids the writer drew for it (see `feed`). An AFTER INSERT trigger over a transition
table copied every whole new row (metadata included, ~1.3 kB on the benchmark) into a
tuplestore to read two numbers back (bench/README.md, "PostgreSQL server CPU").
"""

from __future__ import annotations

from dataclasses import dataclass

from ingestry.adapters.postgres.binary import column_types, converters
from ingestry.adapters.postgres.feed import XID
from ingestry.adapters.postgres.probe import changed_records
from ingestry.adapters.postgres.staging import Stage, record_stage, stage_column
from ingestry.adapters.postgres.wire import RECORD_HEAD, RECORD_TAIL
from ingestry.adapters.sql.conventions import table_name
from ingestry.adapters.sql.names import literal
from ingestry.adapters.sql.types import COLUMN_TYPES, Convert
from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.records import SRN_PREFIX

_ENVELOPE = (
    "source_type, source_id, source, data_source, metadata, content_hash,"
    " extractor_version, raw_sha256, upstream, version, published_at, updated_at"
)
#: The envelope's wire types in binary COPY (`direct`).
_ENVELOPE_TYPES = [
    "text", "text", "jsonb", "text", "jsonb", "bytea", "text", "bytea", "text", "int4",
    "timestamptz", "timestamptz",
]  # fmt: skip

#: Python's quote(id, safe=""): unreserved ASCII stays, every other UTF-8 byte is %XX.
_QUOTED_ID = (
    "CASE WHEN {id} ~ '^[A-Za-z0-9_.~-]*$' THEN {id} ELSE (SELECT string_agg("
    "CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122"
    " OR b IN (45, 46, 95, 126) THEN chr(b) ELSE '%%' || upper(lpad(to_hex(b), 2, '0'))"
    " END, '' ORDER BY i) FROM (SELECT i, get_byte(convert_to({id}, 'UTF8'), i) AS b"
    " FROM generate_series(0, octet_length({id}) - 1) AS i) AS bytes) END"
)


def srn_sql(convention: str, alias: str) -> str:
    """SQL computing `record_srn(convention, source_type, upstream, source_id)`; the
    staged `srn` wins where Python computed it (identities that needed escaping for
    PostgreSQL text)."""
    upstream = _QUOTED_ID.format(id=f"{alias}.upstream")
    quoted = _QUOTED_ID.format(id=f"{alias}.source_id")
    prefix = f"'{SRN_PREFIX}{convention}:'"
    return (
        f"COALESCE({alias}.srn, {prefix} || {alias}.source_type || ':' || {upstream}"
        f" || ':' || {quoted})"
    )


def _history_value(column: ColumnSpec) -> str:
    """A column's value in record_versions.columns, matching what SQLite's json_object
    stores: decimals as exact text, floats as exact numbers (text → jsonb keeps every
    digit), timestamps as ISO 8601 text (the session runs in UTC)."""
    ref = f't."{column.name}"'
    if column.type is ColumnType.DECIMAL:
        return f"{ref}::text"
    if column.type is ColumnType.FLOAT:
        return f"{ref}::text::jsonb"
    return ref


@dataclass(frozen=True, slots=True)
class RecordSQL:
    """The statements of one convention's record table, built once per convention."""

    columns: tuple[str, ...]
    stage: Stage
    insert: str
    update: str
    changed: str
    direct: str  # envelope, declared columns, then id (drawn by the writer)
    direct_types: list[str]
    direct_converters: tuple[tuple[int, Convert], ...]
    direct_wire: str  # the same COPY with version and moments last (see `wire`)

    @classmethod
    def of(cls, convention: Convention) -> RecordSQL:
        stage = record_stage(convention)
        table = f'"{table_name(convention.name)}"'
        cols = [f'"{c.name}"' for c in convention.columns]
        casts = [
            f's."{stage_column(c.name)}"{COLUMN_TYPES[c.type].cast}' for c in convention.columns
        ]
        insert = (
            f"INSERT INTO {table} ({', '.join([_ENVELOPE, *cols])})"
            " SELECT s.source_type, s.source_id, s.source::jsonb, s.data_source,"
            " s.metadata::jsonb, s.content_hash, s.extractor_version, s.raw_sha256, s.upstream,"
            " 1, COALESCE(s.published_at::timestamptz, %(now)s),"
            " COALESCE(s.updated_at::timestamptz, %(now)s)"
            + "".join(f", {c}" for c in casts)
            + f' FROM "{stage.name}" s'
            " WHERE s.round = %(round)s AND NOT EXISTS (SELECT FROM"
            f" {table} x WHERE x.source_type = s.source_type AND x.upstream = s.upstream"
            " AND x.source_id = s.source_id)"
            " ORDER BY s.source_type, s.upstream, s.source_id"
            " ON CONFLICT (source_type, upstream, source_id) DO NOTHING"
            " RETURNING id, source_type, upstream, source_id"
        )
        insert = (
            f"WITH i AS ({insert}), f AS (INSERT INTO record_changes"
            " (xid, convention, record_id, version)"
            f" SELECT {XID}, {literal(convention.name)}, id, 1 FROM i ORDER BY id)"
            " SELECT source_type, upstream, source_id FROM i"
        )
        pairs = ", ".join(f"'{c.name}', {_history_value(c)}" for c in convention.columns)
        sets = "".join(
            f", {col} = o.{cast.removeprefix('s.')}" for col, cast in zip(cols, casts, strict=True)
        )
        update = (
            "WITH o AS ("
            " SELECT t.id, t.version AS old_version, t.source AS old_source,"
            " t.data_source AS old_data_source, t.metadata AS old_metadata,"
            " t.content_hash AS old_content_hash, t.extractor_version AS old_extractor_version,"
            " t.raw_sha256 AS old_raw_sha256, t.published_at AS old_published_at,"
            f" t.updated_at AS old_updated_at, jsonb_build_object({pairs}) AS old_columns, s.*"
            f' FROM "{stage.name}" s JOIN {table} t'
            " ON t.source_type = s.source_type AND t.upstream = s.upstream"
            " AND t.source_id = s.source_id"
            " WHERE s.round = %(round)s AND t.content_hash <> s.content_hash"
            " ORDER BY s.source_type, s.upstream, s.source_id FOR UPDATE OF t"
            "), history AS ("
            " INSERT INTO record_versions (srn, version, convention, source, data_source,"
            " metadata, columns, content_hash, extractor_version, raw_sha256, published_at,"
            " version_at, superseded_at)"
            f" SELECT {srn_sql(convention.name, 'o')}, o.old_version, '{convention.name}',"
            " o.old_source, o.old_data_source, o.old_metadata, o.old_columns,"
            " o.old_content_hash, o.old_extractor_version, o.old_raw_sha256,"
            " o.old_published_at, o.old_updated_at, COALESCE(o.updated_at::timestamptz, %(now)s)"
            " FROM o"
            f") UPDATE {table} t SET source = o.source::jsonb, data_source = o.data_source,"
            " metadata = o.metadata::jsonb, content_hash = o.content_hash,"
            " extractor_version = o.extractor_version, raw_sha256 = o.raw_sha256,"
            " version = o.old_version + 1,"
            f" updated_at = COALESCE(o.updated_at::timestamptz, %(now)s){sets}"
            " FROM o WHERE t.id = o.id RETURNING t.source_type, t.upstream, t.source_id, t.version"
        )
        direct = f"COPY {table} ({', '.join([_ENVELOPE, *cols, 'id'])}) FROM STDIN (FORMAT BINARY)"
        direct_wire = (
            f"COPY {table} ({', '.join([RECORD_HEAD, *cols, RECORD_TAIL])})"
            " FROM STDIN (FORMAT BINARY)"
        )
        return cls(
            convention.column_names,
            stage,
            insert,
            update,
            changed_records(convention),
            direct,
            [*_ENVELOPE_TYPES, *column_types(convention), "int8"],
            converters(convention),
            direct_wire,
        )
