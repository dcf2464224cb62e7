"""Geometry at extraction: validate a GeoJSON geometry, derive its measures, and test
it against a box exactly. Pure (shapely, imported on first use, so a convention without
geometry columns needs no shapely: `pip install 'ingestry[geo]'`).

Which measures are geodesic (docs/geo.md): the bounding box and the representative
point are in the geometry's own coordinates (degrees); `length_m` and `area_m2` are
geodesic, on a sphere of the mean Earth radius (haversine for segments, the spherical
excess of each ring for areas; within 0.5 % of the WGS 84 ellipsoid), since planar
degrees² mean nothing and pyproj would be a large dependency for a 0.5 % gain.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ingestry.domain.geometry import BBox
from ingestry.extract.coerce import CoercionError
from ingestry.extract.jsonio import loads

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

#: The mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8

#: The measures of one geometry, in `domain.geometry.MEASURES` order.
Measures = tuple[float, float, float, float, float, float, float | None, float | None]

_LINES = frozenset({"LineString", "MultiLineString"})
_POLYGONS = frozenset({"Polygon", "MultiPolygon"})


def _shapely() -> Any:
    try:
        import shapely
        import shapely.geometry
        import shapely.validation
    except ImportError:  # pragma: no cover - the geo extra is in dev and all
        raise CoercionError("geometry columns need shapely: pip install 'ingestry[geo]'") from None
    return shapely


def measures(geojson: str | dict[str, Any]) -> Measures:
    """Validate a GeoJSON geometry and derive its measures; CoercionError names why a
    geometry is invalid (unclosed ring, NaN coordinate, or shapely's own reason)."""
    doc = loads(geojson) if isinstance(geojson, str) else geojson
    _check_positions(doc)
    shape = _shape(doc)
    if shape.is_empty:
        raise CoercionError("invalid geometry: it is empty (no coordinates)")
    minx, miny, maxx, maxy = shape.bounds
    point = shape.representative_point()
    kind = doc["type"]
    length = _length(doc) if kind in _LINES or kind == "GeometryCollection" else None
    area = _area(doc) if kind in _POLYGONS or kind == "GeometryCollection" else None
    return (minx, miny, maxx, maxy, point.x, point.y, length, area)


def intersects(geojson: str | dict[str, Any], box: BBox) -> bool:
    """Does the geometry intersect the box (edges included)? Exactly, with shapely."""
    shapely = _shapely()
    doc = loads(geojson) if isinstance(geojson, str) else geojson
    shape = shapely.geometry.shape(doc)
    return bool(shapely.intersects(shape, box_geometry(box)))


def wkb(geojson: str | dict[str, Any]) -> bytes:
    """The geometry as ISO WKB (what GeoParquet stores)."""
    shapely = _shapely()
    doc = loads(geojson) if isinstance(geojson, str) else geojson
    return bytes(shapely.to_wkb(shapely.geometry.shape(doc), flavor="iso"))


def box_geometry(box: BBox) -> BaseGeometry:
    """The box as a geometry of its true dimension: a box of zero width or height is a
    line and of both a point (a collapsed polygon is invalid, and GEOS and PostGIS answer
    differently for it; PostGIS's `ST_Envelope` does the same)."""
    shapely = _shapely()
    low, high = (box.minx, box.miny), (box.maxx, box.maxy)
    if low == high:
        return shapely.Point(low)
    if box.minx == box.maxx or box.miny == box.maxy:
        return shapely.LineString([low, high])
    return shapely.box(box.minx, box.miny, box.maxx, box.maxy)


def _shape(doc: dict[str, Any]) -> BaseGeometry:
    shapely = _shapely()
    try:
        shape: BaseGeometry = shapely.geometry.shape(doc)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise CoercionError(f"invalid geometry: {exc or type(exc).__name__}") from None
    except shapely.errors.GEOSException as exc:
        raise CoercionError(f"invalid geometry: {exc}") from None
    if not shape.is_valid:
        reason = shapely.validation.explain_validity(shape)
        raise CoercionError(f"invalid geometry: {reason}")
    return shape


def _check_positions(doc: dict[str, Any]) -> None:
    """What shapely would mend silently (an unclosed ring is closed for us) or report
    vaguely (NaN): refused here, with the ring or position that is wrong."""
    kind = doc.get("type")
    if kind == "GeometryCollection":
        for member in doc.get("geometries") or ():
            if not isinstance(member, dict):
                raise CoercionError("invalid geometry: a collection member is not an object")
            _check_positions(member)
        return
    coords = doc.get("coordinates")
    for position in _positions(coords):
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in position):
            raise CoercionError(
                f"invalid geometry: coordinate {list(position)!r} is not a finite number"
            )
    for ring in _rings(kind, coords):
        if len(ring) < 4:
            raise CoercionError(f"invalid geometry: a ring has {len(ring)} positions, needs 4")
        if list(ring[0]) != list(ring[-1]):
            raise CoercionError(
                f"invalid geometry: unclosed ring (starts at {ring[0]!r}, ends at {ring[-1]!r})"
            )


def _positions(coords: Any) -> Iterable[Sequence[Any]]:
    if isinstance(coords, list) and coords and not isinstance(coords[0], list):
        yield coords
    elif isinstance(coords, list):
        for inner in coords:
            yield from _positions(inner)


def _rings(kind: Any, coords: Any) -> Iterable[Sequence[Any]]:
    if kind == "Polygon" and isinstance(coords, list):
        yield from coords
    elif kind == "MultiPolygon" and isinstance(coords, list):
        for polygon in coords:
            yield from polygon if isinstance(polygon, list) else ()


def _length(doc: dict[str, Any]) -> float:
    kind = doc["type"]
    if kind == "LineString":
        return _line_length(doc["coordinates"])
    if kind == "MultiLineString":
        return sum(_line_length(line) for line in doc["coordinates"])
    if kind == "GeometryCollection":
        return sum(_length(g) for g in doc["geometries"] if g["type"] in _LINES)
    return 0.0


def _line_length(line: Sequence[Sequence[float]]) -> float:
    return sum(haversine_m(a, b) for a, b in itertools.pairwise(line))


def haversine_m(a: Sequence[float], b: Sequence[float]) -> float:
    """The great-circle distance in metres between two (lon, lat) positions."""
    lon1, lat1, lon2, lat2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _area(doc: dict[str, Any]) -> float:
    kind = doc["type"]
    if kind == "Polygon":
        return _polygon_area(doc["coordinates"])
    if kind == "MultiPolygon":
        return sum(_polygon_area(p) for p in doc["coordinates"])
    if kind == "GeometryCollection":
        return sum(_area(g) for g in doc["geometries"] if g["type"] in _POLYGONS)
    return 0.0


def _polygon_area(rings: Sequence[Sequence[Sequence[float]]]) -> float:
    outer, *holes = (abs(ring_area_m2(r)) for r in rings)
    return max(0.0, outer - sum(holes))


def ring_area_m2(ring: Sequence[Sequence[float]]) -> float:
    """The signed area in m² a closed (lon, lat) ring encloses on the sphere (the
    spherical-excess sum of Chamberlain & Duquette, 2007)."""
    total = 0.0
    n = len(ring) - 1  # the ring is closed: the last position repeats the first
    for i in range(n):
        lon1, lat1 = ring[i][0], ring[i][1]
        lon2, lat2 = ring[(i + 1) % n][0], ring[(i + 1) % n][1]
        total += math.radians(lon2 - lon1) * (
            2 + math.sin(math.radians(lat1)) + math.sin(math.radians(lat2))
        )
    return total * EARTH_RADIUS_M**2 / 2
