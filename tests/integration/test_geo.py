"""Geometry columns (issue 21 item 1): derived measures, invalid geometries quarantined,
and `--bbox` exact on SQLite (R*Tree), PostgreSQL with PostGIS (GiST) and without it
(indexed bbox columns), checked against shapely on a few thousand random shapes."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
import shapely
import shapely.geometry
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ingestry
from ingestry.adapters.postgres.url import libpq_url
from ingestry.domain.errors import QueryError
from ingestry.store import Store
from tests.backends import POSTGRES_DEFAULT, with_search_path
from tests.conftest import require_service

CONFIG = """\
database: {url}
conventions:
  place:
    columns:
      name: {{path: name, type: text}}
      shape: {{path: geometry, type: geometry}}
sources:
  places:
    strategy: raw
    convention: place
    rationale: geo tests
    format: jsonl
    id: id
"""

VARIANTS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
VARIANTS.append(pytest.param("postgis", marks=pytest.mark.postgres))


def _server() -> str:
    return require_service("PostgreSQL", "INGESTRY_TEST_POSTGRES_URL", POSTGRES_DEFAULT)


def _ensure_postgis(server: str) -> None:
    """PostGIS in its own schema `postgis`, so only schemas that put it on their search
    path see it (every other test runs the no-PostGIS path)."""
    with psycopg.connect(libpq_url(server), autocommit=True) as admin:
        try:
            admin.execute("CREATE SCHEMA IF NOT EXISTS postgis")
            admin.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA postgis")
        except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject):
            pass  # another test process made it at the same moment


@contextmanager
def _schema(server: str, *, postgis: bool) -> Iterator[str]:
    name = f"t_geo_{random.getrandbits(40):010x}"
    with psycopg.connect(libpq_url(server), autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{name}"')
    try:
        yield with_search_path(server, f"{name},postgis" if postgis else name)
    finally:
        with psycopg.connect(libpq_url(server), autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA "{name}" CASCADE')


@pytest.fixture(params=VARIANTS)
def geo_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    variant = str(request.param)
    config = tmp_path / "ingestry.yaml"

    @contextmanager
    def url() -> Iterator[str]:
        if variant == "sqlite":
            yield "sqlite:///data/ingestry.db"
            return
        server = _server()
        if variant == "postgis":
            _ensure_postgis(server)
        with _schema(server, postgis=variant == "postgis") as found:
            yield found

    with url() as database:
        config.write_text(CONFIG.format(url=database), encoding="utf-8")
        with ingestry.open(config) as store:
            yield store


def _doc(ident: str, geometry: dict[str, Any]) -> dict[str, Any]:
    return {"id": ident, "name": ident, "geometry": geometry}


SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}


def test_measures_are_stored_next_to_the_geometry(geo_store: Store) -> None:
    line = {"type": "LineString", "coordinates": [[0, 0], [1, 0]]}
    geo_store.ingest("places", [_doc("sq", SQUARE), _doc("ln", line)])
    path, square = (
        r.columns for r in geo_store.records("place", where=["name in sq,ln"], sort="name")
    )
    assert (path["shape_minx"], path["shape_maxx"], path["shape_miny"]) == (0, 1, 0)
    # one degree of longitude on the equator, on the mean-radius sphere
    assert path["shape_length_m"] == pytest.approx(111_195.08, rel=1e-6)
    assert path["shape_area_m2"] is None
    assert (
        square["shape_minx"],
        square["shape_miny"],
        square["shape_maxx"],
        square["shape_maxy"],
    ) == (0, 0, 1, 1)
    assert 0 < square["shape_x"] < 1 and 0 < square["shape_y"] < 1
    # 1 deg x 1 deg at the equator: 111.195 km x 111.189 km (the sphere, spherical excess)
    assert square["shape_area_m2"] == pytest.approx(1.2363e10, rel=1e-3)
    assert square["shape_length_m"] is None


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "unclosed ring",
        ),
        ({"type": "Point", "coordinates": [1, "x"]}, "not a finite number"),
    ],
)
def test_invalid_geometries_are_quarantined_with_the_reason(
    geo_store: Store, geometry: dict[str, Any], reason: str
) -> None:
    summary = geo_store.ingest("places", [_doc("bad", geometry), _doc("ok", SQUARE)])
    assert (summary.records_created, summary.quarantined) == (1, 1)
    [entry] = geo_store.quarantine("places")
    assert "column 'shape'" in entry.reason and reason in entry.reason


def test_nan_coordinates_are_refused() -> None:
    from ingestry.extract.coerce import CoercionError
    from ingestry.extract.geometry import measures

    with pytest.raises(CoercionError, match="not a finite number"):
        measures({"type": "Point", "coordinates": [math.nan, 1.0]})


def test_bbox_filter_is_exact_and_counts_agree(geo_store: Store) -> None:
    diagonal = {"type": "LineString", "coordinates": [[10, 10], [20, 20]]}
    point = {"type": "Point", "coordinates": [15, 11]}
    geo_store.ingest("places", [_doc("diag", diagonal), _doc("pt", point), _doc("sq", SQUARE)])
    # the box overlaps the line's bbox but not the line itself
    found = [r.source.id for r in geo_store.records("place", bbox="14,10,20,12")]
    assert found == ["pt"]
    assert geo_store.count("place", bbox="14,10,20,12") == 1
    # an edge touching counts
    assert [r.source.id for r in geo_store.records("place", bbox="1,1,2,2")] == ["sq"]
    assert [r.source.id for r in geo_store.records("place", bbox="0,0,20,20", limit=2)] == [
        "diag",
        "pt",
    ]


@pytest.mark.parametrize(
    ("bbox", "column", "message"),
    [
        ("1,2,3", None, "MINX,MINY,MAXX,MAXY"),
        ("3,0,1,1", None, "inverted"),
        ("0,0,1,1", "name", "not a geometry column"),
        ("0,0,1,1", "nope", "not a declared column"),
    ],
)
def test_bad_boxes_are_refused(
    geo_store: Store, bbox: str, column: str | None, message: str
) -> None:
    with pytest.raises(QueryError, match=message):
        list(geo_store.records("place", bbox=bbox, geometry_column=column))


def _random_shape(rng: random.Random) -> dict[str, Any]:
    def pos() -> list[float]:
        return [round(rng.uniform(-50, 50), 3), round(rng.uniform(-50, 50), 3)]

    kind = rng.choice(["Point", "LineString", "Polygon"])
    if kind == "Point":
        return {"type": "Point", "coordinates": pos()}
    if kind == "LineString":
        return {"type": "LineString", "coordinates": [pos() for _ in range(rng.randint(2, 4))]}
    x, y = pos()
    w, h = rng.uniform(0.1, 8), rng.uniform(0.1, 8)
    ring = [[x, y], [x + w, y], [x + w / 2, y + h], [x, y]]  # a triangle: always valid
    return {"type": "Polygon", "coordinates": [[[round(a, 3), round(b, 3)] for a, b in ring]]}


def _envelope(minx: float, miny: float, maxx: float, maxy: float) -> Any:
    """The box as a geometry; a box without width or height is a line or a point."""
    if (minx, miny) == (maxx, maxy):
        return shapely.Point(minx, miny)
    if minx == maxx or miny == maxy:
        return shapely.LineString([(minx, miny), (maxx, maxy)])
    return shapely.box(minx, miny, maxx, maxy)


SHAPES = 3000
_boxes = st.tuples(st.floats(-60, 60), st.floats(-60, 60), st.floats(0, 40), st.floats(0, 40)).map(
    lambda t: (t[0], t[1], t[0] + t[2], t[1] + t[3])
)


class Shapes(dict[str, Any]):
    """The shapes stored, by id (a short repr for hypothesis' reports)."""

    def __repr__(self) -> str:
        return f"<{len(self)} shapes>"


@pytest.fixture
def shapes(geo_store: Store) -> Shapes:
    rng = random.Random(21)
    docs = {f"s{i:05d}": _random_shape(rng) for i in range(SHAPES)}
    summary = geo_store.ingest("places", [_doc(k, g) for k, g in docs.items()])
    assert summary.records_created == SHAPES
    return Shapes({k: shapely.geometry.shape(g) for k, g in docs.items()})


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(box=_boxes)
@example(box=(50.0, 0.0, 50.0, 6.041779071447547e-279))  # GEOS 3.11 missed s00411
def test_bbox_query_matches_shapely_on_random_shapes(
    geo_store: Store, shapes: Shapes, box: tuple[float, float, float, float]
) -> None:
    """No false positives, no misses, on every backend."""
    expected = {k for k, s in shapes.items() if shapely.intersects(s, _envelope(*box))}
    text = ",".join(repr(v) for v in box)
    found = {r.source.id for r in geo_store.records("place", bbox=text)}
    assert found - expected == set(), "false positives"
    assert expected - found == set(), "misses"
    assert geo_store.count("place", bbox=text) == len(expected)


def test_parquet_export_is_geoparquet(geo_store: Store, tmp_path: Path) -> None:
    import json

    import pyarrow.parquet as pq

    line = {"type": "LineString", "coordinates": [[0, 0], [1, 0.5]]}
    geo_store.ingest("places", [_doc("sq", SQUARE), _doc("ln", line)])
    summary = geo_store.export("places", format="parquet", out=tmp_path / "out")
    [path] = summary.files
    table = pq.read_table(path)
    geo = json.loads(table.schema.metadata[b"geo"])
    assert geo["primary_column"] == "shape"
    assert geo["columns"]["shape"]["encoding"] == "WKB"
    assert geo["columns"]["shape"]["crs"]["id"] == {"authority": "OGC", "code": "CRS84"}
    rows = {r["source_id"]: r for r in _rows(table)}
    assert shapely.from_wkb(rows["ln"]["shape"]).equals(shapely.geometry.shape(line))
    assert shapely.from_wkb(rows["sq"]["shape"]).equals(shapely.geometry.shape(SQUARE))
    assert rows["sq"]["shape_maxx"] == 1.0


def _rows(table: Any) -> list[dict[str, Any]]:
    out = []
    for row in table.to_pylist():
        row["source_id"] = json.loads(row["source"])["id"]
        out.append(row)
    return out


@pytest.mark.postgres
def test_a_fresh_database_with_postgis_already_created_is_set_up(tmp_path: Path) -> None:
    """A DBA runs CREATE EXTENSION postgis first (its spatial_ref_sys table lands in the
    schema): the store still counts as empty and is created, then uses PostGIS."""
    from urllib.parse import urlsplit, urlunsplit

    from ingestry.adapters.postgres.query import POSTGIS

    server = _server()
    name = f"t_geo_{random.getrandbits(40):010x}"
    with psycopg.connect(libpq_url(server), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = urlunsplit(urlsplit(server)._replace(path=f"/{name}"))
        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION postgis")
        config = tmp_path / "ingestry.yaml"
        config.write_text(CONFIG.format(url=url), encoding="utf-8")
        with ingestry.open(config) as store:
            store.ingest("places", [_doc("sq", SQUARE)])
            assert [r.source.id for r in store.records("place", bbox="0.5,0.5,3,3")] == ["sq"]
            assert store.storage.query_dialect is POSTGIS  # type: ignore[attr-defined]
    finally:
        with psycopg.connect(libpq_url(server), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_integer_point_coordinates_are_stored_as_floats(geo_store: Store) -> None:
    geo_store.ingest("places", [_doc("p", {"type": "Point", "coordinates": [3, 4]})])
    [record] = geo_store.records("place")
    values = [record.columns[f"shape_{m}"] for m in ("minx", "miny", "maxx", "maxy", "x", "y")]
    assert values == [3.0, 4.0, 3.0, 4.0, 3.0, 4.0]
    assert all(type(v) is float for v in values)


def test_geometries_stored_before_the_measures_existed_are_measured(geo_store: Store) -> None:
    """A store upgraded in place: rows whose measure columns are empty (simulated: the
    measures cleared and forgotten by the catalog) are measured when the record table
    is next evolved, so `--bbox` finds them without a replay."""
    import sqlalchemy as sa

    geo_store.ingest(
        "places", [_doc("sq", SQUARE), _doc("p", {"type": "Point", "coordinates": [5, 5]})]
    )
    cleared = ", ".join(
        f"shape_{m} = NULL"
        for m in ("minx", "miny", "maxx", "maxy", "x", "y", "length_m", "area_m2")
    )
    with geo_store.storage.engine.begin() as conn:  # type: ignore[attr-defined]
        conn.execute(sa.text(f"UPDATE records_place SET {cleared}"))
        conn.execute(
            sa.text("DELETE FROM convention_columns WHERE name LIKE 'shape\\_%' ESCAPE '\\'")
        )
    [old] = geo_store.records("place", where=["name=p"])
    assert old.columns["shape_minx"] is None  # what an old store looked like
    config = geo_store.settings.path
    geo_store.close()
    with ingestry.open(config) as reopened:
        assert [r.source.id for r in reopened.records("place", bbox="4,4,6,6")] == ["p"]
        assert [r.source.id for r in reopened.records("place", bbox="0.5,0.5,0.6,0.6")] == ["sq"]
        [square] = reopened.records("place", where=["name=sq"])
        assert square.columns["shape_area_m2"] == pytest.approx(1.2363e10, rel=1e-3)
