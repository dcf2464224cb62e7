"""`records list --bbox [--geometry-column]` from the real CLI, and `GET /v1/records?bbox=`."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.apiclient import api_client, auth, create_key
from tests.e2e.cli import run
from tests.integration.test_geo import CONFIG

PLACES = [
    {"id": "pt", "name": "pt", "geometry": {"type": "Point", "coordinates": [15, 11]}},
    {"id": "diag", "name": "diag",
     "geometry": {"type": "LineString", "coordinates": [[10, 10], [20, 20]]}},
    {"id": "bad", "name": "bad",
     "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}},
]  # fmt: skip


def _project(root: Path) -> Path:
    (root / "ingestry.yaml").write_text(
        CONFIG.format(url="sqlite:///data/ingestry.db"), encoding="utf-8"
    )
    (root / "places.jsonl").write_bytes(b"".join(orjson.dumps(p) + b"\n" for p in PLACES))
    ingested = run("ingest", "places", "places.jsonl", "--json", cwd=root)
    assert ingested.returncode == 0, ingested.stderr
    assert orjson.loads(ingested.stdout)["quarantined"] == 1
    return root


def test_bbox_lists_counts_and_refuses_bad_boxes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    args = ["records", "list", "--convention", "place", "--bbox", "14,10,20,12"]
    listed = run(*args, "--geometry-column", "shape", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    [record] = [orjson.loads(line) for line in listed.stdout.splitlines()]
    assert record["source"]["id"] == "pt"
    assert record["columns"]["shape_minx"] == 15.0 and record["columns"]["shape_x"] == 15.0
    assert orjson.loads(run(*args, "--count", cwd=project).stdout) == {"count": 1}
    bad = run("records", "list", "--convention", "place", "--bbox", "1,2", cwd=project)
    assert bad.returncode == 2 and b"MINX,MINY,MAXX,MAXY" in bad.stderr
    quarantined = run("quarantine", "list", "places", cwd=project)
    assert b"Self-intersection" in quarantined.stdout


def test_api_bbox_filter(tmp_path: Path) -> None:
    project = _project(tmp_path)
    config = project / "ingestry.yaml"
    key = create_key(config, "ops", [], admin=True)
    with api_client(config) as client:
        params = {"convention": "place", "bbox": "14,10,20,12"}
        page = client.get("/v1/records", params=params, headers=auth(key))
        assert page.status_code == 200, page.text
        assert [r["source"]["id"] for r in page.json()["items"]] == ["pt"]
        count = client.get("/v1/records/count", params=params, headers=auth(key)).json()
        assert count == {"count": 1}
        wrong = client.get("/v1/records", params=params | {"bbox": "3,0,1,1"}, headers=auth(key))
        assert wrong.status_code == 400 and "inverted" in wrong.text
