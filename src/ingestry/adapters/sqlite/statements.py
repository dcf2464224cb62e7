"""The SQL of a convention's record table on SQLite, built once per convention."""

from __future__ import annotations

from ingestry.adapters.sql.names import table_name
from ingestry.domain.conventions import Convention


class RecordStatements:
    """The SQL of one convention's record table, built once per convention."""

    def __init__(
        self, columns: tuple[str, ...], into: str, update: str, history: str, lookup: str
    ) -> None:
        self.columns = columns
        #: `INSERT INTO t (cols)`, and how many values a row has (`multirow` adds them)
        self.into = into
        self.width = 12 + len(columns)
        table = into.split(" ", 3)[2]
        self.last_id = f"SELECT coalesce(max(id), 0) FROM {table}"
        self.changes = (
            "INSERT INTO record_changes (convention, record_id, version)"
            f" SELECT ?, id, version FROM {table} WHERE id > ? ORDER BY id"
        )
        self.update = update
        self.history = history
        self.lookup = lookup

    @classmethod
    def of(cls, convention: Convention) -> RecordStatements:
        table = f'"{table_name(convention.name)}"'
        cols = [f'"{c}"' for c in convention.column_names]
        envelope = (
            "source_type, upstream, source_id, source, data_source, metadata, content_hash,"
            " extractor_version, raw_sha256, version, published_at, updated_at"
        )
        names = ", ".join([envelope, *cols])
        into = f"INSERT INTO {table} ({names})"
        sets = ", ".join(
            [
                "source = ?, data_source = ?, metadata = ?, content_hash = ?,"
                " extractor_version = ?, raw_sha256 = ?, version = ?, updated_at = ?",
                *(f"{c} = ?" for c in cols),
            ]
        )
        where = "WHERE source_type = ? AND upstream = ? AND source_id = ?"
        update = f"UPDATE {table} SET {sets} {where}"
        pairs = ", ".join(f"'{c}', {q}" for c, q in zip(convention.column_names, cols, strict=True))
        history = (
            "INSERT INTO record_versions (srn, version, convention, source, data_source,"
            " metadata, columns, content_hash, extractor_version, raw_sha256, published_at,"
            f" version_at, superseded_at) SELECT ?, version, '{convention.name}', source,"
            f" data_source, metadata, json_object({pairs}), content_hash, extractor_version,"
            f" raw_sha256, published_at, updated_at, ? FROM {table} {where}"
        )
        lookup = (
            f"SELECT source_id, content_hash, version, id FROM {table}"
            " WHERE source_type = ? AND upstream = ? AND source_id IN (?*)"
        )
        return cls(convention.column_names, into, update, history, lookup)
