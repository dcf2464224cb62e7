"""Spatial indexes of geometry columns, made with the record tables (docs/geo.md).

- SQLite: an R*Tree virtual table `{table}_{column}_rtree` (id = the record row's id,
  the derived bbox), kept in step by triggers on the record table, so every write path
  (batch upsert, publish, lifecycle, restore) feeds it without knowing it exists.
- PostgreSQL with PostGIS (`postgis_available`): a GiST index on the geometry itself,
  `ST_GeomFromGeoJSON(column::text)`; queries use the same expression.
- PostgreSQL without PostGIS: B-tree indexes on the derived `minx` and `miny` and on the
  widest extent (`maxx - minx`, `maxy - miny`), which bound a box query from both sides
  (see `adapters/postgres/query.py`).
"""

from __future__ import annotations

import sqlalchemy as sa

from ingestry.adapters.sql.spatialnames import POSTGIS_PROBE, bounds, gist_name, rtree_name
from ingestry.domain.conventions import ColumnSpec, Convention
from ingestry.domain.geometry import MEASURES, Measure, measure_column
from ingestry.extract.coerce import CoercionError
from ingestry.extract.geometry import measures


def postgis_available(conn: sa.Connection) -> bool:
    return bool(conn.execute(sa.text(POSTGIS_PROBE)).scalar())


def ensure_spatial(conn: sa.Connection, table: str, convention: Convention) -> None:
    """Create what is missing for each geometry column; idempotent."""
    columns = convention.geometry_columns
    if not columns:
        return
    for column in columns:
        backfill(conn, table, column.name)
    if conn.dialect.name == "sqlite":
        for column in columns:
            _sqlite_rtree(conn, table, column)
        return
    gist = postgis_available(conn)
    for column in columns:
        if gist:
            conn.execute(
                sa.text(
                    f'CREATE INDEX IF NOT EXISTS "{gist_name(table, column.name)}" ON "{table}"'
                    f' USING gist (ST_GeomFromGeoJSON("{column.name}"::text))'
                )
            )
        _bbox_indexes(conn, table, column)


def backfill(conn: sa.Connection, table: str, column: str) -> int:
    """Measure the geometries stored before their derived columns existed (a store
    upgraded in place: a simple source cannot be replayed), so `--bbox` finds them.
    Geometries that fail validation now keep null measures. Returns the rows filled."""
    minx = measure_column(column, Measure.MINX)
    text = f'"{column}"' if conn.dialect.name == "sqlite" else f'"{column}"::text'
    rows = conn.execute(
        sa.text(
            f'SELECT id, {text} FROM "{table}" WHERE "{column}" IS NOT NULL AND "{minx}" IS NULL'
        )
    ).all()
    names = [measure_column(column, m) for m in MEASURES]
    sets = ", ".join(f'"{n}" = :{m.name}' for n, m in zip(names, MEASURES, strict=True))
    values = []
    for row_id, geometry in rows:
        try:
            found = measures(geometry)
        except CoercionError:
            continue
        values.append(
            {"row_id": row_id, **{m.name: v for m, v in zip(MEASURES, found, strict=True)}}
        )
    if values:
        conn.execute(sa.text(f'UPDATE "{table}" SET {sets} WHERE id = :row_id'), values)
    return len(values)


def _bbox_indexes(conn: sa.Connection, table: str, column: ColumnSpec) -> None:
    minx, maxx, miny, maxy = bounds(column.name)
    for suffix, expr in (
        ("x", f'"{minx}"'),
        ("y", f'"{miny}"'),
        ("w", f'("{maxx}" - "{minx}")'),
        ("h", f'("{maxy}" - "{miny}")'),
    ):
        conn.execute(
            sa.text(
                f'CREATE INDEX IF NOT EXISTS "bx_{table}_{column.name}_{suffix}"'
                f' ON "{table}" ({expr})'
            )
        )


def _sqlite_rtree(conn: sa.Connection, table: str, column: ColumnSpec) -> None:
    rtree = rtree_name(table, column.name)
    minx, maxx, miny, maxy = bounds(column.name)
    exists = conn.execute(
        sa.text("SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
        {"n": f"{rtree}_ins"},
    ).scalar()
    if exists:
        return
    values = f'new.id, new."{minx}", new."{maxx}", new."{miny}", new."{maxy}"'
    statements = [
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{rtree}" USING rtree(id, minx, maxx, miny, maxy)',
        f'DELETE FROM "{rtree}"',
        f'INSERT INTO "{rtree}" SELECT id, "{minx}", "{maxx}", "{miny}", "{maxy}"'
        f' FROM "{table}" WHERE "{minx}" IS NOT NULL',
        f'CREATE TRIGGER "{rtree}_ins" AFTER INSERT ON "{table}"'
        f' WHEN new."{minx}" IS NOT NULL BEGIN INSERT INTO "{rtree}" VALUES ({values}); END',
        f'CREATE TRIGGER "{rtree}_upd" AFTER UPDATE OF "{minx}", "{maxx}", "{miny}", "{maxy}"'
        f' ON "{table}" BEGIN'
        f' DELETE FROM "{rtree}" WHERE id = old.id;'
        f' INSERT INTO "{rtree}" SELECT {values} WHERE new."{minx}" IS NOT NULL; END',
        f'CREATE TRIGGER "{rtree}_del" AFTER DELETE ON "{table}" BEGIN'
        f' DELETE FROM "{rtree}" WHERE id = old.id; END',
    ]
    for statement in statements:
        conn.execute(sa.text(statement))
