"""Names of the spatial objects of geometry columns (see `spatial.py`), apart from it so
the read paths that only name them never import SQLAlchemy."""

from __future__ import annotations

from ingestry.domain.geometry import Measure, measure_column

#: The PostGIS function whose presence (on the search path) means "use PostGIS".
POSTGIS_PROBE = "SELECT to_regprocedure('st_geomfromgeojson(text)') IS NOT NULL"


def rtree_name(table: str, column: str) -> str:
    return f"{table}_{column}_rtree"


def gist_name(table: str, column: str) -> str:
    return f"gx_{table}_{column}"


def bounds(column: str) -> tuple[str, str, str, str]:
    """The derived bbox columns of a geometry column: minx, maxx, miny, maxy."""
    return tuple(  # type: ignore[return-value]
        measure_column(column, m) for m in (Measure.MINX, Measure.MAXX, Measure.MINY, Measure.MAXY)
    )
