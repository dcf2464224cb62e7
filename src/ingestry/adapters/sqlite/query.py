"""SQLite's spelling of record queries (see `adapters/sql/recordquery.py`).

Decimals are stored as their exact text on SQLite (its NUMERIC affinity would round
them), so they compare and sort as REAL: exact to 15 significant digits, which covers
every filter a user types; PostgreSQL compares them as `numeric`, exactly.
"""

from __future__ import annotations

import sqlite3

from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sql.recordquery import Dialect
from ingestry.adapters.sql.rows import select_records
from ingestry.adapters.sql.spatialnames import bounds, rtree_name
from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.geometry import BBox, BBoxFilter
from ingestry.extract.geometry import intersects


def _column(column: ColumnSpec) -> str:
    name = f'"{column.name}"'
    return f"CAST({name} AS REAL)" if column.type is ColumnType.DECIMAL else name


def _value(column: ColumnSpec, value: object) -> object:
    return float(str(value)) if column.type is ColumnType.DECIMAL else value


def _bbox(convention: Convention, where: BBoxFilter) -> tuple[str, list[object]]:
    """The R*Tree narrows (its 32-bit boxes are rounded outwards: never a miss), then
    `ingestry_intersects` (shapely, registered on the connection) decides exactly."""
    table = table_name(convention.name)
    box = where.box
    minx, maxx, miny, maxy = (f'"{c}"' for c in bounds(where.column))
    clause = (
        f'id IN (SELECT id FROM "{rtree_name(table, where.column)}"'
        " WHERE minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)"
        # a geometry whose own bbox lies inside the box intersects it: no parse needed
        f" AND ({minx} >= ? AND {maxx} <= ? AND {miny} >= ? AND {maxy} <= ?"
        f' OR ingestry_intersects("{where.column}", ?, ?, ?, ?))'
    )
    inside = [box.minx, box.maxx, box.miny, box.maxy]
    corners = [box.minx, box.miny, box.maxx, box.maxy]
    return clause, [box.maxx, box.minx, box.maxy, box.miny, *inside, *corners]


def register_functions(conn: sqlite3.Connection) -> None:
    """SQL functions record queries use (shapely is imported on the first call)."""
    conn.create_function("ingestry_intersects", 5, _intersects, deterministic=True)


def _intersects(geojson: str | None, minx: float, miny: float, maxx: float, maxy: float) -> int:
    if geojson is None:
        return 0
    return int(intersects(geojson, BBox(minx, miny, maxx, maxy)))


SQLITE = Dialect(
    mark="?", column=_column, ordered=_column, value=_value, select=select_records, bbox=_bbox
)
