"""PostgreSQL's spelling of record queries (see `adapters/sql/recordquery.py`).

Text is compared and ordered bytewise (`COLLATE "C"`), as SQLite orders it, so a sorted
list is the same on both backends whatever the database's collation. A declared text
column's index is on that same expression (`sort_key` in `adapters/sql/conventions.py`):
the planner uses an index only for the collation it was built with, so equality is
spelled `COLLATE "C"` too (every deterministic collation agrees with bytes on it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ingestry.adapters.postgres.reads import select_records
from ingestry.adapters.postgres.text import escape_text
from ingestry.adapters.sql.names import table_name
from ingestry.adapters.sql.recordquery import Dialect
from ingestry.adapters.sql.spatialnames import bounds
from ingestry.adapters.sql.types import COLUMN_TYPES
from ingestry.domain.conventions import ColumnSpec, ColumnType, Convention
from ingestry.domain.geometry import BBoxFilter
from ingestry.domain.query import RecordQuery
from ingestry.domain.records import Record
from ingestry.extract.geometry import intersects


def _ordered(column: ColumnSpec) -> str:
    name = f'"{column.name}"'
    return f'{name} COLLATE "C"' if column.type is ColumnType.TEXT else name


def _value(column: ColumnSpec, value: object) -> object:
    if column.type is ColumnType.TEXT and isinstance(value, str):
        return escape_text(value)
    convert = COLUMN_TYPES[column.type].to_wire
    return convert(value) if convert is not None else value


def _bbox_columns(convention: Convention, where: BBoxFilter) -> tuple[str, list[object]]:
    """Without PostGIS: the derived bbox columns overlap the box. `minx` is bounded on
    both sides (it lies within the widest extent left of the box's `minx`), so its
    B-tree narrows, as `miny`'s does; the exact test is made on the rows read
    (`exact_rows`)."""
    table = f'"{table_name(convention.name)}"'
    minx, maxx, miny, maxy = (f'"{c}"' for c in bounds(where.column))
    box = where.box
    clause = (
        f"{minx} <= %s AND {maxx} >= %s AND {miny} <= %s AND {maxy} >= %s"
        f" AND {minx} >= %s - (SELECT coalesce(max({maxx} - {minx}), 0) FROM {table})"
        f" AND {miny} >= %s - (SELECT coalesce(max({maxy} - {miny}), 0) FROM {table})"
    )
    return clause, [box.maxx, box.minx, box.maxy, box.miny, box.minx, box.miny]


#: A box thinner than this (degrees) is also tested by its two corners (`_bbox_postgis`).
THIN = 1e-9


def _bbox_postgis(convention: Convention, where: BBoxFilter) -> tuple[str, list[object]]:
    """With PostGIS: the GiST index's own expression, intersected exactly by PostGIS
    with the box's envelope (a line or a point when the box has no width or height).
    GEOS 3.11 misses a polygon around a line thinner than ~1e-270 (a hypothesis find:
    x = 50, y from 0 to 6e-279, inside a triangle, said not to intersect it), so a box
    thinner than `THIN` is also tested by its two corners, which are robust points."""
    box = where.box
    shape = f'ST_GeomFromGeoJSON("{where.column}"::text)'
    corner = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)"
    clause = f"ST_Intersects({shape}, ST_Envelope(ST_MakeLine({corner}, {corner})))"
    params: list[object] = [box.minx, box.miny, box.maxx, box.maxy]
    if box.maxx - box.minx < THIN or box.maxy - box.miny < THIN:
        clause = (
            f"({clause} OR ST_Intersects({shape}, {corner}) OR ST_Intersects({shape}, {corner}))"
        )
        params += [box.minx, box.miny, box.maxx, box.maxy]
    return clause, params


POSTGRES = Dialect(
    mark="%s",
    column=_ordered,
    ordered=_ordered,
    value=_value,
    select=select_records,
    bbox=_bbox_columns,
    order_union=True,
)
#: The same, where PostGIS is installed (detected per store: `postgis_available`).
POSTGIS = replace(POSTGRES, bbox=_bbox_postgis)


def exact_box(where: BBoxFilter) -> Callable[..., bool]:
    """(geometry, minx, maxx, miny, maxy) → does it intersect the box? A geometry whose
    own bbox lies inside the box does without a parse; a point by its coordinates."""
    box = where.box

    def keep(geometry: object, *bbox: object) -> bool:
        if geometry is None:
            return False
        if all(isinstance(v, float) for v in bbox):
            minx, maxx, miny, maxy = (float(v) for v in bbox)  # type: ignore[arg-type]
            if box.minx <= minx and maxx <= box.maxx and box.miny <= miny and maxy <= box.maxy:
                return True
        return intersects(geometry, box)  # type: ignore[arg-type]

    return keep


def exact_filter(query: RecordQuery) -> Callable[[Record], bool] | None:
    """Without PostGIS, the bbox columns only narrow: shapely decides on each record."""
    where = query.bbox
    if where is None:
        return None

    names = bounds(where.column)
    exact = exact_box(where)

    def keep(record: Record) -> bool:
        return exact(record.columns.get(where.column), *(record.columns.get(n) for n in names))

    return keep
