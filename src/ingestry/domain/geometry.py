"""Geometry measures and the bounding-box filter, as values.

A `geometry` column (GeoJSON, RFC 7946: longitude/latitude on WGS 84) gets typed
columns derived from it at extraction, named `{column}_{measure}`: the bounding box
(`minx, miny, maxx, maxy`, in the geometry's own degrees), a representative point
(`x, y`: a point guaranteed to lie on the geometry), and two geodesic measures,
`length_m` (lines) and `area_m2` (polygons), in metres on the sphere. See docs/geo.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from ingestry.domain.errors import QueryError


class Measure(StrEnum):
    """What is derived from a geometry column; the value is the column name's suffix."""

    MINX = "minx"
    MINY = "miny"
    MAXX = "maxx"
    MAXY = "maxy"
    X = "x"
    Y = "y"
    LENGTH = "length_m"
    AREA = "area_m2"


#: The derived columns of one geometry column, in this order.
MEASURES: tuple[Measure, ...] = tuple(Measure)


def measure_column(geometry: str, measure: Measure) -> str:
    """`route`, Measure.MINX → `route_minx`."""
    return f"{geometry}_{measure.value}"


@dataclass(frozen=True, slots=True)
class BBox:
    """A box in the geometry's coordinates (degrees for GeoJSON), edges included."""

    minx: float
    miny: float
    maxx: float
    maxy: float


@dataclass(frozen=True, slots=True)
class BBoxFilter:
    """Keep records whose geometry in `column` intersects `box` (touching counts)."""

    column: str
    box: BBox


def parse_bbox(text: str) -> BBox:
    """`'-10,40,5,52.5'` → BBox; QueryError says what is wrong and how to write it."""
    parts = [p.strip() for p in text.split(",")]
    how = "write --bbox MINX,MINY,MAXX,MAXY (four numbers, e.g. -10,40,5,52.5)"
    if len(parts) != 4:
        raise QueryError(f"cannot read the box {text!r}: {how}")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise QueryError(f"cannot read the box {text!r}: {how}") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise QueryError(f"the box {text!r} has a value that is not a finite number: {how}")
    if minx > maxx or miny > maxy:
        raise QueryError(
            f"the box {text!r} is inverted: MINX must be <= MAXX and MINY <= MAXY ({how})"
        )
    return BBox(minx, miny, maxx, maxy)
