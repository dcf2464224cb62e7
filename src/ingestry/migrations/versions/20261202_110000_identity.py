"""Record identity includes the upstream (data source or node)

A record is one per (convention, provenance type, upstream, id): the upstream is the
data source of a harvest (`upstream_source`), the node of a fork or an import
(`source_node`), empty for a deposition. Every record table (`records_<convention>`)
gains `upstream`, filled from each record's provenance, and its identity key becomes
`UNIQUE (source_type, upstream, source_id)`. The srn spells the upstream too
(`srn:ingestry:record:{convention}:{type}:{upstream}:{id}`), so every srn stored
beside a record (history, outbox events, hook runs, features) is rewritten to the new
spelling: the old-to-new map is computed in Python (percent-encoding, and ids that
PostgreSQL stores escaped), kept in a temp table, and applied with one UPDATE per table.
History of a record that no longer exists is mapped from its own provenance.

On SQLite, declared `json` and `geometry` columns also get TEXT affinity: SQLAlchemy's
JSON type is NUMERIC there, which turned a JSON number (a 30-digit integer) into a
REAL. Values stored as integers become their exact text again; values already stored
as REAL stay as rounded as they were.

Revision ID: 20261202_110000
Revises: 20261202_100000
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from alembic import op

from ingestry.domain.records import SRN_PREFIX, spell_srn
from ingestry.extract.jsonio import loads

revision = "20261202_110000"
down_revision = "20261202_100000"
branch_labels = None
depends_on = None

#: Tables whose `srn` column names a record (record_versions' is part of its key).
SRN_TABLES = ("record_versions", "record_events", "hook_runs", "record_features")
MAP = "ingestry_srn_map"
CHUNK = 10_000

_UPSTREAM_SQL = {
    "postgresql": (
        "COALESCE(CASE source_type WHEN 'harvest' THEN source->>'upstream_source'"
        " WHEN 'fork' THEN source->>'source_node' WHEN 'import' THEN source->>'source_node'"
        " END, '')"
    ),
    "sqlite": (
        "COALESCE(CASE source_type WHEN 'harvest' THEN json_extract(source, '$.upstream_source')"
        " WHEN 'fork' THEN json_extract(source, '$.source_node')"
        " WHEN 'import' THEN json_extract(source, '$.source_node') END, '')"
    ),
}


def _old_srn(convention: str, source_type: str, source_id: str) -> str:
    """The spelling before this revision: no upstream."""
    return f"{SRN_PREFIX}{convention}:{source_type}:{quote(source_id, safe='')}"


def _record_tables(bind: sa.Connection) -> list[str]:
    inspector = sa.inspect(bind)
    found = []
    for name in inspector.get_table_names():
        if name.startswith("records_"):
            columns = {c["name"] for c in inspector.get_columns(name)}
            if {"source_type", "source_id", "source"} <= columns:
                found.append(name)
    return sorted(found)


def _text_columns(bind: sa.Connection, table: str) -> list[str]:
    """Declared json/geometry columns of a record table (from the convention catalog)."""
    rows = bind.execute(
        sa.text(
            "SELECT name FROM convention_columns WHERE convention = :c"
            " AND type IN ('json', 'geometry')"
        ),
        {"c": table.removeprefix("records_")},
    )
    present = {c["name"] for c in sa.inspect(bind).get_columns(table)}
    return [str(name) for (name,) in rows if name in present]


def upgrade() -> None:
    bind = op.get_bind()
    tables = _record_tables(bind)
    for table in tables:
        if bind.dialect.name == "postgresql":
            _add_upstream_postgres(table)
        else:
            _add_upstream_sqlite(bind, table)
        op.execute(
            f'UPDATE "{table}" SET upstream = {_UPSTREAM_SQL[bind.dialect.name]}'
            " WHERE source_type <> 'deposition'"
        )
    _rewrite_srns(bind, tables, _upgrade_map)


def _add_upstream_postgres(table: str) -> None:
    op.execute(f'ALTER TABLE "{table}" ADD COLUMN upstream text COLLATE "C" NOT NULL DEFAULT \'\'')
    op.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "uq_{table}_identity"')
    op.execute(
        f'ALTER TABLE "{table}" ADD CONSTRAINT "uq_{table}_identity"'
        " UNIQUE (source_type, upstream, source_id)"
    )


def _add_upstream_sqlite(bind: sa.Connection, table: str) -> None:
    """SQLite cannot drop a constraint: the table is rebuilt (Alembic's batch mode
    copies it, indexes included)."""
    json_columns = _text_columns(bind, table)
    with op.batch_alter_table(table, recreate="always") as batch:
        batch.add_column(sa.Column("upstream", sa.Text, nullable=False, server_default=""))
        batch.drop_constraint(f"uq_{table}_identity", type_="unique")
        batch.create_unique_constraint(
            f"uq_{table}_identity", ["source_type", "upstream", "source_id"]
        )
        for name in json_columns:
            batch.alter_column(name, type_=sa.Text())


def downgrade() -> None:
    bind = op.get_bind()
    tables = _record_tables(bind)
    for table in tables:
        clash = bind.execute(
            sa.text(
                f'SELECT source_type, source_id FROM "{table}"'
                " GROUP BY source_type, source_id HAVING count(*) > 1 LIMIT 1"
            )
        ).first()
        if clash is not None:
            raise RuntimeError(
                f"cannot downgrade below 20261202_110000: {table} holds records that differ "
                f"only by their upstream (e.g. {clash[0]} id {clash[1]!r}); the old schema "
                "has one record per (type, id)"
            )
    _rewrite_srns(bind, tables, _downgrade_map)
    for table in tables:
        with op.batch_alter_table(table, recreate="auto") as batch:
            batch.drop_constraint(f"uq_{table}_identity", type_="unique")
            batch.create_unique_constraint(f"uq_{table}_identity", ["source_type", "source_id"])
            batch.drop_column("upstream")


# --- srns ---------------------------------------------------------------------------


def _rewrite_srns(bind: sa.Connection, tables: list[str], pairs: Any) -> None:
    """Fill the map (old srn → new srn) from `pairs(bind, tables)`, then rewrite every
    srn column that holds a mapped srn."""
    op.execute(f"CREATE TEMP TABLE {MAP} (old text PRIMARY KEY, new text NOT NULL)")
    insert = sa.text(f"INSERT INTO {MAP} (old, new) VALUES (:old, :new) ON CONFLICT DO NOTHING")
    chunk: list[dict[str, str]] = []
    for old, new in pairs(bind, tables):
        chunk.append({"old": old, "new": new})
        if len(chunk) >= CHUNK:
            bind.execute(insert, chunk)
            chunk = []
    if chunk:
        bind.execute(insert, chunk)
    for table in SRN_TABLES:
        if bind.dialect.name == "postgresql":
            op.execute(f"UPDATE {table} t SET srn = m.new FROM {MAP} m WHERE t.srn = m.old")
        else:
            op.execute(
                f"UPDATE {table} SET srn = (SELECT new FROM {MAP} WHERE old = {table}.srn)"
                f" WHERE srn IN (SELECT old FROM {MAP})"
            )
    op.execute(f"DROP TABLE {MAP}")


def _stored(bind: sa.Connection, value: Any) -> str:
    """Text as the backend stored it → the text itself (PostgreSQL escapes U+0000)."""
    text = str(value)
    if bind.dialect.name != "postgresql":
        return text
    # imported here: the postgres package needs psycopg, which a SQLite install lacks
    from ingestry.adapters.postgres.text import unescape_text

    return unescape_text(text)


def _rows(bind: sa.Connection, sql: str) -> Iterator[Any]:
    result = bind.execute(sa.text(sql), execution_options={"stream_results": True})
    while rows := result.fetchmany(CHUNK):
        yield from rows


def _identities(bind: sa.Connection, tables: list[str]) -> Iterator[tuple[str, str, str, str]]:
    """(convention, source type, upstream, source id) of every record."""
    for table in tables:
        convention = table.removeprefix("records_")
        sql = f'SELECT source_type, upstream, source_id FROM "{table}"'
        for kind, upstream, source_id in _rows(bind, sql):
            yield convention, kind, _stored(bind, upstream), _stored(bind, source_id)


def _upgrade_map(bind: sa.Connection, tables: list[str]) -> Iterator[tuple[str, str]]:
    for convention, kind, up, sid in _identities(bind, tables):
        yield _old_srn(convention, kind, sid), spell_srn(convention, kind, up, sid)
    # history of records that are gone: their provenance is in the history row
    source = "source::text" if bind.dialect.name == "postgresql" else "source"
    orphans = (
        f"SELECT srn, convention, {source} FROM record_versions"
        f" WHERE srn NOT IN (SELECT old FROM {MAP})"
    )
    for srn, convention, provenance in list(_rows(bind, orphans)):  # read before the map grows
        found = _from_provenance(bind, convention, provenance)
        if found is not None and found[0] == srn:
            yield found


def _from_provenance(bind: sa.Connection, convention: str, text: str) -> tuple[str, str] | None:
    doc = loads(text)
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        return None
    kind = str(doc.get("type"))
    upstream = doc.get("upstream_source" if kind == "harvest" else "source_node") or ""
    sid = _stored(bind, doc["id"])
    up = "" if kind == "deposition" else _stored(bind, upstream)
    return _old_srn(convention, kind, sid), spell_srn(convention, kind, up, sid)


def _downgrade_map(bind: sa.Connection, tables: list[str]) -> Iterator[tuple[str, str]]:
    for convention, kind, up, sid in _identities(bind, tables):
        yield spell_srn(convention, kind, up, sid), _old_srn(convention, kind, sid)
