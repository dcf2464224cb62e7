"""`sources migrate --to raw` never changes a record's identity (issue 13 item 2): the
synthesized payload extracts to the same id text, so migrate + replay keeps the count,
the srns and the content, on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ingestry
from ingestry.store import Store
from tests.backends import Database

CONFIG = """\
database: {database}
conventions:
  station:
    columns:
      station_id: {{path: id, type: float}}
      code:       {{path: code, type: integer}}
      elevation:  {{path: elevation, type: decimal}}
      temp:       {{path: temp, type: float}}
      name:       {{path: name, type: text}}
sources:
  stations:
    strategy: simple
    convention: station
    rationale: Public station list, re-fetchable
    format: csv
    id: id
  stations_json:
    strategy: simple
    convention: station
    rationale: Public station list, re-fetchable
    format: jsonl
    id: id
"""


def write_project(root: Path, db: Database) -> Path:
    url = db.url if db.kind == "postgres" else "sqlite:///data/ingestry.db"
    path = root / "ingestry.yaml"
    path.write_text(CONFIG.format(database=url), encoding="utf-8")
    return path


def csv_rows(n: int) -> bytes:
    """Ids that a float column spells otherwise (`35` → 35.0, `007` → 7.0, `1e2` →
    100.0), ints, decimals with trailing zeros, floats."""
    ids = ["35", "007", "1e2", "2.50", "-0"] + [str(i) for i in range(1000, 1000 + n - 5)]
    lines = [b"id,code,elevation,temp,name"]
    for k, ident in enumerate(ids):
        lines.append(f"{ident},{k},{k}.{k % 7}0,{k / 8},St {k}".encode())
    return b"\n".join(lines) + b"\n"


def json_lines(n: int) -> bytes:
    docs = [b'{"id": 35, "code": 1, "elevation": 12.500, "temp": 1.0, "x": 1e2}']
    docs += [
        f'{{"id": {i}.0, "code": {i}, "elevation": "{i}.10", "temp": {i / 3}}}'.encode()
        for i in range(1, n)
    ]
    return b"\n".join(docs) + b"\n"


def snapshot(store: Store) -> list[tuple[Any, ...]]:
    return sorted(
        (r.srn, r.source.id, r.version, tuple(sorted(r.columns.items())), str(r.metadata))
        for r in store.records("station")
    )


def test_migrate_to_raw_then_replay_keeps_every_record(tmp_path: Path, db: Database) -> None:
    """Failed on main: `35` became the id `35.0` (a float column put back as 35.0), so
    the replay created new records beside the old ones."""
    config = write_project(tmp_path, db)
    (tmp_path / "s.csv").write_bytes(csv_rows(320))
    (tmp_path / "s.jsonl").write_bytes(json_lines(40))
    with ingestry.open(config) as store:
        assert store.ingest_files("stations", [str(tmp_path / "s.csv")]).records_created == 320
        assert store.ingest_files("stations_json", [str(tmp_path / "s.jsonl")]).quarantined == 0
        before = snapshot(store)
        assert len(before) == 360
        for source in ("stations", "stations_json"):
            summary = store.migrate_source(source, "raw")
            assert summary.failed == 0
        assert {r[1] for r in before} == {
            p for (p,) in db.rows("SELECT source_id FROM raw_payloads")
        }
    with ingestry.open(config) as store:
        for source in ("stations", "stations_json"):
            replay = store.replay(source)
            assert (replay.records_created, replay.records_updated) == (0, 0), replay
        assert snapshot(store) == before
