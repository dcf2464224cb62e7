"""Geometry: a `--bbox` query over N points (default 1,000,000) against full scans, in
one run (issue 21 item 1).

N random points (uniform on the whole globe, a fixed seed) go into a fresh store per
backend: SQLite (R*Tree), PostgreSQL without PostGIS (B-tree on the derived bbox
columns) and PostgreSQL with PostGIS (GiST on the geometry). Ingest is timed once (it
includes validating and measuring every geometry with shapely). Then, each the fastest
of R rounds, for a small box (1 deg x 1 deg, ~15 points) and a large one (20 x 20 deg,
~6,000 points):

  ingestry        `Store.records(bbox=…)`: index, exact test, Record objects
  count           `Store.count(bbox=…)`
  bare-scan       the bare driver reads every geometry, shapely parses them all at once
                  (`from_geojson`, vectorized) and tests each against the box: the
                  query without an index, the full scan (timed once)
  bare-columns    the bare driver, one full scan of the derived bbox columns (no index
                  used: SQLite `NOT INDEXED` on the table, PostgreSQL with index and
                  bitmap scans off); boxes only, not exact
  duckdb          the peer: DuckDB over an Arrow table of the points' x, y in memory
                  (a columnar full scan; loading it is not timed)

    python bench/geo_bench.py [--n 1000000] [--repeat 3] [--backend sqlite|postgres|postgis|all]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

import pgdb
from measure import busy_seconds, fastest

CONFIG = """\
database: {url}
conventions:
  place:
    columns:
      shape: {{path: geometry, type: geometry}}
sources:
  places:
    strategy: simple
    convention: place
    rationale: geo bench
    format: jsonl
    id: id
"""
BOXES = {"small": (10.0, 40.0, 11.0, 41.0), "large": (-10.0, 30.0, 10.0, 50.0)}


def write_points(path: Path, n: int) -> list[tuple[float, float]]:
    rng = random.Random(21)
    points = [(round(rng.uniform(-180, 180), 6), round(rng.uniform(-90, 90), 6)) for _ in range(n)]
    with path.open("wb") as out:
        for i, (x, y) in enumerate(points):
            doc = {"id": i, "geometry": {"type": "Point", "coordinates": [x, y]}}
            out.write(orjson.dumps(doc) + b"\n")
    return points


def bare(backend: str, url: str) -> tuple[Callable[[str, tuple[Any, ...]], list[Any]], str]:
    """A query function over the bare driver, and its parameter mark."""
    if backend == "sqlite":
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        return (lambda sql, params: conn.execute(sql, params).fetchall()), "?"
    import psycopg

    from ingestry.adapters.postgres.url import libpq_url

    pg = psycopg.connect(libpq_url(url), autocommit=True)
    pg.execute("SET enable_indexscan = off")
    pg.execute("SET enable_bitmapscan = off")
    return (lambda sql, params: pg.execute(sql, params).fetchall()), "%s"


def measure(backend: str, url: str, data: Path, points: list[Any], repeat: int) -> dict[str, Any]:
    import duckdb
    import pyarrow as pa

    import ingestry

    config = data.parent / f"ingestry-{backend}.yaml"
    config.write_text(CONFIG.format(url=url), encoding="utf-8")
    out: dict[str, Any] = {"backend": backend}
    with ingestry.open(config) as store:
        started = time.perf_counter()
        summary = store.ingest_files("places", [data])
        out["ingest_s"] = round(time.perf_counter() - started, 1)
        out["records"] = summary.records_created
        if backend != "sqlite":
            from ingestry.adapters.postgres.query import POSTGIS

            detected = store.storage.query_dialect is POSTGIS  # type: ignore[attr-defined]
            assert detected == (backend == "postgis"), "PostGIS detection is wrong"
        query, mark = bare(backend, url)
        arrow = pa.table({"x": [p[0] for p in points], "y": [p[1] for p in points]})
        duck = duckdb.connect()
        duck.register("pts", arrow)
        shape = "shape" if backend == "sqlite" else "shape::text"
        for label, box in BOXES.items():
            text = ",".join(str(v) for v in box)
            found = len(list(store.records("place", bbox=text)))
            scan, columns, peer = _bare_queries(query, mark, shape, backend, duck, box)
            started = time.perf_counter()
            scanned = scan()  # the full scan is timed once: it is the slow side
            scan_ms = (time.perf_counter() - started) * 1000
            assert scanned == found == columns() == peer(), (label, found)
            out[label] = {
                "found": found,
                "bare_scan_ms": scan_ms,
                "ingestry_ms": fastest(lambda t=text: list(store.records("place", bbox=t)), repeat)
                * 1000,
                "count_ms": fastest(lambda t=text: store.count("place", bbox=t), repeat) * 1000,
                "bare_columns_ms": fastest(columns, repeat) * 1000,
                "duckdb_ms": fastest(peer, repeat) * 1000,
            }
    return out


def _bare_queries(
    query: Callable[[str, tuple[Any, ...]], list[Any]],
    mark: str,
    shape: str,
    backend: str,
    duck: Any,
    box: tuple[float, float, float, float],
) -> tuple[Callable[[], int], Callable[[], int], Callable[[], int]]:
    """The full scans one box is compared with: geometries + shapely, the bbox columns
    without an index, DuckDB over x, y."""
    import shapely

    minx, miny, maxx, maxy = box
    envelope = shapely.box(*box)
    table = '"records_place"' + (" NOT INDEXED" if backend == "sqlite" else "")

    def scan() -> int:
        rows = query(f"SELECT id, {shape} FROM {table}", ())
        shapes = shapely.from_geojson([r[1] for r in rows])  # vectorized: GEOS's reader
        return int(shapely.intersects(shapes, envelope).sum())

    def columns() -> int:
        sql = (
            f"SELECT count(*) FROM {table} WHERE shape_minx <= {mark}"
            f" AND shape_maxx >= {mark} AND shape_miny <= {mark} AND shape_maxy >= {mark}"
        )
        return int(query(sql, (maxx, minx, maxy, miny))[0][0])

    def peer() -> int:
        sql = "SELECT count(*) FROM pts WHERE x BETWEEN ? AND ? AND y BETWEEN ? AND ?"
        row = duck.execute(sql, [minx, maxx, miny, maxy]).fetchone()
        return int(row[0]) if row else 0

    return scan, columns, peer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--backend", default="all", choices=["sqlite", "postgres", "postgis", "all"]
    )
    args = parser.parse_args()
    backends = ["sqlite", "postgis", "postgres"] if args.backend == "all" else [args.backend]
    load = os.getloadavg()
    busy_before = busy_seconds()
    with tempfile.TemporaryDirectory(prefix="ingestry-geo-bench-") as tmp:
        data = Path(tmp) / "points.jsonl"
        points = write_points(data, args.n)
        databases = pgdb.Databases(pgdb.admin_url(), 0)
        try:
            for backend in backends:
                if backend == "sqlite":
                    url = f"sqlite:///{Path(tmp) / 'geo.db'}"
                else:
                    url = databases.url(backend)
                    if backend == "postgis":
                        import psycopg

                        from ingestry.adapters.postgres.url import libpq_url

                        with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
                print(
                    orjson.dumps(measure(backend, url, data, points, args.repeat)).decode(),
                    flush=True,
                )
        finally:
            databases.close()
    print(
        orjson.dumps(
            {"n": args.n, "best_of": args.repeat, "loadavg_start": load,
             "loadavg_end": os.getloadavg(), "busy_cpu_s": round(busy_seconds() - busy_before, 1)}
        ).decode()
    )  # fmt: skip


if __name__ == "__main__":
    main()
