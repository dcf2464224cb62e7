"""The content digest of a store, the same SQL on SQLite and PostgreSQL.

Row counts of every table, and one sha256 over what identifies the content: each raw
payload's and quarantined payload's sha256, each record's identity, version and
content hash, each history row's content hash, read in primary-key order (ids survive
a backup and restore unchanged). Read inside the caller's transaction, so it is the
digest of the same snapshot the data files were written from.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa

from ingestry.domain.backups import ContentDigest

#: Per hashed table: the columns fed to the checksum, and the order they are read in.
HASHED: dict[str, tuple[str, str]] = {
    "raw_payloads": ("id, sha256", "id"),
    "quarantine": ("id, sha256", "id"),
    "record_versions": ("srn, version, content_hash", "srn, version"),
}
RECORD_COLUMNS = ("id, source_type, upstream, source_id, version, content_hash", "id")


def content_digest(conn: sa.Connection) -> ContentDigest:
    """The digest of the store `conn` sees (its default schema)."""
    names = sorted(sa.inspect(conn).get_table_names())
    tables = {name: _count(conn, name) for name in names}
    checksum = hashlib.sha256()
    for name in names:
        spec = HASHED.get(name) or (RECORD_COLUMNS if name.startswith("records_") else None)
        if spec is not None:
            _feed(conn, name, spec, checksum)
    return ContentDigest(tables, checksum.hexdigest())


def _count(conn: sa.Connection, table: str) -> int:
    return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())


def _feed(conn: sa.Connection, table: str, spec: tuple[str, str], into: hashlib._Hash) -> None:
    columns, order = spec
    into.update(f"\x1e{table}\x1f".encode())
    result = conn.execution_options(stream_results=True, yield_per=10_000).exec_driver_sql(
        f'SELECT {columns} FROM "{table}" ORDER BY {order}'
    )
    for row in result:
        for value in row:
            into.update(value if isinstance(value, bytes) else str(value).encode())
            into.update(b"\x1f")
        into.update(b"\x1e")


def schema_revision(conn: sa.Connection) -> str | None:
    """The Alembic revision of the store `conn` sees (None: not migrated)."""
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    value = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return None if value is None else str(value)


def holds_data(conn: sa.Connection) -> bool:
    """Whether any raw payload, quarantined payload, run or record is stored."""
    for name in sa.inspect(conn).get_table_names():
        if name in HASHED or name == "ingest_runs" or name.startswith("records_"):
            found = conn.exec_driver_sql(f'SELECT 1 FROM "{name}" LIMIT 1').first()
            if found is not None:
                return True
    return False
