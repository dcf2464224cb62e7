"""The pure geometry code: measures (geodesic where said), validity reasons, the box."""

from __future__ import annotations

import math
import sys

import pytest
import shapely
import shapely.geometry
from hypothesis import given
from hypothesis import strategies as st

from ingestry.domain.errors import QueryError
from ingestry.domain.geometry import BBox, parse_bbox
from ingestry.extract.coerce import CoercionError
from ingestry.extract.geometry import box_geometry, haversine_m, intersects, measures

lon = st.floats(-180, 180, allow_nan=False)
lat = st.floats(-90, 90, allow_nan=False)


@given(x=lon, y=lat)
def test_a_point_measures_as_shapely_would(x: float, y: float) -> None:
    doc = {"type": "Point", "coordinates": [x, y]}
    shape = shapely.geometry.shape(doc)
    point = shape.representative_point()
    assert measures(doc) == (*shape.bounds, point.x, point.y, None, None)


def test_lines_and_polygons_are_measured_on_the_sphere() -> None:
    # a quarter of the equator: R * pi / 2
    quarter = {"type": "MultiLineString", "coordinates": [[[0, 0], [45, 0]], [[45, 0], [90, 0]]]}
    assert measures(quarter)[6] == pytest.approx(6_371_008.8 * math.pi / 2)
    # lon 0..90 E, lat 0..90 N (edges along the meridians and parallels, straight in
    # lon/lat as RFC 7946 draws them): an eighth of the sphere, 4 pi R^2 / 8
    octant = {"type": "Polygon", "coordinates": [[[0, 0], [90, 0], [90, 90], [0, 90], [0, 0]]]}
    assert measures(octant)[7] == pytest.approx(4 * math.pi * 6_371_008.8**2 / 8, rel=1e-9)
    holed = {
        "type": "Polygon",
        "coordinates": [
            [[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]],
            [[0.5, 0.5], [1.5, 0.5], [1.5, 1.5], [0.5, 1.5], [0.5, 0.5]],
        ],
    }
    outer = {"type": "Polygon", "coordinates": [holed["coordinates"][0]]}
    hole = {"type": "Polygon", "coordinates": [holed["coordinates"][1]]}
    area = measures(holed)[7]
    assert area == pytest.approx(measures(outer)[7] - measures(hole)[7])  # type: ignore[operator]
    x, y = measures(holed)[4:6]
    assert not (0.5 < x < 1.5 and 0.5 < y < 1.5)  # on the polygon, not in its hole
    collection = {"type": "GeometryCollection", "geometries": [outer, quarter]}
    assert measures(collection)[6:] == (measures(quarter)[6], measures(outer)[7])


def test_haversine_is_symmetric_and_zero_on_the_spot() -> None:
    a, b = (2.35, 48.86), (-0.13, 51.51)  # Paris, London: ~344 km
    assert haversine_m(a, b) == haversine_m(b, a) == pytest.approx(343_900, rel=2e-3)
    assert haversine_m(a, a) == 0


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
         "Self-intersection"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "unclosed ring"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "needs 4"),
        ({"type": "LineString", "coordinates": [[0, 0], [math.nan, 1]]}, "not a finite number"),
        ({"type": "Point", "coordinates": [math.inf, 1]}, "not a finite number"),
        ({"type": "LineString", "coordinates": [[0, 0]]}, "invalid geometry"),
        ({"type": "Polygon", "coordinates": []}, "empty"),
        ({"type": "Blob", "coordinates": [1, 2]}, "invalid geometry"),
    ],
)  # fmt: skip
def test_invalid_geometries_say_why(doc: dict[str, object], reason: str) -> None:
    with pytest.raises(CoercionError, match=reason):
        measures(doc)


def test_boxes_parse_and_degenerate_boxes_are_lines_or_points() -> None:
    assert parse_bbox(" -10, 40 ,5,52.5") == BBox(-10, 40, 5, 52.5)
    for text in ("1,2,3", "a,b,c,d", "nan,0,1,1", "2,0,1,1"):
        with pytest.raises(QueryError):
            parse_bbox(text)
    assert box_geometry(BBox(1, 1, 1, 1)).geom_type == "Point"
    assert box_geometry(BBox(0, 0, 0, 3)).geom_type == "LineString"
    line = {"type": "LineString", "coordinates": [[-1, 1], [1, 1]]}
    assert intersects(line, BBox(0, 0, 0, 3))
    assert not intersects(line, BBox(2, 0, 2, 3))


def test_points_need_no_shapely_and_other_shapes_say_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "shapely", None)  # as on a base install
    assert measures({"type": "Point", "coordinates": [1, 2]})[:2] == (1.0, 2.0)
    with pytest.raises(CoercionError, match=r"pip install 'ingestry\[geo\]'"):
        measures({"type": "LineString", "coordinates": [[0, 0], [1, 1]]})
